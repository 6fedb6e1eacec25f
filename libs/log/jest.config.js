module.exports = {
  displayName: 'log',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
