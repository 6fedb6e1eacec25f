/**
 * Debian packages through apt with the host's mirror: a private apt state per suite and
 * architecture (lists and cache under CACHE_DIR), so any suite on the host's mirror (trixie,
 * trixie-backports ...) can be queried and downloaded, apt-verified, without touching the host's
 * apt configuration. The mirror URL comes from /etc/apt/sources.list(.d), never from the code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError, log } from '@hook/log';
import { run } from '@hook/process';
import { exists, tempDirBeside } from './files';
import { setting } from '@hook/settings';

const LISTS_MAX_AGE_MS = 2 * 60 * 60 * 1000;
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface AptSource {
  uri: string;
  suites: string[];
}

/** Parses one-line (`deb URI suite comps`) and deb822 (`URIs:`/`Suites:`) apt sources. */
export function parseAptSources(text: string, deb822: boolean): AptSource[] {
  const sources: AptSource[] = [];
  if (deb822) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) =>
        stanza
          .split('\n')
          .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
          ?.slice(name.length + 1)
          .trim();
      const types = field('Types') ?? '';
      const enabled = (field('Enabled') ?? 'yes').toLowerCase() !== 'no';
      const uris = field('URIs');
      if (!enabled || !types.split(/\s+/).includes('deb') || !uris) continue;
      const suites = (field('Suites') ?? '').split(/\s+/).filter(Boolean);
      for (const uri of uris.split(/\s+/)) sources.push({ uri, suites });
    }
    return sources;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (match) sources.push({ uri: match[1], suites: [match[2]] });
  }
  return sources;
}

/**
 * The host's Debian archive mirror: HOOK_DEBIAN_MIRROR when set, else the first configured source
 * that is not a security archive.
 */
export function hostDebianMirror(env: NodeJS.ProcessEnv = process.env, aptDir = '/etc/apt'): string {
  const configured = setting(env, 'HOOK_DEBIAN_MIRROR');
  if (configured) return configured.replace(/\/+$/, '');
  const sources: AptSource[] = [];
  const read = (path: string, deb822: boolean) => {
    try {
      sources.push(...parseAptSources(readFileSync(path, 'utf8'), deb822));
    } catch {
      // missing file: nothing configured there
    }
  };
  read(join(aptDir, 'sources.list'), false);
  let parts: string[] = [];
  try {
    parts = readdirSync(join(aptDir, 'sources.list.d')).sort();
  } catch {
    parts = [];
  }
  for (const name of parts) {
    if (name.endsWith('.list')) read(join(aptDir, 'sources.list.d', name), false);
    if (name.endsWith('.sources')) read(join(aptDir, 'sources.list.d', name), true);
  }
  const archive = sources.find(
    (s) => /^https?:/.test(s.uri) && !s.suites.some((suite) => suite.includes('security')) && !/security/.test(s.uri),
  );
  if (!archive) {
    throw new UserError('No Debian mirror found in /etc/apt/sources.list(.d); set HOOK_DEBIAN_MIRROR to your Debian archive URL');
  }
  return archive.uri.replace(/\/+$/, '');
}

export interface AptVersion {
  version: string;
  /** e.g. `trixie/main` or `trixie-backports/main`. */
  origin: string;
}

/** A private apt state for one Debian suite and architecture on the host's mirror. */
export class AptSuite {
  readonly dir: string;

  constructor(
    cacheDir: string,
    readonly suite: string,
    readonly debArch: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Archive components, e.g. ['main', 'non-free-firmware'] for raspi-firmware. */
    readonly components: string[] = ['main'],
    /** Also fetch each component's Contents-all index (which package ships which file; see contents()). */
    readonly withContents = false,
  ) {
    // Another component set is another package index: it gets its own state folder.
    const extra = components.filter((c) => c !== 'main');
    this.dir = join(cacheDir, 'apt', [`${suite}-${debArch}`, ...extra, ...(withContents ? ['contents'] : [])].join('+'));
  }

