module.exports = {
  displayName: 'hookos',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
