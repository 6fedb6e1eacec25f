export * from './hookos';
export * from './netns';