  /** Suites to configure: the suite, plus its backports for stable releases. */
  suites(): string[] {
    // A Contents index is for the release's own packages (firmware): backports' are not wanted.
    if (this.withContents) return [this.suite];
    const noBackports = ['sid', 'unstable', 'experimental'].includes(this.suite) || this.suite.includes('-') || !setting(this.env, 'DEBIAN_BACKPORTS');
    return noBackports ? [this.suite] : [this.suite, `${this.suite}-backports`];
  }

  private options(): string[] {
    const d = this.dir;
    return [
      '-q',
      '-o', `Dir::Etc::SourceList=${join(d, 'sources.list')}`,
      '-o', `Dir::Etc::SourceParts=${join(d, 'empty')}`,
      '-o', `Dir::Etc::Preferences=${join(d, 'empty', 'preferences')}`,
      '-o', `Dir::Etc::PreferencesParts=${join(d, 'empty')}`,
      '-o', `Dir::State::Lists=${join(d, 'lists')}`,
      '-o', `Dir::State::Status=${join(d, 'status')}`,
      '-o', `Dir::Cache=${join(d, 'cache')}`,
      '-o', `APT::Architecture=${this.debArch}`,
      '-o', `APT::Architectures=${this.debArch}`,
      '-o', 'APT::Sandbox::User=root',
      '-o', 'Acquire::Retries=2',
      // Contents-all only (arch-independent packages such as firmware): apt verifies it against
      // the signed InRelease like a Packages index. (Contents-<arch> is not needed.)
      ...(this.withContents
        ? ['-o', 'Acquire::IndexTargets::deb::Contents-all::MetaKey=$(COMPONENT)/Contents-all', '-o', 'Acquire::IndexTargets::deb::Contents-all::ShortDescription=Contents-all', '-o', 'Acquire::IndexTargets::deb::Contents-all::Description=$(RELEASE)/$(COMPONENT) Contents-all']
        : []),
    ];
  }

  /**
   * Which package ships each file of the suite's arch-independent packages, from the components'
   * Contents-all indexes (needs withContents; the suite only, no backports): path without a
   * leading slash -> package name.
   */
  async contents(): Promise<Map<string, string>> {
    if (!this.withContents) throw new Error('AptSuite.contents() needs an AptSuite made with withContents');
    await this.update();
    const lists = join(this.dir, 'lists');
    const files = (await readdir(lists)).filter((name) => /_Contents-all(\.[a-z0-9]+)?$/.test(name));
    if (files.length === 0) throw new UserError(`apt fetched no Contents-all index for ${this.suite} ${this.components.join(' ')}; delete ${this.dir} and try again`);
    const index = new Map<string, string>();
    for (const file of files) {
      // apt-helper reads whatever compression apt chose to keep the index in.
      const text = (await run('/usr/lib/apt/apt-helper', ['cat-file', join(lists, file)])).stdout;
      for (const line of text.split('\n')) {
        const match = /^(.*\S)\s+(\S+)$/.exec(line);
        if (match) index.set(match[1], match[2].split(',')[0].split('/').pop() as string);
      }
    }
    return index;
  }

  /** Runs `apt-get update` for this suite unless its lists are younger than two hours. */
  async update(force = false): Promise<void> {
    const stamp = join(this.dir, 'updated');
    const fresh = await stat(stamp).then(
      (s) => Date.now() - s.mtimeMs < LISTS_MAX_AGE_MS,
      () => false,
    );
    if (fresh && !force) return;
    const mirror = hostDebianMirror(this.env);
    for (const sub of ['lists/partial', 'cache/archives/partial', 'empty']) await mkdir(join(this.dir, sub), { recursive: true });
    const signedBy = (await exists(DEBIAN_KEYRING)) ? `[signed-by=${DEBIAN_KEYRING}] ` : '';
    const lines = this.suites().map((suite) => `deb ${signedBy}${mirror} ${suite} ${this.components.join(' ')}`);
    await writeFile(join(this.dir, 'sources.list'), `${lines.join('\n')}\n`);
    await writeFile(join(this.dir, 'status'), '');
    log.info(`apt: updating package lists for ${this.suites().join(', ')} (${this.debArch})`);
    const result = await run('apt-get', [...this.options(), 'update'], { allowFailure: true, timeoutMs: 300_000 });
    const failed = result.exitCode !== 0 || /^(E:|Err:)/m.test(result.stdout + result.stderr);
    if (failed) {
      const why = (result.stderr || result.stdout).split('\n').filter((l) => /^(E:|Err:|W:)/.test(l)).slice(0, 2).join(' ');
      throw new UserError(`apt could not read Debian suite '${this.suite}' from ${mirror}: ${why || `exit ${result.exitCode}`}; check DEBIAN_SUITE and the network`);
    }
    await writeFile(stamp, new Date().toISOString());
  }

