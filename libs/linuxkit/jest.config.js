module.exports = {
  displayName: 'linuxkit',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
