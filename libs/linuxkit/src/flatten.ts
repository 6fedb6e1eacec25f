/**
 * An image's layers flattened into one filesystem, the way LinuxKit's cache path does it
 * (go-containerregistry `mutate.Extract`): layers are read top-down, the first occurrence of a
 * path wins, `.wh.<name>` hides <name> (and everything below it) in lower layers, and a
 * non-directory hides everything below its path in lower layers.
 *
 * Difference, on purpose: opaque directories (`<dir>/.wh..wh..opq`) hide the lower layers'
 * contents of <dir>, as the OCI image spec says. go-containerregistry ignores them, so LinuxKit
 * keeps files that the image had deleted.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { extract as tarExtract, type Headers } from 'tar-stream';
import { log } from '@hook/log';
import type { EntryType, FsEntry } from '@hook/initramfs';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** `./etc//hosts/` -> `etc/hosts`; the root itself -> ''. Like Go's filepath.Clean, no leading '/'. */
export function cleanPath(name: string): string {
  const normal = posix.normalize(`/${name}`); // a leading '/' keeps '..' from climbing out
  return normal.replace(/^\/+/, '').replace(/\/+$/, '');
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  let current = posix.dirname(path);
  while (current !== '.' && current !== '/' && current !== '') {
    out.push(current);
    current = posix.dirname(current);
  }
  return out;
}

const TYPES: Partial<Record<NonNullable<Headers['type']>, EntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/** Converts a tar header (already cleaned path) into an entry; `content` reads the tar stream. */
export function entryFromHeader(header: Headers, path: string, stream: Readable | undefined): FsEntry | undefined {
  const type = TYPES[header.type ?? 'file'];
  if (!type) return undefined;
  const entry: FsEntry = {
    path,
    type,
    mode: (header.mode ?? 0) & 0o7777,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
  };
  if (type === 'symlink') entry.linkTarget = header.linkname ?? '';
  if (type === 'hardlink') entry.linkTarget = cleanPath(header.linkname ?? '');
  if (type === 'char' || type === 'block') {
    entry.devMajor = header.devmajor ?? 0;
    entry.devMinor = header.devminor ?? 0;
  }
  if (type === 'file') {
    entry.size = header.size ?? 0;
    if (stream) entry.content = () => stream;
  }
  return entry;
}

/**
 * Reads one tar stream entry by entry. Each yielded entry's content is readable until the next
 * entry is requested; whatever the consumer left unread is drained.
 */
export async function* readTar(source: Readable, label: string): AsyncGenerator<{ header: Headers; path: string; stream: Readable }> {
  const extract = tarExtract();
  const feeding = pipeline(source, extract).catch((error: Error) => {
    extract.destroy(new Error(`${label}: ${error.message}`));
  });
  try {
    for await (const stream of extract as AsyncIterable<Readable & { header: Headers }>) {
      yield { header: stream.header, path: cleanPath(stream.header.name), stream };
      if (!stream.readableEnded) stream.resume();
      await finished(stream).catch(() => undefined);
    }
  } finally {
    await feeding;
  }
}

/**
 * The flattened filesystem of an image as entries, top layer first (LinuxKit's order). Paths are
 * cleaned; the root directory itself is not emitted.
 */
export async function* flattenLayers(layers: Array<() => Readable>, label: string): AsyncGenerator<FsEntry> {
  // path -> true when it hides everything below it in lower layers (gcr's fileMap).
  const seen = new Map<string, boolean>();
  const opaqueDirs = new Set<string>();
  const hidden = (name: string) => ancestors(name).some((dir) => seen.get(dir) === true || opaqueDirs.has(dir));
  for (let index = layers.length - 1; index >= 0; index--) {
    const opaqueHere: string[] = [];
    for await (const { header, path, stream } of readTar(layers[index]!(), `${label} layer ${index}`)) {
      if (path === '') continue;
      const base = posix.basename(path);
      if (base === OPAQUE) {
        opaqueHere.push(posix.dirname(path) === '.' ? '' : posix.dirname(path));
        continue;
      }
      const tombstone = base.startsWith(WHITEOUT);
      const name = tombstone ? posix.join(posix.dirname(path), base.slice(WHITEOUT.length)) : path;
      if (seen.has(name) || hidden(name)) continue;
      seen.set(name, tombstone || header.type !== 'directory');
      if (tombstone) continue;
      const entry = entryFromHeader(header, path, stream);
      if (!entry) {
        log.debug(`${label}: skipping ${path}, tar type ${header.type} is not a filesystem entry`);
        continue;
      }
      yield entry;
    }
    // An opaque marker hides the lower layers only, not its own layer's entries.
    for (const dir of opaqueHere) {
      if (dir === '') {
        // The whole lower filesystem is hidden.
        return;
      }
      opaqueDirs.add(dir);
    }
  }
}
