export interface KernelPublishSchema {
  /** Kernel id (folder under kernel/). */
  kernel: string;
}
