// Jest reporter that writes the run's totals as JSON to $PLATEAU_JEST_JSON (when set), so .ci/run can print
// the plain "N passed, N failed" line that CI reads. Does nothing otherwise.
const { writeFileSync } = require('node:fs');

class JsonSummaryReporter {
  onRunComplete(_contexts, results) {
    const path = process.env.PLATEAU_JEST_JSON;
    if (!path) return;
    const summary = {
      numPassedTests: results.numPassedTests,
      numFailedTests: results.numFailedTests,
      numPendingTests: results.numPendingTests,
      numTodoTests: results.numTodoTests,
      numRuntimeErrorTestSuites: results.numRuntimeErrorTestSuites,
      numTotalTests: results.numTotalTests,
      success: results.success,
    };
    writeFileSync(path, JSON.stringify(summary));
  }
}

module.exports = JsonSummaryReporter;
