/**
 * A page opened in Debian's headless Chromium, as a person's browser would show it: the DOM after
 * its scripts ran, and optionally a screenshot. Debian package: chromium (scripts/setup.sh).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run } from '@hook/process';

export const CHROMIUM = '/usr/bin/chromium';

export interface OpenedPage {
  /** The DOM after the page's scripts ran (Chromium's --dump-dom). */
  dom: string;
}

/**
 * Opens `file` (with `hash`, e.g. `#q=1077:8070`) in headless Chromium; writes a screenshot to
 * `screenshot` when given. Fails naming the package when Chromium is missing.
 */
export async function openPage(file: string, options: { hash?: string; screenshot?: string; width?: number; height?: number } = {}): Promise<OpenedPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh installs it)`);
  const url = `${pathToFileURL(file).href}${options.hash ?? ''}`;
  // Its own profile, no sandbox (tests run as root), no GPU; the virtual time budget lets the
  // page's scripts finish before the DOM is read.
  const profile = await mkdtemp(join(tmpdir(), 'hook-chromium-'));
  const common = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--virtual-time-budget=5000', `--window-size=${options.width ?? 1280},${options.height ?? 1800}`];
  try {
    const { stdout } = await run(CHROMIUM, [...common, '--dump-dom', url], { timeoutMs: 120_000 });
    if (options.screenshot) await run(CHROMIUM, [...common, `--screenshot=${options.screenshot}`, url], { timeoutMs: 120_000 });
    return { dom: stdout };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}
