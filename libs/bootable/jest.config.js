module.exports = {
  displayName: 'bootable',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
