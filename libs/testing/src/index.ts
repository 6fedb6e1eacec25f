export * from './registry';
export * from './browser';
export * from './temp-dir';
