module.exports = {
  displayName: 'iso',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
