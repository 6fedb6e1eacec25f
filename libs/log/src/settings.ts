/**
 * Yes/no settings (upstream's DO_PUSH=yes style). Anything but yes or no is a mistake the user
 * must hear about: `DO_PUSH=true` once meant "no push" without a word.
 */
import { UserError } from './errors';

/** Every yes/no setting Hook reads, with its value when unset. */
export const YES_NO_SETTINGS = {
  DEBUG: 'no',
  DO_PUSH: 'no',
  DO_BUILD_LK_CONTAINERS: 'yes',
  EXPORT_LK_CONTAINERS: 'no',
  EXPORT_KERNEL_IMAGE: 'no',
  FORCE_BUILD_KERNEL: 'no',
  USE_LATEST_BUILT_KERNEL: 'no',
  HOOK_PULL_IMAGES: 'yes',
  LINUXKIT_ISO: 'no',
  OUTPUT_TARBALL_FILELIST: 'no',
  CCACHE: 'yes',
  DEBIAN_BACKPORTS: 'yes',
} as const;

export type YesNoSetting = keyof typeof YES_NO_SETTINGS;

/** The setting as a boolean: yes or no (any case), unset or empty means its default. */
export function yesNo(env: NodeJS.ProcessEnv, name: YesNoSetting): boolean {
  const raw = env[name];
  const value = raw === undefined || raw.trim() === '' ? YES_NO_SETTINGS[name] : raw.trim().toLowerCase();
  if (value === 'yes') return true;
  if (value === 'no') return false;
  throw new UserError(`${name} is '${raw}'; use yes or no`);
}

/** Checks every yes/no setting at once, so a typo stops a build before it starts. */
export function checkYesNoSettings(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(YES_NO_SETTINGS) as YesNoSetting[]) yesNo(env, name);
}
