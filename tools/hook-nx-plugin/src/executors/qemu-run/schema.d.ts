export interface QemuRunSchema {
  /** Flavor id (folder under flavors/). */
  flavor: string;
}
