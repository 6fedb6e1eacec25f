import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '@hook/log';
import { checkSettings, familySetting, hashedSettings, isSettingName, setting, settingNames, settingsListing, settingsMarkdown } from './read';
import { SETTINGS } from './registry';

const ROOT = join(__dirname, '../../..');

/**
 * Variables Hook reads that are not its settings (the README of this library says why):
 * the logger reads its own before any setting is parsed; the rest belong to the system, Docker
 * and GitHub, and are read as their own tools read them.
 */
const NOT_SETTINGS = new Set([
  'DEBUG', 'NO_COLOR', 'GITHUB_ACTIONS', // @hook/log
  'PATH', 'HOME', 'SHELL',
  'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH',
  'GITHUB_OUTPUT',
]);

/** Reads by a name made at run time, each with its reason (an env object that is not the settings' environment is not listed: the scan only sees `env[...]`). */
const DYNAMIC_READS = new Set([
  'apps/hook-cli/src/main.ts: const before = ctx.env[name];', // logs the old value of a KEY=VALUE it applies
]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every read of an environment variable outside this library, as `file:line: NAME`. */
function environmentReads(): { where: string; name: string; line: string }[] {
  const reads: { where: string; name: string; line: string }[] = [];
  const files = ['libs', 'apps', 'tools', 'bench'].flatMap((d) => sourceFiles(join(ROOT, d))).filter((f) => !f.startsWith(join(ROOT, 'libs/settings/')));
  for (const file of files) {
    const rel = relative(ROOT, file);
    // Tests read the environment only through process.env; other `env` objects in tests are a
    // command's or a container's environment under test.
    const isTest = /\.spec\.ts$/.test(file);
    const named = isTest ? /process\.env(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g : /\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g;
    readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
      for (const match of line.matchAll(named)) {
        const after = line.slice(match.index! + match[0].length);
        const before = line.slice(0, match.index);
        if (/^\s*=[^=]/.test(after) || /delete\s+[\w.]*$/.test(before)) continue; // a write
        reads.push({ where: `${rel}:${index + 1}`, name: match[1] ?? match[2], line: line.trim() });
      }
      if (!isTest && /\benv\[[a-z]\w*\]/.test(line) && !/\benv\[[a-z]\w*\]\s*=[^=]/.test(line)) reads.push({ where: `${rel}:${index + 1}`, name: '(dynamic)', line: `${rel}: ${line.trim()}` });
    });
  }
  return reads;
}

