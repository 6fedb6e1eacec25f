// Tells tools/jest/watchdog.js when Jest's run has completed (it touches HOOK_TEST_DONE_FILE), so
// the watchdog can end a Jest that then does not exit because a test left a process holding it.
const fs = require('node:fs');

class RunCompleteReporter {
  onRunComplete() {
    const file = process.env.HOOK_TEST_DONE_FILE;
    if (file) fs.writeFileSync(file, `${new Date().toISOString()}\n`);
  }
}

module.exports = RunCompleteReporter;
