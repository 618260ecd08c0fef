import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { createApi } from '../api/app.js';
import { metricsApi } from '../api/metrics.js';
import { serveApi } from '../api/serve.js';
import { lateOutcomeWebhook } from '../workflows/late-outcome.js';
import { feedbackTrust, inboundOptions } from '../inbound/options.js';
import { startInboundListener } from '../inbound/server.js';
import { ensureMonitoringSchedules } from '../worker/schedules.js';
import { rateLimitsOf, spamdOf, type Env } from '../config/env.js';
import { secretBoxFromEnv } from '../config/secrets.js';
import { assertResidency } from '../config/residency.js';
import { temporalSettings } from '../config/temporal.js';
import { tracingPlugin } from '../config/tracing.js';
import { connectDatabase, migrateDatabase } from '../db/client.js';
import { ensureMonthlyPartitions } from '../db/partitions.js';
import { createNotificationWorker } from '../worker/create-worker.js';
import { activityDepsFromEnv } from '../worker/deps.js';
import { seedDemo } from './demo-seed.js';
import { domainSettingsFromEnv } from '../config/domain-settings.js';
import { sendingIps } from '../db/schema.js';
import { getDomain } from '../domain/sending-domains/service.js';
import { publishRecord, startDnsServer, type DnsZone } from './dns-server.js';
import { DEMO_DOMAIN, DEMO_TENANT } from './demo-seed.js';
import { startEmbeddedPostgres, userTmpDir } from './embedded-postgres.js';
import { startFcmEndpoint } from './fcm-endpoint.js';
import { devRoutes } from './routes.js';
import { startSmtpInbox } from './smtp-inbox.js';
import { createTestTls } from './test-ca.js';
import { startTemporalDevServer } from './temporal-server.js';

/** Where `npm start` has the Temporal SDK serve its metrics unless TEMPORAL_METRICS_ADDRESS says otherwise. */
export const DEV_TEMPORAL_METRICS_ADDRESS = '127.0.0.1:9464';

export interface DevStack {
  apiUrl: string;
  temporalUiUrl: string | undefined;
  inboxUrl: string;
  pushUrl: string;
  /** The dev DNS server the engine resolves through (host:port); publish records with POST /dev/dns. */
  dns: string;
  apiKey: string;
  adminKey: string;
  consoleUrl: string;
  stop(): Promise<void>;
}

/** A dev secret generated once and kept in the data dir: never in the repo, stable across runs. */
function devSecret(dir: string, name: string): string {
  const file = join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(32).toString('base64');
  writeFileSync(file, value, { mode: 0o600 });
  return value;
}

/** The engine's own names in the dev DNS: the bounce host return paths point at (its SPF is set once the pools are known). */
function devZone(bounceHost: string, inboundHost: string): DnsZone {
  return { a: { [bounceHost]: [inboundHost] }, mx: { [bounceHost]: [{ exchange: bounceHost, priority: 10 }] }, txt: {} };
}

/**
 * The whole engine on embedded defaults: PostgreSQL, the Temporal dev server with its UI,
 * the dev SMTP inbox and FCM endpoint, one worker and the API. External DATABASE_URL or
 * TEMPORAL_ADDRESS replace the embedded servers.
 */
