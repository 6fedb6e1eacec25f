/**
 * HOOK_DEBUG_SSH=<authorized_keys file>: a debug HookOS with sshd. The flavor's LinuxKit YAML
 * gets the services and files of linuxkit-templates/debug-ssh.yaml, and the keys become
 * /root/.ssh/authorized_keys. Without the setting nothing of it is in the image. The fragment's
 * images are dependencies of every flavor (built and cached either way), so switching needs no
 * other build first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '@hook/log';
import { DEBUG_SSH_FRAGMENT } from '@hook/inventory';

export { DEBUG_SSH_FRAGMENT };

/** The keys of an authorized_keys file, checked: one line saying what is wrong otherwise. */
export function readAuthorizedKeys(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`HOOK_DEBUG_SSH: cannot read '${path}' (${(error as NodeJS.ErrnoException).code ?? 'error'}); give the path of an authorized_keys file, e.g. HOOK_DEBUG_SSH=$HOME/.ssh/id_ed25519.pub`);
  }
  const keys = text.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const bad = keys.find((line) => !/^(\S+ )?(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(line));
  if (keys.length === 0 || bad) {
    throw new UserError(`HOOK_DEBUG_SSH: '${path}' is not an authorized_keys file${bad ? ` (line '${bad.slice(0, 40)}...')` : ' (no key in it)'}; give a public key file such as ~/.ssh/id_ed25519.pub`);
  }
  return `${keys.join('\n')}\n`;
}

/**
 * The template text with the debug fragment's services and files added, and the keys as
 * /root/.ssh/authorized_keys; the template's own text (its 1024-character cmdline) is kept.
 */
export function withDebugSsh(workspaceRoot: string, templateText: string, templateFile: string, keysPath: string): string {
  const keys = readAuthorizedKeys(keysPath);
  const fragmentPath = join(workspaceRoot, DEBUG_SSH_FRAGMENT);
  if (!existsSync(fragmentPath)) throw new UserError(`HOOK_DEBUG_SSH: ${DEBUG_SSH_FRAGMENT} is missing from the workspace`);
  const fragment = parseDocument(readFileSync(fragmentPath, 'utf8')).toJS() as { services?: unknown[]; files?: unknown[] };
  const document = parseDocument(templateText);
  if (document.errors.length > 0) throw new UserError(`${templateFile}: ${document.errors[0].message}`);
  for (const key of ['services', 'files'] as const) {
    const items = [...(fragment[key] ?? [])];
    if (key === 'files') items.push({ path: 'root/.ssh/authorized_keys', mode: '0600', contents: keys });
    if (!document.has(key)) document.set(key, document.createNode([]));
    for (const item of items) document.addIn([key], document.createNode(item));
  }
  return document.toString({ lineWidth: 0 });
}
