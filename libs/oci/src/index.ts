export * from './types';
export * from './digest';
export * from './platform';
export * from './layout';
export * from './test-image';
export * from './reference';
