module.exports = {
  displayName: 'hook-cli',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
