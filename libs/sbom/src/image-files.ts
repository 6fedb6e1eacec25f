/**
 * The files of an image as an OCI layout in dist/ holds them: its layers applied bottom-up
 * (whiteouts remove lower paths), each regular file with its sha256 and size. The image's own
 * dpkg database, when it has one (the Debian base), is kept on the way.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { extract as tarExtract, type Headers } from 'tar-stream';
import { OciLayout, openLayerStream } from '@hook/oci';
import { DPKG_INFO_DIR, DPKG_STATUS_PATH, dpkgDatabase, type DpkgDatabase } from './dpkg';

export interface ImageFile {
  /** Without leading '/'. */
  path: string;
  sha256: string;
  size: number;
}

export interface ImageContents {
  /** Regular files, sorted by path. */
  files: ImageFile[];
  /** The dpkg database inside the image, if it has one. */
  dpkg?: DpkgDatabase;
}

const clean = (name: string) => name.replace(/^\.?\/+/, '').replace(/^\.\//, '').replace(/\/+$/, '');
const isDpkgFile = (path: string) => path === DPKG_STATUS_PATH || (path.startsWith(`${DPKG_INFO_DIR}/`) && path.endsWith('.list'));

/** Reads the image `ref` of the layout in `dir`. */
export async function readImageContents(dir: string, ref: string): Promise<ImageContents> {
  const layout = await OciLayout.open(dir);
  const image = await layout.resolveImage(ref);
  const files = new Map<string, ImageFile>();
  const dpkgFiles = new Map<string, string>();
  for (const layer of image.layers) {
    const extract = tarExtract();
    const feeding = pipeline(openLayerStream(layout, layer), extract);
    for await (const entry of extract as AsyncIterable<Readable & { header: Headers }>) {
      const path = clean(entry.header.name);
      const base = path.replace(/^.*\//, '');
      if (base.startsWith('.wh.')) {
        // A whiteout hides the path (or, opaque, a directory's contents) of the layers below.
        const dir = path.slice(0, path.length - base.length);
        const hidden = base === '.wh..wh..opq' ? dir : `${dir}${base.slice(4)}`;
        for (const key of [...files.keys()]) if (key === hidden || key.startsWith(hidden.endsWith('/') ? hidden : `${hidden}/`)) files.delete(key);
        for (const key of [...dpkgFiles.keys()]) if (key === hidden || key.startsWith(`${hidden}/`)) dpkgFiles.delete(key);
        entry.resume();
      } else if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        const hash = createHash('sha256');
        const keep: Buffer[] | undefined = isDpkgFile(path) ? [] : undefined;
        let size = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
          keep?.push(chunk);
        }
        files.set(path, { path, sha256: hash.digest('hex'), size });
        if (keep) dpkgFiles.set(path, Buffer.concat(keep).toString('utf8'));
      } else if (entry.header.type === 'link' && files.has(clean(entry.header.linkname ?? ''))) {
        files.set(path, { ...files.get(clean(entry.header.linkname ?? ''))!, path });
        entry.resume();
      } else {
        // Anything else (directory, link, device) replaces a file of a lower layer at that path.
        files.delete(path);
        entry.resume();
      }
      await finished(entry).catch(() => undefined);
    }
    await feeding;
  }
  const status = dpkgFiles.get(DPKG_STATUS_PATH);
  dpkgFiles.delete(DPKG_STATUS_PATH);
  return {
    files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    dpkg: status === undefined ? undefined : dpkgDatabase(status, dpkgFiles),
  };
}
