import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex sha256 and the size of a file, streamed (the one file-hashing helper). */
export async function sha256OfFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Hex sha256 of strings or bytes, hashed one after the other. */
export function sha256Hex(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

export function digestOf(data: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function splitDigest(digest: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  if (!isDigest(digest)) throw new Error(`not a valid digest: ${JSON.stringify(digest)}`);
  const [algorithm, hex] = digest.split(':') as ['sha256' | 'sha512', string];
  return { algorithm, hex };
}

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    where: string,
  ) {
    super(`digest mismatch for ${where}: expected ${expected}, got ${actual} (the data is corrupt or was changed)`);
    this.name = 'DigestMismatchError';
  }
}

/**
 * Passes bytes through while hashing them; at the end fails the stream when the digest or the
 * size differ from the expected ones, so a consumer never sees a clean end on corrupt data.
 */
export class VerifyingStream extends Transform {
  private readonly hash;
  private readonly algorithm: 'sha256' | 'sha512';
  bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly where: string,
    private readonly expectedSize?: number,
  ) {
    super();
    this.algorithm = splitDigest(expected).algorithm;
    this.hash = createHash(this.algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      callback(new DigestMismatchError(this.expected, `more than ${this.expectedSize} bytes`, this.where));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.expected) {
      callback(new DigestMismatchError(this.expected, actual, this.where));
      return;
    }
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      callback(new DigestMismatchError(this.expected, `${this.bytes} bytes instead of ${this.expectedSize}`, this.where));
      return;
    }
    callback();
  }
}
