/**
 * Who may do what: `<dir>/tokens/rw` and `<dir>/tokens/ro` hold one token a line (several lines
 * let a site revoke one leaked token alone). A request names its token as `Authorization: Bearer
 * <token>`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SetupError } from './setup-error';

export type Role = 'rw' | 'ro';
const ROLES: readonly Role[] = ['rw', 'ro'];
const TOKEN = /^[A-Za-z0-9._~+/=-]+$/;

export class Tokens {
  private constructor(private readonly roles: ReadonlyMap<string, Role>) {}

  static async load(dir: string): Promise<Tokens> {
    const roles = new Map<string, Role>();
    for (const role of ROLES) {
      const file = join(dir, 'tokens', role);
      const text = await readFile(file, 'utf8').catch(() => {
        throw new SetupError(`cache-server: ${file} is missing; it holds the ${role === 'rw' ? 'read-write' : 'read-only'} tokens, one a line`);
      });
      const tokens = text.split('\n').map((line) => line.trim()).filter(Boolean);
      if (tokens.length === 0) throw new SetupError(`cache-server: ${file} holds no token`);
      for (const token of tokens) {
        if (!TOKEN.test(token)) throw new SetupError(`cache-server: a token in ${file} has characters other than letters, digits and ._~+/=-`);
        const key = fingerprint(token);
        if (roles.has(key) && roles.get(key) !== role) throw new SetupError('cache-server: the read-write and the read-only token must differ (one token is in both tokens/rw and tokens/ro)');
        roles.set(key, role);
      }
    }
    return new Tokens(roles);
  }

  /** The role of an Authorization header's bearer token; undefined for none or an unknown one. */
  roleOf(authorization: string | undefined): Role | undefined {
    const token = /^Bearer ([^\s]+)$/.exec(authorization ?? '')?.[1];
    return token === undefined ? undefined : this.roles.get(fingerprint(token));
  }
}

// Looking tokens up by their sha256 keeps the lookup's timing independent of how much of a
// guessed token is right.
function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
