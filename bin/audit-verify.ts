// `npm run audit:verify [tenantId]`: recomputes the audit hash chains in DATABASE_URL (or the dev
// database of `npm start`) and exits 1 when a row was deleted, changed or reordered.
import { parseEnv } from '../config/env.js';
import { connectDatabase } from '../db/client.js';
import { verifyAuditChain } from '../domain/audit/verify.js';

const env = parseEnv(process.env);
// Without DATABASE_URL: the embedded dev database, which must be running (npm start).
const url = env.DATABASE_URL ?? `postgres://postgres:notiflow@127.0.0.1:${env.EMBEDDED_PG_PORT}/notiflow`;
const database = connectDatabase(url, { max: 1 });
try {
  const report = await verifyAuditChain(database.db, process.argv[2]);
  for (const p of report.problems) console.log(`${p.tenantId} seq ${p.seq ?? '-'} id ${p.id ?? '-'}: ${p.problem}`);
  console.log(
    `${report.ok ? 'audit chain verified' : 'AUDIT CHAIN BROKEN'}: ${report.tenants} tenant chains, ${report.events} events (${report.erased} erased details), ${report.problems.length} problems`,
  );
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await database.close();
}
