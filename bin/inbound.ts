// Production entry point: the feedback listener (bounces to the VERP return paths, ARF reports from
// feedback loops). Point the return-path domains' MX and the FBL address here. Needs DATABASE_URL,
// TEMPORAL_ADDRESS (for tenant status webhooks) and SECRET_KEY (verifies return paths).
import { Client, Connection } from '@temporalio/client';
import { parseEnv } from '../config/env.js';
import { assertResidency } from '../config/residency.js';
import { createLogger } from '../config/logger.js';
import { surviveDatabaseRestarts } from '../db/unavailable.js';
import { secretBoxFromEnv } from '../config/secrets.js';
import { temporalSettings } from '../config/temporal.js';
import { checkTemporalTls } from '../config/temporal-tls.js';
import { connectDatabase } from '../db/client.js';
import { lateOutcomeWebhook } from '../workflows/late-outcome.js';
import { feedbackTrust, inboundOptions } from '../inbound/options.js';
import { startInboundListener } from '../inbound/server.js';

const env = parseEnv(process.env);
const logger = createLogger(env.LOG_LEVEL, 'inbound');
surviveDatabaseRestarts(logger);
const secrets = secretBoxFromEnv(env);
if (!env.DATABASE_URL || !env.TEMPORAL_ADDRESS || !secrets)
  throw new Error('bin/inbound.ts needs DATABASE_URL, TEMPORAL_ADDRESS and SECRET_KEY or SECRET_KEYS (npm start runs everything embedded)');
assertResidency(env, { databaseUrl: env.DATABASE_URL, temporalAddress: env.TEMPORAL_ADDRESS });
const database = connectDatabase(env.DATABASE_URL, { max: 10 });
const temporal = temporalSettings(env, env.TEMPORAL_ADDRESS);
await checkTemporalTls(temporal.address, temporal.connection.tls);
const connection = await Connection.connect(temporal.connection);
const client = new Client({ connection, namespace: temporal.namespace, dataConverter: temporal.dataConverter });
const listener = await startInboundListener(
  {
    db: database.db,
    secrets,
    logger,
    onOutcome: lateOutcomeWebhook(client, temporal.taskQueue),
    ...feedbackTrust(env),
  },
  inboundOptions(env),
);
logger.info({ host: listener.host, port: listener.port }, 'feedback listener started');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void listener.close().then(async () => {
      await connection.close();
      await database.close();
    });
  });
}
