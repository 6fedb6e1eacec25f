module.exports = {
  displayName: 'hook-nx-plugin',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
