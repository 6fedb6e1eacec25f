module.exports = {
  displayName: 'initramfs',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
