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
export { runFlavor, runInteractive, type FlavorRunOptions } from './interactive';
export type { BootOptions, BootResult } from './boot';
export { GuestSession, GuestTimeout } from './session';
export type { SessionOptions } from './session';
// Test fixtures (a real kernel, a tiny initramfs) are in @hook/qemu/testing.
