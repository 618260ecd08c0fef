#!/usr/bin/env bash
# Runs the whole suite against real servers (started by test/global-setup.ts), checks the
# engine's logs of the run for test data (scripts/check-test-logs.ts), and ends with the vitest
# counts as its last line: "N passed, N failed".
# The exit status comes from vitest's JSON report: embedded-postgres's exit hook can turn
# vitest's own exit code into 0, so the report is the reliable verdict.
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp)
# The engines under test log at the production level into one file, checked for test data after.
export TEST_LOG_FILE="${TEST_LOG_FILE:-$(mktemp)}"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node --import tsx scripts/check-test-logs.ts "$TEST_LOG_FILE"
logs=$?
node -e '
  const fs = require("fs");
  let r;
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { r = undefined; }
  if (!r) { console.log("0 passed, 0 failed"); console.error("vitest wrote no report"); process.exit(1); }
  // A file that failed outside any test (import error, failed beforeAll) counts as one failure.
  const failedFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed")).length;
  console.log(`${r.numPassedTests ?? 0} passed, ${(r.numFailedTests ?? 0) + failedFiles} failed`);
  process.exit(r.success && failedFiles === 0 && r.numFailedTests === 0 ? 0 : 1);
' "$report"
verdict=$?
rm -f "$report"
[ $logs -ne 0 ] && verdict=1
[ $verdict -ne 0 ] && exit $verdict
exit $status