export async function startDevStack(env: Env, logger: Logger): Promise<DevStack> {
  const dataDir = env.DEV_DATA_DIR ?? join(userTmpDir(), 'dev');
  mkdirSync(dataDir, { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => logger.warn({ err }, 'stop failed'));
  };
  try {
    const secretKey = env.SECRET_KEY ?? devSecret(dataDir, 'secret.key');
    const adminKey =
      env.ADMIN_API_KEY ??
      `nf_admin_${devSecret(dataDir, 'admin.key')
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(0, 32)}`;
    const payloadKeys = env.TEMPORAL_PAYLOAD_KEYS ?? `dev:${devSecret(dataDir, 'payload.key')}`;
    const codecToken = env.CODEC_TOKEN ?? devSecret(dataDir, 'codec.token').replace(/[^A-Za-z0-9]/g, '');
    const apiUrl = `http://${env.API_HOST}:${env.API_PORT}`;

    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      logger.info('starting embedded PostgreSQL');
      const pg = await startEmbeddedPostgres({
        port: env.EMBEDDED_PG_PORT,
        dir: env.EMBEDDED_PG_DIR ?? join(dataDir, 'pg'),
        log: (m) => logger.warn(m),
      });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }
    assertResidency(env, { databaseUrl });
    await migrateDatabase(databaseUrl);
    const database = connectDatabase(databaseUrl, { max: 20 });
    stops.push(() => database.close());
    // The dev database outlives a run: this month's partitions may not exist yet.
    await ensureMonthlyPartitions(database.db);

    let temporalAddress = env.TEMPORAL_ADDRESS;
    let temporalUiUrl: string | undefined;
    if (!temporalAddress) {
      logger.info('starting the Temporal dev server');
      const server = await startTemporalDevServer({
        cliPath: env.TEMPORAL_CLI_PATH,
        port: env.TEMPORAL_DEV_PORT,
        uiPort: env.TEMPORAL_UI_PORT,
        dbFile: join(dataDir, 'temporal.db'),
        // The UI cannot send a header to the codec endpoint: the codec token goes in its path.
        uiCodecEndpoint: `${apiUrl}/codec/${codecToken}`,
        log: (m) => logger.info(m),
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl;
    }

    assertResidency(env, { temporalAddress });
    // The DNS the engine resolves through in dev: the bounce host's records, the demo domain's, and
    // whatever a user publishes with POST /dev/dns. The inbox checks DKIM/SPF/DMARC through it too.
    const domainSettings = domainSettingsFromEnv(env);
    const dnsServer = await startDnsServer({ port: env.DEV_DNS_PORT, zone: devZone(domainSettings.bounceHost, env.INBOUND_SMTP_HOST) });
    stops.push(() => dnsServer.close());
    const dnsServers = env.DNS_SERVERS ?? [dnsServer.address];
    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers(dnsServers);
    const inbox = await startSmtpInbox({ host: '127.0.0.1', port: env.DEV_SMTP_PORT, resolver: (name, type) => resolver.resolve(name, type) });
    stops.push(() => inbox.close());
    const fcm = await startFcmEndpoint({ host: '127.0.0.1', port: env.DEV_FCM_PORT });
    stops.push(() => fcm.close());

    const { apiKey } = await seedDemo(database.db, secretBoxFromEnv({ ...env, SECRET_KEY: secretKey })!, inbox);
    // The demo domain is provisioned as verified; its records are published so mail to the inbox passes DKIM, SPF and DMARC.
    const demo = await getDomain(database.db, domainSettings, DEMO_TENANT, DEMO_DOMAIN);
    for (const r of demo.records) publishRecord(dnsServer.zone, r);
    const spfIps = (await database.db.select({ ip: sendingIps.localAddress }).from(sendingIps)).map((s) => `ip4:${s.ip}`);
    dnsServer.zone.txt![domainSettings.bounceHost] = [`v=spf1 ${[...new Set(spfIps)].join(' ')} -all`];

    const temporal = temporalSettings({ ...env, TEMPORAL_PAYLOAD_KEYS: payloadKeys }, temporalAddress);
    // The dev run's webhook receivers are on this machine: loopback is allowed unless the operator said otherwise.
    const egressAllow = env.EGRESS_ALLOW_PRIVATE.length ? env.EGRESS_ALLOW_PRIVATE : ['127.0.0.0/8'];
    const workerEnv: Env = {
      ...env,
      SECRET_KEY: secretKey,
      FCM_LOCAL_ENDPOINT: `${fcm.host}:${fcm.port}`,
      FCM_DEFAULT_TENANTS: env.FCM_DEFAULT_TENANTS.length ? env.FCM_DEFAULT_TENANTS : [DEMO_TENANT],
      DNS_SERVERS: dnsServers,
      EGRESS_ALLOW_PRIVATE: egressAllow,
      // The dev run's mail hosts are on loopback too.
      MX_ALLOW_PRIVATE: env.MX_ALLOW_PRIVATE.length ? env.MX_ALLOW_PRIVATE : ['127.0.0.0/8'],
    };
    const deps = activityDepsFromEnv(workerEnv, database.db, logger.child({ part: 'worker' }), { fcmCaPem: fcm.caPem });
    stops.push(() => deps.mailer.close());
    const nativeConnection = await NativeConnection.connect(temporal.connection);
    const tracing = tracingPlugin(env, 'dev');
    const worker = await createNotificationWorker({
      connection: nativeConnection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      deps,
      dataConverter: temporal.dataConverter,
      plugins: tracing ? [tracing] : [],
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
    });

    const connection = await Connection.connect(temporal.connection);
    stops.push(() => connection.close());
    const client = new Client({
      connection,
      namespace: temporal.namespace,
      dataConverter: temporal.dataConverter,
      ...(tracing ? { plugins: [tracing] } : {}),
    });
    await ensureMonitoringSchedules(client, {
      taskQueue: temporal.taskQueue,
      blocklistEvery: env.BLOCKLIST_CHECK_EVERY as Duration,
      monitorEvery: env.DELIVERY_MONITOR_EVERY as Duration,
      domainCheckEvery: env.DOMAIN_CHECK_EVERY as Duration,
      placementEvery: env.PLACEMENT_EVERY as Duration,
      placementWait: env.PLACEMENT_WAIT as Duration,
    });
    const inbound = await startInboundListener(
      {
        db: database.db,
        secrets: deps.secrets,
        logger: logger.child({ part: 'inbound' }),
        onOutcome: lateOutcomeWebhook(client, temporal.taskQueue),
        ...feedbackTrust(env, { domains: [], ips: ['127.0.0.0/8'] }),
      },
      inboundOptions(env, createTestTls(['localhost'], ['127.0.0.1'])),
    );
    stops.push(() => inbound.close());
    const app = new Hono();
    app.route(
      '/',
      createApi(
        {
          db: database.db,
          temporal: client,
          taskQueue: temporal.taskQueue,
          adminKey,
          providerRules: deps.delivery?.rules,
          secrets: deps.secrets,
          feedbackWebhookSecret: env.FEEDBACK_WEBHOOK_SECRET,
          codec: temporal.dataConverter.payloadCodecs?.[0],
          codecToken,
          codecOrigins: [...env.CODEC_CORS_ORIGINS, ...(temporalUiUrl ? [temporalUiUrl, temporalUiUrl.replace('127.0.0.1', 'localhost')] : [])],
          spamd: spamdOf(env),
          rateLimits: rateLimitsOf(env),
          feedbackWebhookSecrets: env.FEEDBACK_WEBHOOK_SECRETS,
          domainSettings,
          resolver,
          publicUrl: env.PUBLIC_URL,
          trustedProxies: env.TRUSTED_PROXIES,
          temporalUiUrl: env.TEMPORAL_UI_URL ?? temporalUiUrl,
        },
        { onError: (err) => logger.error({ err }, 'request failed') },
      ),
    );
    app.route('/dev', devRoutes(inbox, fcm, dnsServer));
    // Dev only, on loopback: the engine's metrics on the API port without a token (bin/api.ts never does this).
    app.route('/', metricsApi({ db: database.db }));
    const server = serveApi(app.fetch, { hostname: env.API_HOST, port: env.API_PORT });
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    return {
      apiUrl,
      temporalUiUrl,
      inboxUrl: `${apiUrl}/dev/inbox`,
      pushUrl: `${apiUrl}/dev/push`,
      dns: dnsServer.address,
      apiKey,
      adminKey,
      consoleUrl: `${apiUrl}/console`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
