#!/usr/bin/env bash
# Runs the whole suite against real servers (started by test/global-setup.ts) and ends with
# the vitest counts as one plain line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node -e '
  const fs = require("fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  console.log(`${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`);
' "$report"
rm -f "$report"
exit $status
