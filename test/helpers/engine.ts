import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { pino } from 'pino';
import { inject } from 'vitest';
import { createMailer } from '../../domain/email/mailer.js';
import { savePushCredential } from '../../domain/push/credentials.js';
import { localServiceAccount } from '../../dev/service-account.js';
import { tenantPushClients, type PushClients } from '../../domain/push/tenant-messaging.js';
import { createApi } from '../../api/app.js';
import { serveApi } from '../../api/serve.js';
import type { ApiDeps } from '../../api/env.js';
import type { MonitoringSettings } from '../../domain/monitor/settings.js';
import { createLogger } from '../../config/logger.js';
import { createSecretBox, generateApiKey } from '../../config/secrets.js';
import { encryptedDataConverter } from '../../config/temporal.js';
import { connectDatabase, type Database } from '../../db/client.js';
import { provisionTenant, upsertPool } from '../../db/provision.js';
import { dkimResolverFromDb } from '../../dev/dkim-dns.js';
import { startFcmEndpoint, type FcmEndpoint, type FcmEndpointOptions } from '../../dev/fcm-endpoint.js';
import { startSmtpInbox, type SmtpInbox, type SmtpInboxOptions } from '../../dev/smtp-inbox.js';
import { createEgressPolicy } from '../../domain/webhooks/egress.js';
import { createNotificationWorker } from '../../worker/create-worker.js';
import { installTemporalRuntime } from '../../worker/runtime.js';

/** The run's workflow bundle, built once by test/global-setup.ts (a file path every worker loads). */
export function bundleWorkflows(): Promise<WorkflowBundleOption> {
  return Promise.resolve({ codePath: inject('workflowBundlePath') });
}

/** A Firebase service account as a tenant uploads it (the local endpoint takes any). */
export const testServiceAccount = localServiceAccount;

/** Tests that are not about rate limits must not meet them (test/rate-limits.test.ts sets its own per tenant). */
const GENEROUS_LIMITS = { requestsPerSecond: 100_000, requestsBurst: 100_000, notificationsPerSecond: 100_000, notificationsBurst: 100_000 };

export interface EngineOptions {
  /** Workflow bundle for the in-process worker: the run's shared one unless given. */
  bundle?: WorkflowBundleOption;
  inbox?: SmtpInboxOptions;
  fcm?: FcmEndpointOptions;
  /** Source addresses of the tenant's pool (loopback aliases stand in for IPs). */
  ips?: string[];
  /** The tenant's pool kind (dedicated unless said): a blocklisted dedicated IP puts its tenant on hold. */
  poolKind?: 'shared' | 'dedicated';
  /** Start no worker (tests that run the worker as a separate process). */
  noWorker?: boolean;
  activityOverrides?: Parameters<typeof createNotificationWorker>[0]['activityOverrides'];
  /** Blocklist zones/resolver, rate thresholds and operator webhook for the worker's activities. */
  monitoring?: MonitoringSettings;
  /** Address ranges tenant webhooks may reach (default loopback, where the test receivers are); [] = public only. */
  egressAllow?: string[];
  /** Worker tuning (sends in flight, sticky cache), e.g. low to make a backlog queue in Temporal. */
  workerTuning?: Parameters<typeof createNotificationWorker>[0]['tuning'];
  /** Extra API deps (admin key, provider feedback secret, default rate limits: generous unless given). */
  api?: Partial<ApiDeps>;
  /** How the client and the worker reach Temporal (e.g. through a TLS proxy); the suite's dev server as is when absent. */
  temporal?: { address: string; tls?: TLSConfig };
  /** A PostgreSQL of the test's own (to stop and restart it) instead of the suite's. */
  databaseUrl?: string;
}

export interface TestEngine {
  tenantId: string;
  apiKey: string;
  taskQueue: string;
  /** Source addresses of the tenant's pool. */
  ips: string[];
  secretKey: string;
  /** TEMPORAL_PAYLOAD_KEYS of this engine's client and worker (payloads are encrypted with it). */
  payloadKeys: string;
  database: Database;
  databaseUrl: string;
  temporalAddress: string;
  client: Client;
  inbox: SmtpInbox;
  fcm: FcmEndpoint;
  /** The worker's per-tenant Firebase clients; each tenant has a service account of project push-<tenant id>. */
  push: PushClients;
  /** The API app itself, for tests that serve it over a real socket (browser tests). */
  app: ReturnType<typeof createApi>;
  /** Calls the real Hono app (no mocks) with the tenant's key unless `key` overrides it. */
  request(
    method: string,
    path: string,
    opts?: { body?: unknown; rawBody?: string; headers?: Record<string, string>; key?: string | null },
  ): Promise<Response>;
  /** Serves the same app over a real socket (as bin/api.ts does); returns its base URL. */
  listen(): Promise<string>;
  /** A second tenant on the same engine, for isolation tests. */
  addTenant(id?: string): Promise<{ tenantId: string; apiKey: string }>;
  stop(): Promise<void>;
}

