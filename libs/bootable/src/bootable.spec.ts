import { join } from 'node:path';
import { UserError } from '@hook/log';
import { loadInventory, mediaFilesOf } from '@hook/inventory';
import { kernelCommandLine, tinkSettings } from './cmdline';
import { checkCardDevice, parseMountInfo } from './device';
import { grubConfig } from './handlers/grub';
import { resolveBootable, selectBoards } from './select';

const inventory = loadInventory(join(__dirname, '../../..'));

describe('the kernel command line', () => {
  it("uses upstream's names, order and defaults (WORKER_ID defaults to the board id)", () => {
    expect(kernelCommandLine(tinkSettings({}, 'grub-debian-amd64-generic'), ['ttyS0'])).toBe(
      'console=ttyS0 worker_id=grub-debian-amd64-generic tink_worker_image=ghcr.io/tinkerbell/tink-agent:latest grpc_authority=tinkerbell:42113 tinkerbell_tls=false syslog_host=tinkerbell',
    );
    const env = { TINK_WORKER_IMAGE: 'reg:5000/agent@sha256:abc', TINK_SERVER: '192.168.1.5', TINK_TLS: 'true', TINK_GRPC_PORT: '4242', WORKER_ID: 'aa:bb:cc:dd:ee:ff' };
    expect(kernelCommandLine(tinkSettings(env, 'b'), ['ttyS2,1500000'])).toBe(
      'console=ttyS2,1500000 worker_id=aa:bb:cc:dd:ee:ff tink_worker_image=reg:5000/agent@sha256:abc grpc_authority=192.168.1.5:4242 tinkerbell_tls=true syslog_host=192.168.1.5',
    );
    // Empty means unset, as for every other setting.
    expect(tinkSettings({ TINK_SERVER: '' }, 'b').server).toBe('tinkerbell');
  });

  it('refuses values the kernel, GRUB or u-boot would split or interpret, with one line naming the setting', () => {
    for (const [env, message] of [
      [{ TINK_SERVER: 'a b' }, "TINK_SERVER is 'a b'; use letters, digits and . _ : / @ % + , = - [ ] (a kernel command line value: no spaces or shell characters)"],
      [{ TINK_WORKER_IMAGE: 'x;reboot' }, "TINK_WORKER_IMAGE is 'x;reboot'"],
      [{ WORKER_ID: '$(id)' }, "WORKER_ID is '$(id)'"],
      [{ TINK_GRPC_PORT: '70000' }, "TINK_GRPC_PORT is '70000'; use a whole number, 1..65535"],
      [{ TINK_TLS: 'yes' }, "TINK_TLS is 'yes'; use true or false"],
    ] as [NodeJS.ProcessEnv, string][]) {
      expect(() => tinkSettings(env, 'b')).toThrow(UserError);
      expect(() => tinkSettings(env, 'b')).toThrow(message);
    }
  });

  it('goes into grub.cfg on the linux line, and a line break is refused', () => {
    expect(grubConfig('console=ttyS0 worker_id=x', 'x86_64')).toBe(
      "set timeout=0\nset gfxpayload=text\nmenuentry 'Tinkerbell Hook x86_64' {\n  linux /vmlinuz console=ttyS0 worker_id=x\n  initrd /initrd.img\n}\n",
    );
    expect(() => grubConfig('a\nb', 'x86_64')).toThrow(UserError);
  });
});

