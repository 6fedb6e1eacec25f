import { join } from 'node:path';
import { parseDockerCheckOutput } from './docker-check-config';
import { formatKconfig, parseKconfig, parseRequiredList, readRequiredList, skipRuleFor } from './kconfig';

const REPO_ROOT = join(__dirname, '../../..');

describe('kernel config files', () => {
  it('reads set, module, unset and valued options, and writes them back', () => {
    const values = parseKconfig('# comment\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=32\nCONFIG_E="x y"\n');
    expect([...values]).toEqual([
      ['A', 'y'],
      ['B', 'm'],
      ['C', 'n'],
      ['D', '32'],
      ['E', '"x y"'],
    ]);
    expect(parseKconfig(formatKconfig(values))).toEqual(values);
  });
});

describe('kernel/configs/required.yaml', () => {
  it('is valid: every option has a need and a one-line reason, and the consoles and Docker basics are listed', async () => {
    const list = await readRequiredList(REPO_ROOT);
    const names = list.options.map((o) => `${o.option}${o.arch ? `/${o.arch}` : ''}`);
    expect(names).toEqual(expect.arrayContaining(['SERIAL_8250_CONSOLE/x86_64', 'SERIAL_AMBA_PL011_CONSOLE/aarch64', 'VT_CONSOLE', 'RD_ZSTD', 'DEVTMPFS', 'OVERLAY_FS', 'CGROUPS', 'BRIDGE', 'VLAN_8021Q', 'EFI_STUB', 'KEXEC', 'IKCONFIG_PROC']));
    for (const option of list.options) expect(option.reason.length).toBeGreaterThan(10);
    expect(skipRuleFor(list, 'tiny-6.12.y-x86_64')?.reason).toMatch(/test kernels/);
    expect(skipRuleFor(list, 'generic-6.12.y-x86_64')).toBeUndefined();
  });

  it('names the entry and the fix when an entry is wrong', () => {
    expect(() => parseRequiredList('options:\n  - option: FOO\n    need: yes\n    reason: x\n')).toThrow(
      'kernel/configs/required.yaml: options entry 1 (FOO): need must be builtin (=y) or module-ok (=y or =m)',
    );
    expect(() => parseRequiredList('options:\n  - option: FOO\n    need: builtin\n    reasn: typo\n')).toThrow("options entry 1 (FOO): unknown field 'reasn'");
    expect(() => parseRequiredList('options:\n  - option: CONFIG_FOO\n    need: builtin\n    reason: x\n')).toThrow('option must be a Kconfig symbol without CONFIG_');
    expect(() => parseRequiredList('options:\n  - option: FOO\n    need: builtin\n    arch: arm64\n    reason: x\n')).toThrow('arch must be x86_64 or aarch64');
    expect(() => parseRequiredList('options:\n  - option: FOO\n    need: builtin\n    reason: a: b\n')).toThrow(/required\.yaml: .*line 4/);
  });
});

describe("Docker's check-config.sh output", () => {
  it('takes the Generally Necessary options only, ignoring host checks and colours', async () => {
    const output = [
      'info: reading kernel config from /tmp/x ...',
      '',
      'Generally Necessary:',
      '- cgroup hierarchy: properly mounted [/sys/fs/cgroup]',
      '- \x1b[1mCONFIG_NAMESPACES\x1b[0m: \x1b[32menabled\x1b[0m',
      '- CONFIG_VETH: enabled (as module)',
      '- CONFIG_BRIDGE: \x1b[1;31mmissing\x1b[0m',
      '',
      'Optional Features:',
      '- CONFIG_USER_NS: missing',
    ].join('\n');
    expect(parseDockerCheckOutput(output)).toEqual({ necessary: ['NAMESPACES', 'VETH', 'BRIDGE'], missing: ['BRIDGE'] });
  });
});
