export type { EntryType, FsEntry } from './entry';
export {
  writeInitramfs,
  resolveEpoch,
  DEFAULT_ZSTD_LEVEL,
  DEVELOPMENT_ZSTD_LEVEL,
  DEFAULT_LONG_WINDOW,
  MAX_LONG_WINDOW,
  DEFAULT_GZIP_LEVEL,
  type Compression,
  type InitramfsOptions,
  type InitramfsResult,
  type EntryCounts,
  type DedupeFigures,
} from './writer';
export { sizeReport, TMPFS_RISK_BYTES, type SizeReport, type SizeReportOptions } from './report';
export type { SizeData, DirectorySize, LargeFile, OriginSize } from './size-data';
export { decodeHeader, encodeHeader, type NewcHeader } from './cpio';
export { readNewcArchive } from './cpio-reader';
