const nxPreset = require('@nx/jest/preset').default;

// execa is ESM-only and Jest 30 cannot require() ESM on Node 20: let ts-jest transform
// it and its ESM dependencies so integration tests run the real process module.
const esmPackages = [
  'execa', '@sindresorhus/merge-streams', 'figures', 'get-stream', 'human-signals', 'is-plain-obj',
  'is-stream', 'npm-run-path', 'path-key', 'parse-ms', 'pretty-ms', 'strip-final-newline',
  'unicorn-magic', 'yoctocolors', 'is-unicode-supported', '@sec-ant/readable-stream',
];

module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  // Many unit tests start real programs (sh, busybox, stand-ins); Jest's default of 5 s fails
  // them on a loaded machine (CI runs two projects and a QEMU boot at once). Specs that need
  // more set their own.
  testTimeout: 60_000,
  // signal-exit (under execa) keeps its emitter on the global object for the whole process. Jest
  // 30's cleanup of globals between test files wraps it again for each file; after a few files
  // its setter recursed until the stack overflowed and the Jest worker crashed once every test
  // had passed (worker:test failed that way in CI). The process module is shared on purpose.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  reporters: [
    'default',
    require('node:path').join(__dirname, 'tools/jest/summary-reporter.js'),
    require('node:path').join(__dirname, 'tools/jest/run-complete-reporter.js'),
  ],
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  transformIgnorePatterns: [`node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleNameMapper: {
    '^unicorn-magic$': require('node:path').join(__dirname, 'node_modules/unicorn-magic/node.js'),
  },
};
