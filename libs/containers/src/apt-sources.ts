/**
 * The Debian mirror configured on the host (design decision 8: no mirror host in the code). Read
 * from /etc/apt/sources.list, sources.list.d/*.list (one-line format) and *.sources (deb822);
 * HOOK_DEBIAN_MIRROR overrides it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { setting } from '@hook/settings';

export interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
  file: string;
}

/** Suites of the Debian archive proper (not security, not third-party repositories). */
const DEBIAN_SUITE = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldstable|stable|testing|unstable)(-updates|-backports)?$/;

export function parseOneLineSources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ')) continue;
    // Options in brackets come before the URI: `deb [arch=amd64 signed-by=...] URI suite comps`.
    const words = line.slice(4).replace(/\[[^\]]*\]/, ' ').trim().split(/\s+/);
    const [uri, suite, ...components] = words;
    if (uri && suite) sources.push({ uris: [uri], suites: [suite], components, file });
  }
  return sources;
}

export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match) {
        last = match[1]!.toLowerCase();
        fields.set(last, match[2]!.trim());
      }
    }
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb') || fields.get('enabled')?.toLowerCase() === 'no') continue;
    sources.push({ uris: words('uris'), suites: words('suites'), components: words('components'), file });
  }
  return sources;
}

export async function readAptSources(etcApt = '/etc/apt'): Promise<AptSource[]> {
  const sources: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  const text = await readFile(main, 'utf8').catch(() => undefined);
  if (text !== undefined) sources.push(...parseOneLineSources(text, main));
  const dir = join(etcApt, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.list')) sources.push(...parseOneLineSources(await readFile(path, 'utf8'), path));
    else if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(await readFile(path, 'utf8'), path));
  }
  return sources;
}

/** The URI of the host's Debian archive mirror (the first source that serves a Debian suite). */
export async function hostDebianMirror(env: NodeJS.ProcessEnv = process.env, etcApt = '/etc/apt'): Promise<string> {
  const configured = setting(env, 'HOOK_DEBIAN_MIRROR');
  if (configured) return configured.replace(/\/+$/, '');
  const sources = await readAptSources(etcApt);
  const debian = sources.find((s) => s.suites.some((suite) => DEBIAN_SUITE.test(suite)) && s.components.includes('main') && s.uris.length > 0);
  if (!debian) {
    throw new UserError(`no Debian mirror found in ${etcApt}/sources.list or ${etcApt}/sources.list.d: add one, or set HOOK_DEBIAN_MIRROR=<mirror URL of the Debian archive>`);
  }
  return debian.uris[0]!.replace(/\/+$/, '');
}
