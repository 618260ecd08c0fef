// Reads the log lines the engine wrote during a test run (TEST_LOG_FILE, at the production level
// "info") and fails when any holds test data: an e-mail address, a push token, an API key or a
// webhook secret. Personal data and secrets belong in Postgres, never in logs.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.error(`check-test-logs: no log file ${file ?? ''}`);
  process.exit(1);
}
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const patterns: [string, RegExp][] = [
  ['e-mail address', /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/],
  ['push token', /\btok-[a-z0-9-]+/i],
  ['API key', /\bnf_(?:test|live|admin)_[A-Za-z0-9_-]+/],
  ['webhook secret', /\bwhsec_[A-Za-z0-9_-]{8,}/],
];
let leaks = 0;
for (const line of lines) {
  for (const [what, re] of patterns) {
    const m = re.exec(line);
    if (m) {
      leaks++;
      if (leaks <= 10) console.error(`log leak (${what}): ${line.slice(0, 300)}`);
    }
  }
}
console.log(`logs checked: ${lines.length} lines, ${leaks} with test data`);
process.exit(leaks ? 1 : 0);
