module.exports = {
  displayName: 'boot-test',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
