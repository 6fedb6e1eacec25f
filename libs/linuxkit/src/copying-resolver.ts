/**
 * What the resolvers that copy an image into a temp OCI layout share (the Docker engine and the
 * registry resolvers): one temp layout, made on first use and removed by close(), and one copy
 * per ref and platform however often the image is asked for.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayout, formatPlatform, type Platform } from '@hook/oci';
import { makeTempDir, removeOnInterrupt } from '@hook/process';
import type { ImageResolver, ImageSource } from './resolver';

export abstract class CopyingResolver implements ImageResolver {
  abstract readonly description: string;
  private layout?: Promise<OciLayout>;
  private readonly copies = new Map<string, Promise<ImageSource | undefined>>();
  private closed = false;

  /** `tempDir`: parent of the temp layout (default the OS temp dir); `tempPrefix`: its name's start. */
  protected constructor(
    private readonly tempDir: string | undefined,
    private readonly tempPrefix: string,
  ) {}

  /** The temp layout's directory, once one was made. */
  async tempLayoutDir(): Promise<string | undefined> {
    return this.layout ? (await this.layout).dir : undefined;
  }

  resolve(ref: string, platform: Platform): Promise<ImageSource | undefined> {
    if (this.closed) return Promise.reject(new Error(`${this.constructor.name} used after close()`));
    const key = `${ref} ${formatPlatform(platform)}`;
    let found = this.copies.get(key);
    if (!found) {
      found = this.copy(ref, platform);
      this.copies.set(key, found);
    }
    return found;
  }

  /** Copies the image into `tempLayout()` and serves it from there, or `undefined` when this source does not have it. */
  protected abstract copy(ref: string, platform: Platform): Promise<ImageSource | undefined>;

  protected tempLayout(): Promise<OciLayout> {
    // In Hook's temp folder unless told otherwise; removed if the build is interrupted.
    const dir = this.tempDir
      ? mkdtemp(join(this.tempDir, `${this.tempPrefix}${process.pid}-`)).then((made) => (removeOnInterrupt(made), made))
      : makeTempDir(this.tempPrefix.replace(/^hook-|-$/g, ''));
    this.layout ??= dir.then((made) => OciLayout.create(made));
    return this.layout;
  }

  async close(): Promise<void> {
    this.closed = true;
    const dir = await this.tempLayoutDir().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
