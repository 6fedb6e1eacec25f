export {
  acceleratorOption,
  qemuCommandLine,
  tinkerbellCmdline,
  upstreamRunOptions,
  serialConsole,
  usesUefi,
} from './command';
export type { Accelerator, GuestForward, HostForward, MachineFiles, MachineOptions, QemuArch, QemuCommand } from './command';
export { prepareMachine } from './machine';
export { bootAndWait, chooseAccelerator, cpuCanVirtualize, probeKvm } from './boot';
export { firmwareOf, netbootOf, runFlavor, runInteractive, type Firmware, type FlavorRunOptions, type InteractiveOptions } from './interactive';
export { smeeHookScript, smeeKernelParams, smeeValuesFromEnv, type SmeeScriptValues } from './ipxe-script';
export { describeDownload, parseListen, startNetbootServer, type NetbootServer, type NetbootServerOptions, type ServedRequest } from './netboot-server';
export { NETBOOT_DEFAULT_MAC, NETBOOT_HTTP_ADDRESS, NETBOOT_SCRIPT_NAME, prepareNetboot, type Netboot, type NetbootOptions } from './netboot';
export { serveFlavor, type ServeFlavorOptions } from './serve';
export type { BootOptions, BootResult } from './boot';
export { GuestSession, GuestTimeout } from './session';
export type { SessionOptions } from './session';
// Test fixtures (a real kernel, a tiny initramfs) are in @hook/qemu/testing.
