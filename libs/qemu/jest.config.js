module.exports = {
  displayName: 'qemu',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
