module.exports = {
  displayName: 'process',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
