export { buildKernelTarget, publishKernelTarget, configureKernel, refreshKernelLock, checkKernelConfigTarget, findKernel, type KernelTargetOptions } from './target';
export { readLock, writeLock, seriesKey, LOCK_FILE, type VersionsLock, type SeriesLock } from './lock';
export { INSTALLER_POLICY, ARMBIAN_POLICY, installerPolicy, type ModulePolicy, type TrimReport } from './modules';
export { kernelDistDir, kernelOciBase } from './paths';
export { sourceKernelTag, BUILD_RECIPE } from './tag';
export { checkAllKernelConfigs, checkKernelConfig, reportConfigCheck, type ConfigCheckReport } from './config-check';
export { readRequiredList, parseRequiredList, REQUIRED_FILE, type Requirement, type RequiredList } from './kconfig';
export { declaredFirmware, firmwareFileNames, leftOutReason, wantsFirmware, FIRMWARE_REPORT, type FirmwareFile, type FirmwarePlan } from './firmware';
export { HARDWARE_INDEX } from './hardware';
