/**
 * Firmware in the built hook-debian-amd64, derived from the initramfs itself: every firmware
 * file a kept network or storage module declares is in /lib/firmware (as the file or its .xz),
 * or Debian's non-free-firmware has no such file, or it is one of the kernel library's
 * deliberate drops (firmware-report.md says why). A module that starts to declare a file Debian
 * ships, without it reaching HookOS, fails this test.
 * Needs the flavor built (the test target depends on its build), zstd, cpio, modinfo and apt.
 */
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AptSuite } from '@hook/debian';
import { declaredFirmware, firmwareFileNames, leftOutReason } from '@hook/kernel';
import { cacheDir } from '@hook/layout';
import { run } from '@hook/process';
import { flavorBootFiles } from './hookos';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';

jest.setTimeout(5 * 60_000);

describe(`firmware in ${FLAVOR}, derived from its initramfs`, () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hook-firmware-'));
    const { initrd } = flavorBootFiles(WORKSPACE, FLAVOR);
    await run('sh', ['-c', `zstd -dc "$1" | cpio -idm --quiet --no-absolute-filenames 'usr/lib/modules/*' 'usr/lib/firmware/*'`, 'sh', initrd], { cwd: root, timeoutMs: 180_000 });
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('holds every declared file Debian ships; what is missing, no Debian package has', async () => {
    const [release] = await readdir(join(root, 'usr/lib/modules'));
    const declared = await declaredFirmware(join(root, 'usr/lib/modules', release));
    // The initramfs keeps network and storage drivers that ask for firmware: if none did, the check would say nothing.
    expect(declared.size).toBeGreaterThan(50);
    const present = (file: string) => firmwareFileNames(file).some((name) => existsSync(join(root, 'usr/lib/firmware', name)) || isLink(join(root, 'usr/lib/firmware', name)));
    const apt = new AptSuite(cacheDir(WORKSPACE, process.env, 'kernel'), 'trixie', 'amd64', process.env, ['non-free-firmware'], true);
    const debianShips = await apt.contents();
    const gaps = [...declared.keys()].filter((file) => !present(file) && !leftOutReason(file) && firmwareFileNames(file).some((name) => debianShips.has(`usr/lib/firmware/${name}`)));
    expect(gaps).toEqual([]);
    // The named cases of the issue: QLogic FastLinQ, Chelsio T4-T6, tg3's older chips, e100's microcode.
    for (const file of ['qed/qed_init_values_zipped-8.59.1.0.bin', 'cxgb4/t6fw.bin', 'tigon/tg3_tso5.bin', 'e100/d102e_ucode.bin']) expect([file, present(file)]).toEqual([file, true]);
    // Stored compressed (Debian's kernel loads .xz firmware).
    expect(existsSync(join(root, 'usr/lib/firmware/qed/qed_init_values_zipped-8.59.1.0.bin.xz'))).toBe(true);
  });

  it('the size report says what the firmware costs', async () => {
    const report = await readFile(flavorBootFiles(WORKSPACE, FLAVOR).sizeReport, 'utf8');
    expect(report).toMatch(/^### Firmware\n\n[\d.]+ MiB in \d+ files under `\/usr\/lib\/firmware`/m);
  });
});

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
