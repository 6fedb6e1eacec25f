export * from './scripts';
export * from './hook-docker';
export * from './standin';
export * from './test-servers';