describe('the settings registry', () => {
  it('reads each kind: yes/no, whole numbers in range, choices, text with a pattern, lists; blank means the default', () => {
    expect(setting({ DO_PUSH: 'Yes' }, 'DO_PUSH')).toBe(true);
    expect(setting({ DO_PUSH: ' ' }, 'DO_PUSH')).toBe(false);
    expect(setting({ HOOK_PULL_IMAGES: '' }, 'HOOK_PULL_IMAGES')).toBe(true);
    expect(setting({}, 'HOOK_INITRAMFS_LEVEL')).toBeUndefined();
    expect(setting({ HOOK_INITRAMFS_LEVEL: ' 9 ' }, 'HOOK_INITRAMFS_LEVEL')).toBe(9);
    expect(setting({}, 'TINK_GRPC_PORT')).toBe(42113);
    expect(setting({ HOOK_INITRAMFS_COMPRESSION: 'GZIP' }, 'HOOK_INITRAMFS_COMPRESSION')).toBe('gzip');
    expect(setting({}, 'HOOK_VERSION')).toBe('0.11.1');
    expect(setting({ CI_TAGS: 'a, b  c' }, 'CI_TAGS')).toEqual(['a', 'b', 'c']);
    expect(setting({}, 'CI_TAGS')).toEqual(['standard', 'dev', 'armbian-sbc', 'armbian-uefi']);
    expect(familySetting({ CI_RUNNER_HOOK_ARM64: 'big' }, 'CI_RUNNER', 'CI_RUNNER_HOOK_ARM64')).toBe('big');
  });

  it.each([
    [{ DO_PUSH: 'true' }, 'DO_PUSH', "DO_PUSH is 'true'; use yes or no"],
    [{ HOOK_INITRAMFS_LEVEL: '9x' }, 'HOOK_INITRAMFS_LEVEL', "HOOK_INITRAMFS_LEVEL is '9x'; use a whole number, 1..22"],
    [{ HOOK_INITRAMFS_LONG: '28' }, 'HOOK_INITRAMFS_LONG', "HOOK_INITRAMFS_LONG is '28'; use a whole number, 0..27"],
    [{ HOOK_INITRAMFS_COMPRESSION: 'xz' }, 'HOOK_INITRAMFS_COMPRESSION', "HOOK_INITRAMFS_COMPRESSION is 'xz'; use zstd, gzip or none"],
    [{ FIRMWARE: 'coreboot' }, 'FIRMWARE', "FIRMWARE is 'coreboot'; use uefi (OVMF) or bios (SeaBIOS)"],
    [{ MAC: '52:54:00' }, 'MAC', "MAC is '52:54:00'; use a MAC address like 52:54:00:12:34:56"],
  ] as [NodeJS.ProcessEnv, Parameters<typeof setting>[1], string][])('%j is one line naming the setting and what it takes', (env, name, message) => {
    expect(() => setting(env, name)).toThrow(new UserError(message));
  });

  it('checks the yes/no settings and the given ones up front, not a MAC an unrelated environment holds', () => {
    expect(() => checkSettings({ DEBUG: 'on' })).toThrow("DEBUG is 'on'; use yes or no");
    expect(() => checkSettings({ MAC: 'x', PATH: '/bin' })).not.toThrow();
    expect(() => checkSettings({ MAC: 'x' }, ['MAC'])).toThrow("MAC is 'x'");
  });

  it('has one doc line, a group and a known hash kind for every setting', () => {
    for (const name of settingNames()) {
      const d = SETTINGS[name];
      expect([name, d.doc]).toEqual([name, expect.stringMatching(/^[^\n]{10,400}$/)]);
      expect(name).toMatch(/^[A-Z][A-Z0-9_]+$/);
    }
  });

  it('is where every setting read in libs/, apps/, tools/ and bench/ is declared (the others are named with their reason)', () => {
    const reads = environmentReads();
    const stray = reads.filter((r) => r.name === '(dynamic)' ? !DYNAMIC_READS.has(r.line) : !isSettingName(r.name) && !NOT_SETTINGS.has(r.name));
    expect(stray.map((r) => `${r.where}: ${r.name}`)).toEqual([]);
    // Registered settings are read through setting(), never directly.
    const direct = reads.filter((r) => isSettingName(r.name) && !NOT_SETTINGS.has(r.name));
    expect(direct.map((r) => `${r.where}: ${r.line}`)).toEqual([]);
  });

  it("puts exactly the 'test' settings in nx.json's jestRun input", () => {
    const nx = JSON.parse(readFileSync(join(ROOT, 'nx.json'), 'utf8'));
    const inJestRun = (nx.namedInputs.jestRun as unknown[]).flatMap((i) => (typeof i === 'object' && i && 'env' in i ? [(i as { env: string }).env] : []));
    expect(inJestRun.sort()).toEqual(hashedSettings('test').sort());
  });

  it("matches the README's configuration tables", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('<!-- settings:start -->');
    const end = readme.indexOf('<!-- settings:end -->');
    expect([start, end].every((i) => i > 0)).toBe(true);
    const tables = readme.slice(start + '<!-- settings:start -->'.length, end).trim();
    // Regenerate with: npx ts-node ... or `./hook settings --markdown`.
    expect(tables).toBe(settingsMarkdown().trim());
  });

  it('lists every setting for `hook settings`, with the value set here or the default, and hides passwords', () => {
    const text = settingsListing({ HOOK_VERSION: '9.9', HOOK_REGISTRY_PASSWORD: 'secret' });
    for (const name of settingNames()) expect(text).toContain(`  ${name}`);
    expect(text).toContain('HOOK_VERSION=9.9');
    expect(text).toContain('HOOK_INITRAMFS_COMPRESSION (default: zstd)');
    expect(text).not.toContain('secret');
  });
});
