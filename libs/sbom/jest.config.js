module.exports = {
  displayName: 'sbom',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
