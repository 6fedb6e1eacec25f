export * from './schema';
export * from './inventory';
export * from './resolve';
export * from './media';
export { suggest } from '@hook/log';
export { renderTemplate, templateImageVariables, isTemplateVariable, imageVariableName } from './template';
