/**
 * kernel.org verification: sha256sums.asc is a clearsigned list of checksums. gpgv checks its
 * signature against the committed kernel.org keys (a temp keyring, never the user's), then the
 * tarball's sha256 must match its line.
 */
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '@hook/log';
import { run, makeTempDir } from '@hook/process';
import { sha256File } from './files';

/** Returns the verified text of a clearsigned file, or throws a UserError. */
export async function verifyClearsigned(signedPath: string, armoredKeys: string): Promise<string> {
  const home = await makeTempDir('gpg');
  try {
    const keyring = join(home, 'keyring.gpg');
    await run('gpg', ['--batch', '--quiet', '--homedir', home, '--dearmor', '--output', keyring, armoredKeys]);
    const verified = join(home, 'verified.txt');
    const result = await run('gpgv', ['--homedir', home, '--keyring', keyring, '--output', verified, signedPath], { allowFailure: true });
    if (result.exitCode !== 0) {
      const why = result.stderr.split('\n').find((l) => /BAD signature|No public key|no valid OpenPGP|not a detached|verify signatures failed/i.test(l));
      throw new UserError(
        `PGP signature check of ${basename(signedPath)} failed${why ? ` (${why.replace(/^gpgv:\s*/, '').trim()})` : ''}: the download was tampered with or not signed by a key in ${armoredKeys}; delete it and retry, or use another KERNEL_SOURCE`,
      );
    }
    return await readFile(verified, 'utf8');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Checks `filePath` against its line (`<sha256>  <fileName>`) in a verified sums text. */
export async function verifyChecksum(sumsText: string, fileName: string, filePath: string): Promise<void> {
  const line = sumsText.split('\n').find((l) => l.trim().split(/\s+/)[1]?.replace(/^\*/, '') === fileName);
  if (!line) throw new UserError(`${fileName} is not listed in sha256sums.asc; check the kernel version`);
  const expected = line.trim().split(/\s+/)[0].toLowerCase();
  const actual = await sha256File(filePath);
  if (actual !== expected) {
    throw new UserError(`${fileName} is corrupted: sha256 ${actual.slice(0, 16)}… does not match the signed ${expected.slice(0, 16)}…; it was deleted, retry the download`);
  }
}
