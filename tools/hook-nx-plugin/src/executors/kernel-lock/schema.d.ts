export interface KernelLockSchema {
  /** Kernel id (folder under kernel/). */
  kernel: string;
}
