/**
 * The Raspberry Pi medium with Debian's real raspi-firmware (downloaded, apt-verified, from the
 * host's mirror with the non-free-firmware component) and the real disk writer, read back and
 * checked against what the Pi's boot chain reads: an MBR with a FAT32 (0x0c) first partition,
 * the GPU firmware there (Pi 4: start4.elf + fixup4.dat; older Pis: bootcode.bin, start.elf,
 * fixup.dat), config.txt whose kernel, initramfs and overlays exist on the partition, the
 * board's device tree at the root and cmdline.txt as one line.
 * Debian packages: apt, fdisk (sfdisk), mtools; network: the host's Debian mirror.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { boardsOf, findFlavor, loadInventory, mediumImageName } from '@hook/inventory';
import { run } from '@hook/process';
import { tinkSettings } from '../cmdline';
import { writeDiskImage } from '../disk-image';
import type { FlavorOutputs } from '../handler';
import { rpiHandler, RPI_PARTITION_START } from './rpi';
import { setting } from '@hook/settings';

jest.setTimeout(300_000);

const WORKSPACE = resolve(__dirname, '../../../..');
const FLAVOR = 'armbian-bcm2711-current';
const kernelImage = Buffer.concat([Buffer.alloc(0x38), Buffer.from('ARMd'), randomBytes(300_000)]);

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hook-rpi-'));
  // The firmware download is cached across runs, as a build's is.
  env = { ...process.env, CACHE_DIR: join(setting(process.env, 'HOOK_TEST_CACHE'), 'bootable'), TINK_SERVER: '10.1.1.1', WORKER_ID: 'dc:a6:32:01:02:03' };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** dist/hook files of the flavor: a gzip kernel, an initramfs, and dtbs-<OUTPUT_ID>.tar.gz as Armbian's bcm2711 kernel has them. */
async function outputs(dtbs: string[] | undefined): Promise<FlavorOutputs> {
  const out = await mkdtemp(join(dir, 'dist-'));
  await writeFile(join(out, 'vmlinuz'), gzipSync(kernelImage));
  await writeFile(join(out, 'initramfs'), randomBytes(50_000));
  let dtbsTar: string | undefined;
  if (dtbs) {
    const tree = join(out, 'tree', `dtbs-${FLAVOR}`);
    for (const path of dtbs) {
      await mkdir(join(tree, path, '..'), { recursive: true });
      await writeFile(join(tree, path), `DTB ${path}`);
    }
    dtbsTar = join(out, `dtbs-${FLAVOR}.tar.gz`);
    await run('tar', ['-C', join(out, 'tree'), '-czf', dtbsTar, `dtbs-${FLAVOR}`]);
  }
  return { flavorId: FLAVOR, outputId: FLAVOR, arch: 'aarch64', kernel: join(out, 'vmlinuz'), initramfs: join(out, 'initramfs'), dtbs: dtbsTar };
}

async function writeMedium(flavor: FlavorOutputs): Promise<string> {
  const bootable = findFlavor(loadInventory(WORKSPACE), FLAVOR).BOOTABLES[0];
  const [board] = boardsOf(bootable);
  const workDir = await mkdtemp(join(dir, 'work-'));
  const layout = await rpiHandler.layout({ workspaceRoot: dir, flavor, bootable, board, tink: tinkSettings(env, board.id), env, workDir });
  const image = join(dir, 'out', mediumImageName(bootable, board, flavor.outputId));
  await writeDiskImage(layout, image, { sourceDateEpoch: 1_700_000_000, env });
  await rm(workDir, { recursive: true, force: true });
  return image;
}

const mtools = (args: string[]) => run(args[0], args.slice(1), { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });

