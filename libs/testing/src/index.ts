export * from './registry';
export * from './browser';
