/**
 * The sha256 of an entry, computed while its upload is written and checked before every download.
 * The digest file sits beside the entry (`<hash>.sha256`) in sha256sum's format, so
 * `sha256sum -c <hash>.sha256` in the store folder checks an entry by hand.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

export const DIGEST_SUFFIX = '.sha256';

export function newSha256(): Hash {
  return createHash('sha256');
}

/** The digest file's content for an entry. */
export function digestLine(hex: string, hash: string): string {
  return `${hex}  ${hash}\n`;
}

/** The hex digest in a digest file, or undefined when the file does not hold one. */
export function parseDigestLine(text: string): string | undefined {
  return /^([0-9a-f]{64})\b/.exec(text)?.[1];
}

/** Reads the whole file through the hash in 1 MiB chunks; the handle stays open. */
export async function sha256OfFile(file: FileHandle): Promise<string> {
  const hash = newSha256();
  for await (const chunk of file.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
