export {
  qemuCommandLine,
  tinkerbellCmdline,
  upstreamRunOptions,
  serialConsole,
  usesUefi,
} from './command';
export type { Accelerator, HostForward, MachineFiles, MachineOptions, QemuArch, QemuCommand } from './command';
export { prepareMachine } from './machine';
export { bootAndWait, chooseAccelerator, probeKvm, hostArch } from './boot';
export type { BootOptions, BootResult } from './boot';
// Test fixtures other libraries' integration tests share (a real kernel, a tiny initramfs).
export { debianTestKernel, testCacheDir } from './testing/debian-kernel';
export { writeTinyInitramfs, CMDLINE_PREFIX, STATIC_BUSYBOX } from './testing/tiny-initramfs';
export type { TinyInitramfsOptions } from './testing/tiny-initramfs';
