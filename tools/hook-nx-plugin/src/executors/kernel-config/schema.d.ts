export interface KernelConfigSchema {
  /** Kernel id (folder under kernel/). */
  kernel: string;
  mode: 'menuconfig' | 'shell';
}
