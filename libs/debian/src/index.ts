export { AptSuite, hostDebianMirror, parseAptSources, type AptSource, type AptVersion } from './apt';
export { extractDebData, readArMembers, type ArMember } from './deb';
export { unpackTar, memberPath, type EntryFilter } from './tar';
export { exists, tempDirBeside } from './files';
export { unpackedPackage, unpackedPackageOf, hostDebianSuite, UNPACKED_PACKAGE_FILE, type UnpackedPackage, type UnpackedPackageRequest } from './unpacked';
