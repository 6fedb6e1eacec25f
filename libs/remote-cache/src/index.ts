export * from './cache-server';
export * from './workflows';
export * from './workspace-facts';