describe('which bootable and boards', () => {
  it('finds the Debian GRUB bootables and their flavors, named as upstream names GRUB media', () => {
    const amd64 = resolveBootable(inventory, 'grub-debian-amd64');
    expect(amd64.flavor.id).toBe('hook-debian-amd64');
    expect(amd64.bootable).toMatchObject({ HANDLER: 'grub', SERIAL_CONSOLE: 'ttyS0', TAG: ['debian'] });
    expect(resolveBootable(inventory, 'grub-debian-arm64').bootable).toMatchObject({ HANDLER: 'grub', SERIAL_CONSOLE: 'ttyAMA0' });
    expect(mediaFilesOf(amd64.bootable, amd64.outputId)).toEqual([
      'dist/bootable/hook-bootable-grub-hook-debian-amd64.img.xz',
      'dist/bootable/sbom-hook-bootable-grub-hook-debian-amd64.cdx.json',
      'dist/bootable/grub-debian-amd64.json',
    ]);
  });

  it('says what is wrong in one line: unknown bootable, a flavor without it, unknown board', () => {
    expect(() => resolveBootable(inventory, 'grub-debian-amd65')).toThrow("Unknown bootable 'grub-debian-amd65' (did you mean grub-debian-amd64?); valid ones are: ");
    expect(() => resolveBootable(inventory, undefined)).toThrow('bootable-media needs a bootable id; valid ones are: ');
    expect(() => resolveBootable(inventory, 'grub-debian-amd64', 'peg-default-amd64')).toThrow(
      "Flavor peg-default-amd64 has no bootable 'grub-debian-amd64' (flavors/peg-default-amd64/flavor.yaml lists no BOOTABLES); 'grub-debian-amd64' belongs to hook-debian-amd64: ./hook bootable-media grub-debian-amd64",
    );
    expect(() => resolveBootable(inventory, 'grub-arm64', 'hook-default-amd64')).toThrow("Flavor hook-default-amd64 has no bootable 'grub-arm64' (its bootables: grub-amd64)");
    // An unknown flavor is the one line every command gives (findFlavor's).
    expect(() => resolveBootable(inventory, 'grub-amd64', 'hook-defualt-amd64')).toThrow(
      /^Unknown flavor 'hook-defualt-amd64' \(did you mean hook-default-amd64\?\); valid ones are: armbian-bcm2711-current /,
    );
    const rk = resolveBootable(inventory, 'uboot-rk35xx-vendor').bootable;
    expect(() => selectBoards(rk, 'r58')).toThrow("Unknown board 'r58' for bootable uboot-rk35xx-vendor (did you mean r58x?); its boards are: blade3 r58x");
  });

  it('takes all boards by default, or the BOARD ids, or upstream Armbian BOARD values', () => {
    const rk = resolveBootable(inventory, 'uboot-rk35xx-vendor').bootable;
    expect(selectBoards(rk, undefined).map((b) => b.id)).toEqual(['blade3', 'r58x']);
    expect(selectBoards(rk, '').map((b) => b.id)).toEqual(['blade3', 'r58x']);
    expect(selectBoards(rk, 'r58x').map((b) => b.id)).toEqual(['r58x']);
    expect(selectBoards(rk, 'mekotronics-r58x-pro, blade3 r58x').map((b) => b.id)).toEqual(['r58x', 'blade3']);
  });
});

describe('CARD_DEVICE checks', () => {
  const MOUNTINFO = [
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
    '24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=123k,mode=755',
    '31 27 8:17 / /media/my\\040card rw,nosuid shared:12 master:3 - vfat /dev/sdb1 rw,fmask=0022',
    'garbage line',
    '',
  ].join('\n');

  it('parses /proc/self/mountinfo, optional fields and octal escapes included', () => {
    expect(parseMountInfo(MOUNTINFO)).toEqual([
      { device: '254:0', mountPoint: '/', source: '/dev/vda' },
      { device: '0:6', mountPoint: '/dev', source: 'devtmpfs' },
      { device: '8:17', mountPoint: '/media/my card', source: '/dev/sdb1' },
    ]);
  });

  it('refuses a path that is not a block device, or is missing, in one line', () => {
    expect(() => checkCardDevice('/dev/null')).toThrow('CARD_DEVICE /dev/null is a character device, not a block device');
    expect(() => checkCardDevice(__dirname)).toThrow('is a directory, not a block device');
    expect(() => checkCardDevice(__filename)).toThrow('is a regular file, not a block device');
    expect(() => checkCardDevice('/dev/no-such-card')).toThrow('CARD_DEVICE /dev/no-such-card does not exist');
  });
});
