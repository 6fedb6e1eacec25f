module.exports = {
  displayName: 'ci-matrix',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
