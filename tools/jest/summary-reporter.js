// Writes each Jest project's counts next to its coverage (an output of the cached Nx test
// target), so scripts/test.sh can print one total line even when results come from cache.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const workspace = path.resolve(__dirname, '../..');
    const dir = path.join(workspace, 'coverage', path.relative(workspace, this.rootDir));
    fs.mkdirSync(dir, { recursive: true });
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      suitesFailed: results.numFailedTestSuites + results.numRuntimeErrorTestSuites,
    };
    fs.writeFileSync(path.join(dir, 'test-summary.json'), JSON.stringify(summary));
  }
}

module.exports = SummaryReporter;
