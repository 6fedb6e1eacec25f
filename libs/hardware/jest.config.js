module.exports = {
  displayName: 'hardware',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
