// Writes each Jest project's counts next to its coverage (an output of the cached Nx test
// target), so scripts/test.sh can print one total line even when results come from cache.
const fs = require('node:fs');
const path = require('node:path');

// eslint-disable-next-line no-control-regex
const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

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
      // Why each failed suite failed, so the test command can repeat it at the very end of its
      // output (a CI log is often read from its tail, far from where Jest printed it).
      // Tests reported as skipped (opt-in ones name their variable), listed by the test command.
      skippedTests: results.testResults.flatMap((suite) =>
        suite.testResults.filter((test) => test.status === 'pending' || test.status === 'skipped' || test.status === 'todo')
          .map((test) => `${path.relative(workspace, suite.testFilePath)}: ${test.fullName}`)),
      failures: results.testResults
        .filter((suite) => suite.testExecError || suite.numFailingTests > 0)
        .map((suite) => ({
          file: path.relative(workspace, suite.testFilePath),
          message: stripAnsi(suite.failureMessage || String(suite.testExecError?.message ?? ''))
            .split('\n').filter((line) => line.trim()).slice(0, 12).join('\n'),
        })),
    };
    fs.writeFileSync(path.join(dir, 'test-summary.json'), JSON.stringify(summary));
  }
}

module.exports = SummaryReporter;
