import { join } from 'node:path';
import { boardOptions, boardsOf, findFlavor, loadInventory, mediaFilesOf, mediumImageName } from './index';

const inventory = loadInventory(join(__dirname, '../../..'));
const bootableOf = (flavorId: string, id: string) => findFlavor(inventory, flavorId).BOOTABLES.find((b) => b.ID === id)!;

describe("a bootable's media names (upstream's)", () => {
  it('names GRUB media after the OUTPUT_ID, the Pi medium once, Armbian u-boot media after BOARD and BRANCH', () => {
    const grub = bootableOf('hook-debian-amd64', 'grub-debian-amd64');
    expect(mediumImageName(grub, boardsOf(grub)[0], 'hook-debian-amd64')).toBe('hook-bootable-grub-hook-debian-amd64.img');
    const rpi = bootableOf('armbian-bcm2711-current', 'rpi');
    expect(mediumImageName(rpi, boardsOf(rpi)[0], 'armbian-bcm2711-current')).toBe('hook-bootable-rpi.img');
    const rk = bootableOf('armbian-rk35xx-vendor', 'uboot-rk35xx-vendor');
    expect(boardsOf(rk).map((board) => mediumImageName(rk, board, 'x'))).toEqual(['hook-bootable-mixtile-blade3-vendor.img', 'hook-bootable-mekotronics-r58x-pro-vendor.img']);
    expect(boardOptions({ id: 'r58x', opts: 'BOARD=mekotronics-r58x-pro BRANCH=vendor' })).toEqual({ BOARD: 'mekotronics-r58x-pro', BRANCH: 'vendor' });
  });

  it("lists what the bootable's target writes: each board's image and SBOM, then the manifest", () => {
    const rk = bootableOf('armbian-rockchip64-edge', 'uboot-rk');
    const files = mediaFilesOf(rk, 'armbian-rockchip64-edge');
    const boards = boardsOf(rk).length;
    expect(files).toHaveLength(2 * boards + 1);
    expect(files).toContain('dist/bootable/hook-bootable-odroidm1-edge.img.xz');
    expect(files).toContain('dist/bootable/sbom-hook-bootable-odroidm1-edge.cdx.json');
    expect(files[files.length - 1]).toBe('dist/bootable/uboot-rk.json');
  });
});
