export interface KernelBuildSchema {
  kernel: string;
}
