import type { FlavorFormat, InitramfsProfile } from '@hook/hookos';
import type { Backend } from '@hook/linuxkit';

export interface LinuxkitBuildSchema {
  /** Flavor id (folder under flavors/). */
  flavor: string;
  format?: FlavorFormat;
  /** native (default) or linuxkit; HOOK_LINUXKIT_BACKEND wins over it. */
  backend?: Backend;
  /** release (default) or development (zstd -9); HOOK_INITRAMFS_LEVEL wins over it. */
  initramfs?: InitramfsProfile;
}
