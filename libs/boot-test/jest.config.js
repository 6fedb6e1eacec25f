module.exports = {
  displayName: 'boot-test',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // One boot at a time: each guest keeps both cores busy under TCG, and two at once only make
  // every wait longer.
  maxWorkers: 1,
};
