export interface KernelBuildSchema {
  /** Kernel id (folder under kernel/). */
  kernel: string;
}
