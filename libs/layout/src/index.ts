/**
 * @hook/layout: one home for the facts every part of Hook shares about its files: the dist/
 * layout and upstream's file names, kernel.json and image.json, which folders under images/ are
 * images, the architecture names, and the defaults of HOOK_VERSION and the registry bases.
 */
export * from './arch';
export * from './defaults';
export * from './dist';
export * from './images';
export * from './metadata';
export * from './verify';
