import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@hook/testing';
import { firmwareCompression, firmwareReport, leftOutReason, wantsFirmware } from './firmware';

describe('which modules get their firmware', () => {
  it.each([
    ['kernel/drivers/net/ethernet/qlogic/qed/qed.ko.xz', true],
    ['kernel/drivers/net/ethernet/broadcom/tg3.ko.xz', true],
    ['kernel/drivers/scsi/mpt3sas/mpt3sas.ko.xz', true],
    ['kernel/drivers/usb/storage/ums-eneub6250.ko.xz', true],
    ['kernel/drivers/net/wireless/intel/iwlwifi/iwlwifi.ko.xz', false],
    ['kernel/drivers/bluetooth/btusb.ko.xz', false],
    ['kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko.xz', false],
    ['kernel/drivers/crypto/intel/qat/qat_c62x/qat_c62x.ko.xz', false],
    ['kernel/drivers/usb/serial/io_ti.ko.xz', false],
  ])('%s: %s', (module, wanted) => {
    expect(wantsFirmware(module)).toBe(wanted);
  });

  it("leaves out bnx2x's fallback version only", () => {
    expect(leftOutReason('bnx2x/bnx2x-e2-7.13.15.0.fw')).toMatch(/7\.13\.21/);
    expect(leftOutReason('bnx2x/bnx2x-e2-7.13.21.0.fw')).toBeUndefined();
    expect(leftOutReason('qed/qed_init_values_zipped-8.59.1.0.bin')).toBeUndefined();
  });
});

describe('firmwareCompression', () => {
  const dir = useTempDir('hook-fw-config-');

  const config = async (text: string) => {
    await writeFile(join(dir.path, '.config'), text);
    return join(dir.path, '.config');
  };

  it('prefers xz, then zstd, then plain files, as the kernel can load them', async () => {
    expect(await firmwareCompression(await config('CONFIG_FW_LOADER_COMPRESS=y\nCONFIG_FW_LOADER_COMPRESS_XZ=y\nCONFIG_FW_LOADER_COMPRESS_ZSTD=y\n'))).toBe('xz');
    expect(await firmwareCompression(await config('CONFIG_FW_LOADER_COMPRESS=y\n# CONFIG_FW_LOADER_COMPRESS_XZ is not set\nCONFIG_FW_LOADER_COMPRESS_ZSTD=y\n'))).toBe('zstd');
    expect(await firmwareCompression(await config('# CONFIG_FW_LOADER_COMPRESS is not set\n'))).toBe('none');
    expect(await firmwareCompression(undefined)).toBe('none');
  });
});

describe('firmwareReport', () => {
  it('lists what is stored with its package and size, and what is not with the reason', () => {
    const report = firmwareReport({
      packages: { 'firmware-qlogic': '20250410-2', 'firmware-bnx2x': '20250410-2' },
      files: [
        { file: 'qed/q.bin', modules: ['kernel/drivers/net/ethernet/qlogic/qed/qed.ko.xz'], package: 'firmware-qlogic', stored: 'qed/q.bin.xz', size: 2048 },
        { file: 'qed/alias.bin', modules: ['kernel/drivers/net/ethernet/qlogic/qed/qed.ko.xz'], package: 'firmware-qlogic', stored: 'qed/q.bin.xz', size: 2048 },
        { file: 'isci/isci_firmware.bin', modules: ['kernel/drivers/scsi/isci/isci.ko.xz'], missing: 'no package of Debian trixie non-free-firmware ships it' },
      ],
    });
    // A file under two names counts once.
    expect(report).toContain('3 files declared by the kept modules: 2 in lib/firmware/ (2.0 KiB), 1 missing.');
    expect(report).toContain('Debian packages: firmware-bnx2x 20250410-2, firmware-qlogic 20250410-2.');
    expect(report).toContain('| qed/q.bin | qed | qed/q.bin.xz (firmware-qlogic) | 2.0 KiB |');
    expect(report).toContain('| isci/isci_firmware.bin | isci | no package of Debian trixie non-free-firmware ships it |');
  });
});
