// Production entry point: the HTTP API. Needs DATABASE_URL and TEMPORAL_ADDRESS (see README).
import { Resolver } from 'node:dns/promises';
import { Client, Connection } from '@temporalio/client';
import { loadProviderRules } from '../domain/pool/rules.js';
import { createApi } from '../api/app.js';
import { serveApiMetrics } from '../api/metrics.js';
import { serveApi } from '../api/serve.js';
import { checkProductionSettings, parseEnv, rateLimitsOf, spamdOf } from '../config/env.js';
import { domainSettingsFromEnv } from '../config/domain-settings.js';
import { assertResidency } from '../config/residency.js';
import { createLogger } from '../config/logger.js';
import { surviveDatabaseRestarts } from '../db/unavailable.js';
import { secretBoxFromEnv } from '../config/secrets.js';
import { temporalSettings } from '../config/temporal.js';
import { checkTemporalTls } from '../config/temporal-tls.js';
import { apiTlsFromEnv } from '../config/tls.js';
import { tracingPlugin } from '../config/tracing.js';
import { connectDatabase, migrateDatabase } from '../db/client.js';

const env = parseEnv(process.env);
checkProductionSettings(env, 'api');
const logger = createLogger(env.LOG_LEVEL, 'api');
surviveDatabaseRestarts(logger);
const tls = apiTlsFromEnv(env);
if (!env.DATABASE_URL || !env.TEMPORAL_ADDRESS)
  throw new Error('bin/api.ts needs DATABASE_URL and TEMPORAL_ADDRESS (npm start runs everything embedded)');
assertResidency(env, { databaseUrl: env.DATABASE_URL, temporalAddress: env.TEMPORAL_ADDRESS });
await migrateDatabase(env.DATABASE_URL);
const database = connectDatabase(env.DATABASE_URL, { max: 20 });
const temporal = temporalSettings(env, env.TEMPORAL_ADDRESS);
await checkTemporalTls(temporal.address, temporal.connection.tls);
const tracing = tracingPlugin(env, 'api');
const client = new Client({
  connection: await Connection.connect(temporal.connection),
  namespace: temporal.namespace,
  dataConverter: temporal.dataConverter,
  ...(tracing ? { plugins: [tracing] } : {}),
});
const providerRules = loadProviderRules(env.PROVIDER_RULES_PATH);
const resolver = new Resolver({ timeout: 2_000, tries: 2 });
if (env.DNS_SERVERS?.length) resolver.setServers(env.DNS_SERVERS);
const app = createApi(
  {
    db: database.db,
    temporal: client,
    taskQueue: temporal.taskQueue,
    adminKey: env.ADMIN_API_KEY,
    providerRules,
    secrets: secretBoxFromEnv(env),
    feedbackWebhookSecret: env.FEEDBACK_WEBHOOK_SECRET,
    codec: temporal.dataConverter.payloadCodecs?.[0],
    codecToken: env.CODEC_TOKEN,
    codecOrigins: env.CODEC_CORS_ORIGINS,
    spamd: spamdOf(env),
    rateLimits: rateLimitsOf(env),
    compileLimits: { timeoutMs: env.TEMPLATE_COMPILE_TIMEOUT_MS, maxQueued: env.TEMPLATE_COMPILE_QUEUE },
    testSendsPerDay: env.TEST_SENDS_PER_DAY,
    feedbackWebhookSecrets: env.FEEDBACK_WEBHOOK_SECRETS,
    domainSettings: domainSettingsFromEnv(env),
    resolver,
    publicUrl: env.PUBLIC_URL,
    trustedProxies: env.TRUSTED_PROXIES,
    temporalUiUrl: env.TEMPORAL_UI_URL,
    serve: env.API_SERVE,
    metricsToken: env.METRICS_TOKEN,
  },
  { onError: (err) => logger.error({ err }, 'request failed') },
);
const server = serveApi(app.fetch, { hostname: env.API_HOST, port: env.API_PORT, tls: tls?.serverOptions });
const metricsServer = env.API_METRICS_ADDRESS ? serveApiMetrics(database.db, env.API_METRICS_ADDRESS) : undefined;
// Said once both accept connections (binding waits for the address lookup), so whoever waits for this line can connect.
await Promise.all([server, metricsServer].map((s) => s && new Promise((resolve) => s.once('listening', resolve))));
logger.info(
  {
    url: `${tls ? 'https' : 'http'}://${env.API_HOST}:${env.API_PORT}`,
    serve: env.API_SERVE,
    clientAuth: tls?.clientAuth,
    metrics: env.API_METRICS_ADDRESS ? `http://${env.API_METRICS_ADDRESS}/metrics` : env.METRICS_TOKEN ? 'on the API port, METRICS_TOKEN' : 'off',
  },
  'api listening',
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    metricsServer?.close();
    void database.close();
  });
}
