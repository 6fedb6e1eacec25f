/**
 * Armbian u-boot media against a real OCI registry on loopback (Debian's docker-registry via
 * @hook/testing) serving u-boot artifacts made the way Armbian publishes them (an ORAS artifact
 * whose file is a linux-u-boot-*.deb, built with dpkg-deb: armbian-uboot-fixture.ts), written by the real disk image
 * writer. The board's own u-boot cannot run in QEMU: the image is read back byte by byte against
 * the SoC family's layout instead (sfdisk for the table, mtools for the partition's files).
 * Debian packages: docker-registry, dpkg-dev, fdisk (sfdisk), mtools, u-boot-tools (mkimage).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { boardsOf, findFlavor, loadInventory, mediumImageName, resolveFlavor, type Bootable } from '@hook/inventory';
import { inWorkspace, type KernelMetadata } from '@hook/layout';
import { hookosBom, serializeBom, validateBomJson } from '@hook/sbom';
import { run } from '@hook/process';
import { startRegistry, type TestRegistry } from '@hook/testing';
import { tinkSettings } from '../cmdline';
import { writeDiskImage } from '../disk-image';
import type { FlavorOutputs } from '../handler';
import { buildBootableMedia } from '../media';
import { armbianUbootHandlers } from './armbian-uboot';
import { artifactRegistry, type ArtifactRegistry } from '@hook/oci';
import { publishUbootArtifact } from './armbian-uboot-fixture';

jest.setTimeout(180_000);

const WORKSPACE = resolve(__dirname, '../../../..');
const MIB = 1024 * 1024;

let registry: TestRegistry | undefined;
let dir: string;
let env: NodeJS.ProcessEnv;
let pulls: string[];
let counting: ArtifactRegistry;
const blobs: Record<string, Buffer> = {};
const kernelImage = Buffer.concat([Buffer.alloc(0x38), Buffer.from('ARMd'), randomBytes(200_000)]);

async function publish(board: string, branch: string, tag: string, files: Record<string, Buffer | string>): Promise<void> {
  await publishUbootArtifact({ base: `${registry?.host}/armbian/os`, dir, board, branch, tag, files });
}

/** The flavor's dist/hook files: a gzip kernel, an initramfs and dtbs-<OUTPUT_ID>.tar.gz as the flavor build writes them. */
async function flavorOutputs(flavorId: string, dtbs: string[]): Promise<FlavorOutputs> {
  const out = await mkdtemp(join(dir, `dist-${flavorId}-`));
  const tree = join(out, 'tree', `dtbs-${flavorId}`);
  for (const dtb of dtbs) {
    await mkdir(join(tree, dtb, '..'), { recursive: true });
    await writeFile(join(tree, dtb), `DTB ${dtb}`);
  }
  await writeFile(join(out, 'vmlinuz'), gzipSync(kernelImage));
  await writeFile(join(out, 'initramfs'), randomBytes(100_000));
  const dtbsTar = join(out, `dtbs-${flavorId}.tar.gz`);
  await run('tar', ['-C', join(out, 'tree'), '-czf', dtbsTar, `dtbs-${flavorId}`]);
  return { flavorId, outputId: flavorId, arch: 'aarch64', kernel: join(out, 'vmlinuz'), initramfs: join(out, 'initramfs'), dtbs: dtbsTar };
}

function bootableOf(flavorId: string): Bootable {
  return findFlavor(loadInventory(WORKSPACE), flavorId).BOOTABLES[0];
}

/** Lays out and writes the medium of one board, as `hook bootable-media` does. */
async function writeMedium(flavorId: string, boardId: string, outputs: FlavorOutputs, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ image: string; bootable: Bootable }> {
  const bootable = bootableOf(flavorId);
  const board = boardsOf(bootable).find((b) => b.id === boardId);
  if (!board) throw new Error(`no board ${boardId}`);
  const handler = armbianUbootHandlers({ registry: counting })[bootable.HANDLER as 'armbian_uboot_rockchip'];
  const workDir = await mkdtemp(join(dir, 'work-'));
  const runEnv = { ...env, ...extraEnv };
  const layout = await handler.layout({ workspaceRoot: dir, flavor: outputs, bootable, board, tink: tinkSettings(runEnv, board.id), env: runEnv, workDir });
  const image = join(dir, 'out', mediumImageName(bootable, board, outputs.outputId));
  await writeDiskImage(layout, image, { sourceDateEpoch: 1_700_000_000, env: runEnv });
  await rm(workDir, { recursive: true, force: true });
  return { image, bootable };
}

