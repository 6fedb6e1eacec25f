export * from './schema';
export * from './inventory';
export { suggest } from '@hook/log';
export { renderTemplate, templateImageVariables, isTemplateVariable, imageVariableName } from './template';