/**
 * One tenant on the real engine: its own SMTP inbox and FCM endpoint on loopback, a worker on its
 * own task queue against the shared Temporal server, and the API app, all over real sockets.
 */
export async function startTestEngine(opts: EngineOptions): Promise<TestEngine> {
  // Activity failures are expected in these tests; the assertions say what matters.
  installTemporalRuntime('ERROR');
  const databaseUrl = opts.databaseUrl ?? inject('databaseUrl');
  const temporalAddress = opts.temporal?.address ?? inject('temporalAddress');
  const temporalTls = opts.temporal?.tls ? { tls: opts.temporal.tls } : {};
  const database = connectDatabase(databaseUrl);
  const { db } = database;
  const secretKey = randomBytes(32).toString('base64');
  const secrets = createSecretBox(Buffer.from(secretKey, 'base64'));
  const payloadKeys = `test-${randomUUID().slice(0, 8)}:${randomBytes(32).toString('base64')}`;
  const dataConverter = encryptedDataConverter(payloadKeys);
  const tenantId = `t-${randomUUID().slice(0, 8)}`;
  // Reputation follows a source IP across tenants in the shared test database, so each engine
  // sends from its own loopback address unless the test names them (127.0.0.x stay for those).
  const ips = opts.ips ?? [`127.0.${randomInt(1, 255)}.${randomInt(2, 255)}`];
  const inbox = await startSmtpInbox({ host: '127.0.0.1', port: 0, resolver: dkimResolverFromDb(db), ...opts.inbox });
  const fcm = await startFcmEndpoint({ host: '127.0.0.1', port: 0, ...opts.fcm });
  // Each tenant pushes through its own Firebase project (push-<tenant id>), here all on the local endpoint.
  const push = tenantPushClients({
    db,
    secrets,
    local: { host: fcm.host, port: fcm.port, caPem: fcm.caPem, accessToken: opts.fcm?.accessToken ?? 'test-access-token' },
  });

  const provision = async (id: string) => {
    const poolId = `${id}-pool`;
    await upsertPool(db, {
      id: poolId,
      name: `${id} pool`,
      kind: opts.poolKind ?? 'dedicated',
      relayHost: inbox.host,
      relayPort: inbox.port,
      ips: ips.map((ip, i) => ({ id: `${id}-ip${i + 1}`, localAddress: ip, ehloName: `mta${i + 1}.${id}.test` })),
    });
    const apiKey = generateApiKey('nf_test');
    await provisionTenant(db, secrets, { id, name: `Bank ${id}`, poolId, domain: `${id}.bank.test`, apiKey });
    await savePushCredential(db, secrets, id, testServiceAccount(`push-${id}`));
    return { tenantId: id, apiKey };
  };
  const { apiKey } = await provision(tenantId);

  const connection = await Connection.connect({ address: temporalAddress, ...temporalTls });
  const client = new Client({ connection, dataConverter });
  const taskQueue = `test-${tenantId}`;
  const mailer = createMailer();
  // npm test collects the engines' logs at the production level and checks them for test data after the run.
  const logFile = process.env.TEST_LOG_FILE;
  const logger = logFile
    ? createLogger('info', 'test-engine', pino.destination({ dest: logFile, append: true, sync: true }))
    : createLogger('silent');
  let stopWorker = async () => {};
  if (!opts.noWorker) {
    const workerConnection = await NativeConnection.connect({ address: temporalAddress, ...temporalTls });
    const worker = await createNotificationWorker({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: opts.bundle ?? (await bundleWorkflows()),
      dataConverter,
      // Test webhook receivers listen on loopback: allowed explicitly, as an operator would for self-hosting.
      deps: {
        db,
        mailer,
        push,
        secrets,
        logger,
        publicUrl: 'http://127.0.0.1:3000',
        monitoring: opts.monitoring,
        egress: createEgressPolicy(opts.egressAllow ?? ['127.0.0.0/8']),
      },
      activityOverrides: opts.activityOverrides,
      tuning: opts.workerTuning,
    });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await workerConnection.close();
    };
  }
  const api = createApi(
    { db, temporal: client, taskQueue, secrets, rateLimits: GENEROUS_LIMITS, ...opts.api },
    { onError: (err) => logger.error({ err }, 'request failed') },
  );
  let stopServer = async () => {};

  return {
    tenantId,
    apiKey,
    taskQueue,
    ips,
    secretKey,
    payloadKeys,
    database,
    databaseUrl,
    temporalAddress,
    client,
    inbox,
    fcm,
    push,
    app: api,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? apiKey : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      return api.request(path, { method, headers, body });
    },
    async listen() {
      const server = serveApi(api.fetch, { hostname: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      stopServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    addTenant: (id = `t-${randomUUID().slice(0, 8)}`) => provision(id),
    async stop() {
      await stopServer();
      await stopWorker();
      await mailer.close();
      await Promise.allSettled([inbox.close(), fcm.close()]);
      await connection.close();
      await database.close();
    },
  };
}
