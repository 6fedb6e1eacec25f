export interface KernelCheckSchema {
  /** Kernel id (folder under kernel/). */
  kernel: string;
}
