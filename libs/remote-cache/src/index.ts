export * from './cache-server';
export * from './clone';
export * from './workflows';
export * from './workspace-facts';
