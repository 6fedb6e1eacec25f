export interface BootableMediaSchema {
  /** Flavor id (folder under flavors/). */
  flavor: string;
  /** One of the flavor's BOOTABLES ids. */
  bootable: string;
}
