export * from './schema';
export * from './inventory';
export { suggest } from './validate';
