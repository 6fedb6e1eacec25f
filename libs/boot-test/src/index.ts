export * from './hookos';
export * from './netns';
export * from './fixtures';
export * from './netboot';
