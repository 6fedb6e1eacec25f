/**
 * What a bootable's Nx target writes: upstream's names of its media (bash/bootable/*.sh), one per
 * board, in @hook/layout's dist/bootable. Here, not in @hook/bootable, so that the Nx plugin lists
 * a target's outputs without loading the handlers and what they use (ISO, Debian, OCI, SBOM).
 */
import { mediaManifestFile, mediumFiles } from '@hook/layout';
import { boardsOf } from './inventory';
import type { Board, Bootable } from './schema';

/** `BOARD=x BRANCH=y` -> { BOARD: 'x', BRANCH: 'y' } (a board's opts). */
export function boardOptions(board: Board): Record<string, string> {
  const options: Record<string, string> = {};
  for (const word of board.opts.split(/\s+/).filter(Boolean)) {
    const at = word.indexOf('=');
    if (at > 0) options[word.slice(0, at)] = word.slice(at + 1);
  }
  return options;
}

/** An Armbian u-boot board's BOARD and BRANCH (which u-boot artifact it takes). */
export function armbianBoardOf(board: Board): { BOARD: string; BRANCH: string } {
  const { BOARD, BRANCH } = boardOptions(board);
  if (!BOARD || !BRANCH) throw new Error(`board ${board.id} has no BOARD= and BRANCH= options (${board.opts})`);
  return { BOARD, BRANCH };
}

/** Upstream's image file name of one board's medium, without `.xz`, e.g. `hook-bootable-grub-<OUTPUT_ID>.img`. */
export function mediumImageName(bootable: Bootable, board: Board, outputId: string): string {
  switch (bootable.HANDLER) {
    case 'grub':
      return `hook-bootable-grub-${outputId}.img`;
    case 'rpi_firmware':
      return 'hook-bootable-rpi.img';
    case 'armbian_uboot_amlogic':
    case 'armbian_uboot_rockchip':
    case 'armbian_uboot_rockchip_vendor': {
      const { BOARD, BRANCH } = armbianBoardOf(board);
      return `hook-bootable-${BOARD}-${BRANCH}.img`;
    }
  }
}

/** Every file a bootable's target can write: each board's compressed image, their SBOMs, and the manifest. */
export function mediaFilesOf(bootable: Bootable, outputId: string): string[] {
  const media = boardsOf(bootable).map((board) => mediumFiles(mediumImageName(bootable, board, outputId)));
  return [...media.map((m) => m.image), ...media.map((m) => m.sbom), mediaManifestFile(bootable.ID)];
}
