/**
 * The handler interface: one handler per upstream bootable HANDLER (grub, rpi_firmware,
 * armbian_uboot_*). Given a built flavor, the bootable's definition, one of its boards and the
 * TINK_* settings, a handler says what the disk holds; the disk image writer (disk-image.ts)
 * makes it. A handler downloads what it needs (firmware, u-boot) into `workDir` or the cache,
 * and never writes the image itself.
 */
import type { Arch, Board, Bootable, BootableHandler as HandlerName } from '@hook/inventory';
import type { TinkSettings } from './cmdline';
import type { DiskLayout } from './disk-image';

/** What the flavor's build target wrote (dist/hook/), checked against its SHA256SUMS. */
export interface FlavorOutputs {
  flavorId: string;
  outputId: string;
  arch: Arch;
  /** dist/hook/vmlinuz-<OUTPUT_ID> */
  kernel: string;
  /** dist/hook/initramfs-<OUTPUT_ID> */
  initramfs: string;
  /** dist/hook/dtbs-<OUTPUT_ID>.tar.gz, when the flavor's kernel has device trees (arm64). */
  dtbs?: string;
}

export interface HandlerContext {
  workspaceRoot: string;
  flavor: FlavorOutputs;
  bootable: Bootable;
  board: Board;
  /** TINK_* and WORKER_ID with upstream's defaults (WORKER_ID defaults to the board id). */
  tink: TinkSettings;
  /** The environment (CACHE_DIR, ARMBIAN_BASE_ORAS_REF, ...). */
  env: NodeJS.ProcessEnv;
  /** A scratch folder of this run (extracted DTBs, GRUB image, downloads); removed afterwards. */
  workDir: string;
}

export interface BootableHandler {
  handler: HandlerName;
  /** What goes on the disk. */
  layout(ctx: HandlerContext): Promise<DiskLayout>;
}