describe('Raspberry Pi medium (integration: Debian raspi-firmware, the real disk writer)', () => {
  it('holds what the firmware reads: MBR + FAT32 (0x0c), start4.elf/fixup4.dat, config.txt\'s kernel, initramfs and overlays, the board DTB, cmdline.txt', async () => {
    const image = await writeMedium(
      await outputs(['broadcom/bcm2711-rpi-4-b.dtb', 'broadcom/bcm2711-rpi-400.dtb', 'broadcom/bcm2711-rpi-cm4.dtb', 'overlay/disable-bt.dtbo', 'overlay/vc4-kms-v3d.dtbo', 'overlay/README']),
    );
    expect(image).toMatch(/hook-bootable-rpi\.img$/);

    const table = JSON.parse((await run('sfdisk', ['--json', image])).stdout).partitiontable as { label: string; partitions: { start: number; type: string; bootable?: boolean }[] };
    expect(table.label).toBe('dos');
    expect(table.partitions).toEqual([expect.objectContaining({ start: RPI_PARTITION_START / 512, type: 'c', bootable: true })]);
    const fat = `${image}@@${RPI_PARTITION_START}`;
    // The boot ROM wants a FAT32 file system on it, not FAT16.
    expect((await mtools(['minfo', '-i', fat, '::'])).stdout).toMatch(/disk type="FAT32\s*"/);

    const listing = (await mtools(['mdir', '-/', '-b', '-i', fat, '::/'])).stdout.split('\n').filter(Boolean).map((l) => l.replace(/^::\//, ''));
    const read = async (path: string) => {
      const out = join(dir, `read-${randomBytes(4).toString('hex')}`);
      await mtools(['mcopy', '-n', '-i', fat, `::/${path}`, out]);
      return readFile(out);
    };
    // Pi 4 (EEPROM boot loader) and the older boot chain (bootcode.bin on the card).
    for (const firmware of ['start4.elf', 'fixup4.dat', 'bootcode.bin', 'start.elf', 'fixup.dat']) expect(listing).toContain(firmware);
    expect((await read('start4.elf')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');

    const configTxt = (await read('config.txt')).toString();
    const settings = configTxt.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('['));
    expect(settings).toContain('arm_64bit=1');
    expect(settings).toContain('enable_uart=1');
    const kernel = /^kernel=(\S+)$/m.exec(configTxt)?.[1] as string;
    const initramfs = /^initramfs (\S+) followkernel$/m.exec(configTxt)?.[1] as string;
    expect(listing).toContain(kernel);
    expect(listing).toContain(initramfs);
    // The gzip kernel is there as the plain arm64 Image.
    expect((await read(kernel)).equals(kernelImage)).toBe(true);
    const overlays = [...configTxt.matchAll(/^dtoverlay=([^,\s]+)/gm)].map((m) => m[1]);
    expect(overlays).toEqual(['disable-bt', 'vc4-kms-v3d']);
    for (const overlay of overlays) expect(listing).toContain(`overlays/${overlay}.dtbo`);
    // The firmware loads the board's DTB (bcm2711-rpi-4-b.dtb on a Pi 4) from the root.
    expect(listing).toEqual(expect.arrayContaining(['bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4.dtb']));

    const cmdline = (await read('cmdline.txt')).toString();
    expect(cmdline.endsWith('\n') && cmdline.indexOf('\n') === cmdline.length - 1).toBe(true);
    expect(cmdline.trim()).toBe(
      'console=tty1 console=ttyAMA0,115200 worker_id=dc:a6:32:01:02:03 tink_worker_image=ghcr.io/tinkerbell/tink-agent:latest grpc_authority=10.1.1.1:42113 tinkerbell_tls=false syslog_host=10.1.1.1 loglevel=7 cgroup_enable=cpuset cgroup_memory=1 cgroup_enable=memory',
    );
  });

  it('a flavor without Raspberry Pi device trees is one line, before any download', async () => {
    await expect(writeMedium(await outputs(undefined))).rejects.toThrow(/^bootable rpi needs the Raspberry Pi device trees, but flavor armbian-bcm2711-current has none/);
    await expect(writeMedium(await outputs(['rockchip/rk3568-odroid-m1.dtb']))).rejects.toThrow(/^flavor armbian-bcm2711-current has no Raspberry Pi device tree \(bcm27xx-rpi-\*\.dtb\)/);
  });
});
