module.exports = {
  displayName: 'remote-cache',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
