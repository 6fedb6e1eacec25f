/**
 * Test fixtures other libraries' integration tests and the benchmarks share (import from
 * @hook/qemu/testing, never from production code): a real Debian kernel and a tiny busybox
 * initramfs that prints the kernel command line and a marker.
 */
import { processRuns } from '@hook/process';

export { debianTestKernel, testCacheDir } from './debian-kernel';
export { writeTinyInitramfs, CMDLINE_PREFIX, STATIC_BUSYBOX } from './tiny-initramfs';
export type { TinyInitramfsOptions } from './tiny-initramfs';

/** True while a process with this id exists (a test checks that QEMU is gone). */
export function isRunning(pid: number | undefined): boolean {
  return pid !== undefined && processRuns(pid);
}
