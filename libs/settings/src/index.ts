export { choice, list, path, text, whole, yesNo, type HashKind, type SettingDefinition, type SettingGroup } from './kinds';
export { DEFAULT_ARMBIAN_OCI_BASE, DEFAULT_KERNEL_OCI_BASE, DEFAULT_LK_CONTAINERS_OCI_BASE, DEFAULT_TINK_WORKER_IMAGE, LINUXKIT_EPOCH, SETTINGS, type SettingName } from './registry';
export {
  GROUP_TITLES,
  checkSettings,
  definitionOf,
  envInputs,
  familySetting,
  hashedSettings,
  isSet,
  isSettingName,
  setting,
  settingNames,
  settingsListing,
  settingsMarkdown,
  type SettingValue,
} from './read';
