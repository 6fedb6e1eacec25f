/**
 * JSON exactly as Go's `json.MarshalIndent(v, "", "    ")` writes it: 4-space indent, `<`, `>`
 * and `&` (and U+2028/U+2029) escaped as \u003c..., control characters as Go escapes them, no
 * trailing newline. Keys keep insertion order (build objects in Go struct field order); an
 * `undefined` value is left out (omitempty is decided by the caller); bigint is written exactly
 * (rlimits use uint64).
 */
export function goMarshalIndent(value: unknown): string {
  return encode(value, '');
}

function encode(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot encode ${value} as JSON`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return goString(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + encode(item, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${goString(k)}: ${encode(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  throw new Error(`cannot encode a ${typeof value} as JSON`);
}

const HEX = '0123456789abcdef';

export function goString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
        continue;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate is invalid UTF-8 for Go
      continue;
    }
    switch (code) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
    }
    if (code < 0x20 || code === 0x3c || code === 0x3e || code === 0x26 || code === 0x2028 || code === 0x2029) {
      out += `\\u${HEX[(code >> 12) & 15]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;
      continue;
    }
    out += text[i];
  }
  return `${out}"`;
}
