export * from './schema';
export * from './inventory';
export { suggest } from './validate';
export { renderTemplate, templateImageVariables, isTemplateVariable, imageVariableName } from './template';
