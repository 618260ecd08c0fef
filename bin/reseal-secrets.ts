// `npm run secrets:reseal`: after putting a new key first in SECRET_KEYS, seals every secret at
// rest (DKIM keys, webhook secrets, push credentials) again under it, bound to its row, in
// DATABASE_URL (or the dev database of `npm start`). Pre-keyring ciphertexts get their AAD here.
import { parseEnv } from '../config/env.js';
import { secretBoxFromEnv } from '../config/secrets.js';
import { connectDatabase } from '../db/client.js';
import { resealSecrets } from '../domain/reseal-secrets.js';

const env = parseEnv(process.env);
const secrets = secretBoxFromEnv(env);
if (!secrets) throw new Error('secrets:reseal needs SECRET_KEYS and/or SECRET_KEY');
// Without DATABASE_URL: the embedded dev database, which must be running (npm start).
const url = env.DATABASE_URL ?? `postgres://postgres:notiflow@127.0.0.1:${env.EMBEDDED_PG_PORT}/notiflow`;
const database = connectDatabase(url, { max: 1 });
try {
  const report = await resealSecrets(database.db, secrets);
  for (const row of report.failed) console.log(`not resealed (opens under no key of the ring): ${row}`);
  console.log(
    `sealed under key ${secrets.currentKeyId}: ${report.resealed} resealed, ${report.current} already current, ${report.failed.length} failed`,
  );
  process.exitCode = report.failed.length ? 1 : 0;
} finally {
  await database.close();
}