async function bytesAt(image: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(image, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

interface Table {
  label: string;
  partitions: { start: number; type: string; bootable?: boolean }[];
}

async function partitionTable(image: string): Promise<Table> {
  return (JSON.parse((await run('sfdisk', ['--json', image])).stdout) as { partitiontable: Table }).partitiontable;
}

const mtoolsEnv = () => ({ ...process.env, MTOOLS_SKIP_CHECK: '1' });
async function fatFile(image: string, start: number, path: string): Promise<Buffer> {
  const out = join(dir, `read-${randomBytes(4).toString('hex')}`);
  await run('mcopy', ['-n', '-i', `${image}@@${start}`, `::/${path}`, out], { env: mtoolsEnv() });
  return readFile(out);
}
async function fatList(image: string, start: number): Promise<string[]> {
  const { stdout } = await run('mdir', ['-/', '-b', '-i', `${image}@@${start}`, '::/'], { env: mtoolsEnv() });
  return stdout.split('\n').filter(Boolean).map((line) => line.replace(/^::\//, ''));
}

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'hook-armbian-uboot-'));
  env = { ...process.env, CACHE_DIR: join(dir, 'cache'), ARMBIAN_BASE_ORAS_REF: `${registry.host}/armbian/os`, TINK_SERVER: '192.168.2.10', TINK_WORKER_IMAGE: 'registry.local/tink-agent:v1' };
  delete env.UBOOT_VERSION;
  pulls = [];
  const real = artifactRegistry(env);
  counting = { listTags: (repository) => real.listTags(repository), pullArtifact: (reference, destDir) => (pulls.push(reference), real.pullArtifact(reference, destDir)) };

  blobs.idbloader = randomBytes(150_000);
  blobs.itb = randomBytes(1_200_000);
  const metadata = 'UBOOT_PARTITION_TYPE="gpt"\nUBOOT_KERNEL_DTB="rockchip/rk3568-odroid-m1.dtb"\nUBOOT_KERNEL_SERIALCON="ttyS2:1500000"\nUBOOT_EXTLINUX_CMDLINE="rootwait"\n';
  await publish('odroidm1', 'edge', '2024.01-S1111-P0000-H0000-V0000-B0000-R448a', { 'idbloader.img': randomBytes(1000), 'u-boot.itb': randomBytes(1000), 'u-boot-metadata.sh': metadata });
  await publish('odroidm1', 'edge', '2024.10-Sabcd-P0000-H0000-V0000-B0000-R448a', { 'idbloader.img': blobs.idbloader, 'u-boot.itb': blobs.itb, 'u-boot-metadata.sh': metadata });

  blobs.amlogic = randomBytes(MIB + 4321);
  await publish('odroidhc4', 'edge', '2024.07-S2222-P0000', { 'u-boot.bin.sd.bin': blobs.amlogic, 'u-boot.bin': randomBytes(10), 'u-boot-metadata.sh': 'UBOOT_KERNEL_DTB="amlogic/meson-sm1-odroid-hc4.dtb"\nUBOOT_KERNEL_SERIALCON="ttyAML0"\n' });

  blobs.vendor = randomBytes(3 * MIB);
  await publish('mekotronics-r58x-pro', 'vendor', '2017.09-S3333-P0000', { 'u-boot-rockchip.bin': blobs.vendor, 'u-boot-metadata.sh': 'UBOOT_KERNEL_DTB="rockchip/rk3588-blueberry-edge-v12-linux.dtb"\n' });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Armbian u-boot media (integration: docker-registry on loopback, the real disk writer)', () => {
  it('Rockchip (odroidm1, extlinux): GPT, idbloader at sector 64, u-boot.itb at sector 16384, FAT at 16 MiB with extlinux.conf', async () => {
    const outputs = await flavorOutputs('armbian-rockchip64-edge', ['rockchip/rk3568-odroid-m1.dtb', 'rockchip/rk3588-nanopc-t6.dtb']);
    const { image } = await writeMedium('armbian-rockchip64-edge', 'odroidm1', outputs);
    expect(image).toMatch(/hook-bootable-odroidm1-edge\.img$/);
    expect(pulls).toEqual([`${registry?.host}/armbian/os/uboot-odroidm1-edge:2024.10-Sabcd-P0000-H0000-V0000-B0000-R448a`]);

    const table = await partitionTable(image);
    expect(table.label).toBe('gpt');
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0].start).toBe(32768);
    expect((await bytesAt(image, 446 + 4, 1))[0]).toBe(0xee); // the protective MBR
    expect((await bytesAt(image, 512, 8)).toString('latin1')).toBe('EFI PART');
    expect((await bytesAt(image, 64 * 512, blobs.idbloader.length)).equals(blobs.idbloader)).toBe(true);
    expect((await bytesAt(image, 16384 * 512, blobs.itb.length)).equals(blobs.itb)).toBe(true);

    const start = 16 * MIB;
    const files = await fatList(image, start);
    expect(files).toEqual(expect.arrayContaining(['vmlinuz', 'initramfs', 'extlinux/extlinux.conf', 'dtb/rockchip/rk3568-odroid-m1.dtb', 'dtb/rockchip/rk3588-nanopc-t6.dtb']));
    const conf = (await fatFile(image, start, 'extlinux/extlinux.conf')).toString();
    expect(conf).toMatch(/^DEFAULT hook\n/);
    expect(conf).toContain('  kernel /vmlinuz\n  initrd /initramfs\n  fdt /dtb/rockchip/rk3568-odroid-m1.dtb\n');
    const append = /^ {2}append (.*)$/m.exec(conf)?.[1];
    expect(append).toBe(
      'console=ttyS2,1500000 worker_id=odroidm1 tink_worker_image=registry.local/tink-agent:v1 grpc_authority=192.168.2.10:42113 tinkerbell_tls=false syslog_host=192.168.2.10 rootwait',
    );
    // The gzip kernel is on the partition as the plain Image booti starts.
    expect((await fatFile(image, start, 'vmlinuz')).equals(kernelImage)).toBe(true);
    expect((await fatFile(image, start, 'initramfs')).equals(await readFile(outputs.initramfs))).toBe(true);
  });

  it('pulls a tag once: a second medium comes from the cache', async () => {
    const before = pulls.length;
    const outputs = await flavorOutputs('armbian-rockchip64-edge', ['rockchip/rk3568-odroid-m1.dtb']);
    await writeMedium('armbian-rockchip64-edge', 'odroidm1', outputs);
    expect(pulls.length).toBe(before);
  });

  it('Amlogic (odroidhc4): MBR with its table kept, u-boot.bin.sd.bin\'s first 442 bytes at 0 and the rest from sector 1', async () => {
    const outputs = await flavorOutputs('armbian-meson64-edge', ['amlogic/meson-sm1-odroid-hc4.dtb']);
    const { image } = await writeMedium('armbian-meson64-edge', 'odroidhc4', outputs);
    const table = await partitionTable(image);
    expect(table.label).toBe('dos');
    expect(table.partitions).toEqual([expect.objectContaining({ start: 32768, type: 'c', bootable: true })]);
    expect((await bytesAt(image, 0, 442)).equals(blobs.amlogic.subarray(0, 442))).toBe(true);
    // The MBR's own bytes from 442 on: not u-boot's.
    expect((await bytesAt(image, 442, 70)).equals(blobs.amlogic.subarray(442, 512))).toBe(false);
    expect((await bytesAt(image, 510, 2)).toString('hex')).toBe('55aa');
    expect((await bytesAt(image, 512, blobs.amlogic.length - 512)).equals(blobs.amlogic.subarray(512))).toBe(true);
    const conf = (await fatFile(image, 16 * MIB, 'extlinux/extlinux.conf')).toString();
    expect(conf).toContain('  fdt /dtb/amlogic/meson-sm1-odroid-hc4.dtb\n');
    expect(conf).toMatch(/append console=ttyAML0,115200 worker_id=odroidhc4 /);
  });

  it('Rockchip vendor (r58x, bootscript as upstream\'s default): u-boot-rockchip.bin at 32 KiB, boot.scr made by mkimage', async () => {
    const outputs = await flavorOutputs('armbian-rk35xx-vendor', ['rockchip/rk3588-blueberry-edge-v12-linux.dtb']);
    const { image } = await writeMedium('armbian-rk35xx-vendor', 'r58x', outputs, { WORKER_ID: '52:54:00:12:34:56' });
    expect(image).toMatch(/hook-bootable-mekotronics-r58x-pro-vendor\.img$/);
    expect((await partitionTable(image)).label).toBe('gpt');
    expect((await bytesAt(image, 32 * 1024, blobs.vendor.length)).equals(blobs.vendor)).toBe(true);
    const scr = await fatFile(image, 16 * MIB, 'boot.scr');
    const scrFile = join(dir, 'boot.scr');
    await writeFile(scrFile, scr);
    expect((await run('mkimage', ['-l', scrFile])).stdout).toMatch(/Image Type:\s+AArch64 Linux Script/);
    const script = scr.toString('latin1');
    expect(script).toContain('setenv bootargs "console=ttyFIQ0,1500000 worker_id=52:54:00:12:34:56 ');
    expect(script).toContain('${fdt_addr_r} /dtb/rockchip/rk3588-blueberry-edge-v12-linux.dtb');
    expect(script).toContain('booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}');
  });

  it('hook bootable-media uboot-rk BOARD=odroidm1 on a built flavor: dist/bootable/hook-bootable-odroidm1-edge.img.xz with u-boot at its offsets', async () => {
    // A workspace with the inventory and the flavor's dist/hook files, as its build leaves them.
    const root = await mkdtemp(join(dir, 'workspace-'));
    for (const folder of ['flavors', 'kernel', 'linuxkit-templates']) await run('cp', ['-r', join(WORKSPACE, folder), root]);
    const { flavor, outputId, files } = resolveFlavor(root, 'armbian-rockchip64-edge');
    const built = await flavorOutputs('armbian-rockchip64-edge', ['rockchip/rk3568-odroid-m1.dtb']);
    await mkdir(join(root, 'dist', 'hook'), { recursive: true });
    const sums: string[] = [];
    for (const [from, to] of [[built.kernel, files.vmlinuz], [built.initramfs, files.initramfs], [built.dtbs as string, files.dtbs]]) {
      await copyFile(from, inWorkspace(root, to));
      sums.push(`${createHash('sha256').update(await readFile(from)).digest('hex')}  ${to.split('/').pop()}`);
    }
    // The build's HookOS document, which the medium's SBOM links to.
    const hookosJson = serializeBom(hookosBom({ flavorId: flavor.id, outputId, version: '1.2.3', arch: 'aarch64', kernel: { id: 'k', arch: 'aarch64', version: '6.12.1' } as KernelMetadata, modules: [], images: [], files: [] }));
    await writeFile(inWorkspace(root, files.sbom), hookosJson);
    sums.push(`${createHash('sha256').update(hookosJson).digest('hex')}  ${files.sbom.split('/').pop()}`);
    await writeFile(inWorkspace(root, files.checksums), `${sums.join('\n')}\n`);

    const written = await buildBootableMedia({ workspaceRoot: root, bootableId: 'uboot-rk', env: { ...env, BOARD: 'odroidm1' } });
    expect(written.map((m) => m.file)).toEqual([join(root, 'dist', 'bootable', 'hook-bootable-odroidm1-edge.img.xz')]);
    await run('xz', ['-dk', written[0].file]);
    const image = written[0].file.replace(/\.xz$/, '');
    expect((await partitionTable(image)).partitions[0].start).toBe(32768);
    expect((await bytesAt(image, 64 * 512, blobs.idbloader.length)).equals(blobs.idbloader)).toBe(true);
    expect((await bytesAt(image, 16384 * 512, blobs.itb.length)).equals(blobs.itb)).toBe(true);
    expect((await fatFile(image, 16 * MIB, 'extlinux/extlinux.conf')).toString()).toContain('  fdt /dtb/rockchip/rk3568-odroid-m1.dtb\n');

    // Its SBOM: the medium by hash, u-boot's raw writes and artifact, the files on the partition, the link to the HookOS document.
    const sbomJson = await readFile(join(root, 'dist', 'bootable', 'sbom-hook-bootable-odroidm1-edge.cdx.json'), 'utf8');
    expect(await validateBomJson(sbomJson)).toBeNull();
    type Component = { type: string; name: string; version?: string; hashes?: Array<{ content: string }>; properties?: Array<{ name: string; value: string }>; externalReferences?: Array<{ url: string }> };
    const sbom = JSON.parse(sbomJson) as { metadata: { component: Component }; components: Component[] };
    expect(sbom.metadata.component).toMatchObject({ name: 'hook-bootable-odroidm1-edge.img.xz', hashes: [expect.objectContaining({ content: createHash('sha256').update(await readFile(written[0].file)).digest('hex') })] });
    const hash = (name: string) => sbom.components.find((c) => c.name === name)?.hashes?.[0]?.content;
    expect(hash(`raw@${64 * 512}: u-boot idbloader.img`)).toBe(createHash('sha256').update(blobs.idbloader).digest('hex'));
    expect(hash('initramfs')).toBe(createHash('sha256').update(await readFile(built.initramfs)).digest('hex'));
    expect(sbom.components.find((c) => c.name === 'uboot-odroidm1-edge')?.properties).toContainEqual({ name: 'hook:package:source', value: expect.stringMatching(/uboot-odroidm1-edge:2024\.10-Sabcd/) });
    const serial = (JSON.parse(hookosJson) as { serialNumber: string }).serialNumber.replace('urn:uuid:', '');
    expect(sbom.components.find((c) => c.type === 'operating-system')?.externalReferences?.[0]?.url).toBe(`urn:cdx:${serial}/1#hookos%3Aarmbian-rockchip64-edge`);
  });

  it('mistakes are one line each and write nothing: a pinned version the registry lacks, a board without artifacts, a DTB the flavor lacks', async () => {
    const outputs = await flavorOutputs('armbian-rockchip64-edge', ['rockchip/rk3568-odroid-m1.dtb']);
    await rm(join(dir, 'out'), { recursive: true, force: true });
    await expect(writeMedium('armbian-rockchip64-edge', 'odroidm1', outputs, { UBOOT_VERSION: '2099.01-Sdead' })).rejects.toThrow(
      /^.*uboot-odroidm1-edge has no tag UBOOT_VERSION=2099\.01-Sdead; recent tags: 2024\.01-S1111\S*, 2024\.10-Sabcd\S*$/,
    );
    await expect(writeMedium('armbian-rockchip64-edge', 'quartz64a', outputs)).rejects.toThrow(
      /^there is no Armbian u-boot artifact \S+\/armbian\/os\/uboot-quartz64a-edge \(board quartz64a, branch edge\); check BOARD, BRANCH and ARMBIAN_BASE_ORAS_REF$/,
    );
    const other = await flavorOutputs('armbian-meson64-edge', ['amlogic/other.dtb']);
    await expect(writeMedium('armbian-meson64-edge', 'odroidhc4', other)).rejects.toThrow(
      /^the u-boot of board odroidhc4 boots device tree amlogic\/meson-sm1-odroid-hc4\.dtb, which flavor armbian-meson64-edge does not have/,
    );
    await expect(readFile(join(dir, 'out', 'hook-bootable-odroidm1-edge.img'))).rejects.toThrow();
  });
});