  /** All versions apt knows of a package, newest first (empty when unknown). */
  async versions(pkg: string): Promise<AptVersion[]> {
    await this.update();
    const result = await run('apt-cache', [...this.options(), 'madison', pkg], { allowFailure: true });
    return result.stdout
      .split('\n')
      .map((line) => line.split('|').map((f) => f.trim()))
      .filter((f) => f.length >= 3 && f[0] === pkg)
      .map((f) => ({ version: f[1], origin: f[2].split(/\s+/)[1] ?? f[2] }));
  }

  /** The version apt would install (the suite's own, not backports, unless only backports has it). */
  async candidate(pkg: string): Promise<string | undefined> {
    await this.update();
    const result = await run('apt-cache', [...this.options(), 'policy', pkg], { allowFailure: true });
    const match = /Candidate:\s*(\S+)/.exec(result.stdout);
    if (match && match[1] !== '(none)') return match[1];
    return (await this.versions(pkg))[0]?.version;
  }

  /** The `Depends:` package names of a package version. */
  async depends(pkg: string, version: string): Promise<string[]> {
    await this.update();
    const result = await run('apt-cache', [...this.options(), 'show', `${pkg}=${version}`], { allowFailure: true });
    const line = /^Depends:\s*(.*)$/m.exec(result.stdout)?.[1] ?? '';
    return line
      .split(',')
      .map((d) => d.split('|')[0].trim().split(/[\s(]/)[0])
      .filter(Boolean);
  }

  /**
   * Downloads `pkg=version` (apt verifies it against the signed suite index) into
   * `downloadsDir`, once; returns the .deb path.
   */
  async download(pkg: string, version: string, downloadsDir: string): Promise<string> {
    await mkdir(downloadsDir, { recursive: true });
    const cached = await findDeb(downloadsDir, pkg, version);
    if (cached) return cached;
    await this.update();
    const temp = await tempDirBeside(join(downloadsDir, pkg));
    try {
      log.info(`apt: downloading ${pkg} ${version} (${this.suite}, ${this.debArch})`);
      const result = await run('apt-get', [...this.options(), 'download', `${pkg}=${version}`], { cwd: temp, allowFailure: true, timeoutMs: 1_800_000 });
      const fetched = await findDeb(temp, pkg, version);
      if (result.exitCode !== 0 || !fetched) {
        const why = (result.stderr || result.stdout).split('\n').filter((l) => /^E:/.test(l))[0] ?? `exit ${result.exitCode}`;
        throw new UserError(`apt could not download ${pkg}=${version} from suite ${this.suite}: ${why}`);
      }
      const target = join(downloadsDir, fetched.slice(temp.length + 1));
      await rename(fetched, target);
      return target;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
}

/** apt names downloads `<pkg>_<version with : as %3a>_<arch>.deb`. */
async function findDeb(dir: string, pkg: string, version: string): Promise<string | undefined> {
  const prefix = `${pkg}_${version.replace(/:/g, '%3a')}_`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const name = names.find((n) => n.startsWith(prefix) && n.endsWith('.deb'));
  return name ? join(dir, name) : undefined;
}
