module.exports = {
  displayName: 'debian',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
