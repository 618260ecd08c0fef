// Brings up the engine for the benchmark: embedded PostgreSQL and a headless Temporal dev server on
// free ports (or the ones in DATABASE_URL / TEMPORAL_ADDRESS), the dev SMTP inbox and FCM endpoint,
// one tenant with N users, and the production entry points bin/worker.ts and bin/api.ts as child
// processes talking real HTTP, gRPC and SMTP over loopback.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Env } from '../config/env.js';
import { writeWorkflowBundle } from '../bin/bundle-workflows.js';
import { createSecretBox, generateApiKey } from '../config/secrets.js';
import { encryptedDataConverter } from '../config/temporal.js';
import { connectDatabase, migrateDatabase, type Database } from '../db/client.js';
import { provisionTenant, upsertPool } from '../db/provision.js';
import { localServiceAccount } from '../dev/service-account.js';
import { savePushCredential } from '../domain/push/credentials.js';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { startFcmEndpoint } from '../dev/fcm-endpoint.js';
import { startTemporalDevServer } from '../dev/temporal-server.js';
import { execFileSync } from 'node:child_process';
import { npmNodeScript, repoRoot, startChild, type Child } from './children.js';
import { enableStatementStats } from './pg-statements.js';
import { startPostgresTemporal } from './temporal-postgres.js';

/** Source addresses of the bench pool: loopback aliases, each with its own SMTP connections. */
export const POOL_IPS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
export const TASK_QUEUE = 'bench-notifications';
export const RECIPIENT_DOMAIN = 'bench.example';

export interface Arrivals {
  /** notification id (X-Notification-Id) -> epoch ms the inbox accepted it */
  at: Map<string, number>;
  count(): number;
}

export interface BenchStack {
  databaseUrl: string;
  temporalAddress: string;
  /** The Temporal server's process (embedded dev server only) and Prometheus endpoint, when known. */
  temporalPid?: number;
  temporalMetricsUrl?: string;
  /** pg_stat_statements is loaded: statements per notification can be counted. */
  statementStats: boolean;
  payloadKeys: string;
  apiUrl: string;
  /** Every API process's URL (--apis=N); load is spread over them. */
  apiUrls: string[];
  apiKey: string;
  tenantId: string;
  database: Database;
  client: Client;
  smtp: { host: string; port: number };
  arrivals: Arrivals;
  /** The first worker and API; `workers` / `apis` list all of them (--workers=N, --apis=N). */
  worker: Child;
  api: Child;
  workers: Child[];
  apis: Child[];
  inbox: Child;
  /** Another tenant on its own pool of the same addresses, with `users` users (u1..uN); tenant fairness figures. */
  addTenant(users: number): Promise<{ tenantId: string; apiKey: string }>;
  /** Restarts the engine worker with extra environment (worker tuning before/after). */
  restartWorker(extraEnv?: Record<string, string>, nodeArgs?: string[]): Promise<void>;
  stop(): Promise<void>;
}

import { freePort } from '../dev/ports.js';

export async function startBenchStack(
  env: Env,
  users: number,
  log: (m: string) => void,
  opts: {
    bundleAtStart?: boolean;
    fromSource?: boolean;
    workers?: number;
    apis?: number;
    temporalMetricsUrl?: string;
    /** Without TEMPORAL_ADDRESS: the CLI dev server (default) or temporal-server on PostgreSQL. */
    temporal?: 'dev' | 'postgres';
  } = {},
): Promise<BenchStack> {
  // The worker and API run as deployed: built (npm run build) and started as npm run start:worker /
  // start:api would. --from-source runs bin/*.ts through tsx instead (as before the build existed).
  const fromSource = opts.fromSource || opts.bundleAtStart;
  if (!fromSource) {
    log('building (npm run build)');
    execFileSync('bash', ['scripts/build.sh'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const entry = (name: 'worker' | 'api') => (fromSource ? { nodeArgs: [], script: `bin/${name}.ts` } : npmNodeScript(`start:${name}`));
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => log(`stop failed: ${String(err)}`));
  };
  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      log('starting embedded PostgreSQL');
      // pg_stat_statements (shipped with the embedded binaries) counts the statements per notification.
      const pg = await startEmbeddedPostgres({
        port: await freePort(),
        ephemeral: true,
        database: 'notiflow_bench',
        settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_utility': 'on' },
      });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }
    await migrateDatabase(databaseUrl);
    const database = connectDatabase(databaseUrl, { max: 8 });
    stops.push(() => database.close());
    const statementStats = await enableStatementStats(database.sql);

    let temporalAddress = env.TEMPORAL_ADDRESS;
    let temporalPid: number | undefined;
    let temporalMetricsUrl = opts.temporalMetricsUrl;
    if (!temporalAddress && opts.temporal === 'postgres') {
      const server = await startPostgresTemporal(log);
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalPid = server.pid;
      temporalMetricsUrl = server.metricsUrl;
    } else if (!temporalAddress) {
      const metricsPort = await freePort();
      log('starting the Temporal dev server (headless, in memory)');
      const server = await startTemporalDevServer({
        port: await freePort(),
        uiPort: await freePort(),
        headless: true,
        cliPath: env.TEMPORAL_CLI_PATH,
        metricsPort,
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalPid = server.pid;
      temporalMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    }

    const at = new Map<string, number>();
    const inboxChild = await startChild('bench/inbox-child.ts', {}, { ready: /inbox listening/, ipc: true, label: 'SMTP inbox' });
    stops.push(() => inboxChild.stop());
    inboxChild.proc.on('message', (m: { arrivals?: { id: string; at: number }[] }) => {
      for (const a of m.arrivals ?? []) if (!at.has(a.id)) at.set(a.id, a.at);
    });
    const smtpPort = await new Promise<number>((resolve) => {
      // The ready line was already printed; ask the OS-chosen port from the same line.
      let text = '';
      const read = (d: Buffer) => {
        text += d.toString();
        const m = /inbox listening [\d.]+:(\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
      };
      read(Buffer.from(inboxChild.output()));
      inboxChild.proc.stdout?.on('data', read);
    });
    const smtp = { host: '127.0.0.1', port: smtpPort };

    const fcm = await startFcmEndpoint({ host: '127.0.0.1', port: 0 });
    stops.push(() => fcm.close());
    const tmp = mkdtempSync(join(tmpdir(), 'notiflow-bench-'));
    stops.push(async () => rmSync(tmp, { recursive: true, force: true }));
    const caFile = join(tmp, 'fcm-ca.pem');
    writeFileSync(caFile, fcm.caPem);

    log(`provisioning a tenant with ${users} users`);
    const secretKey = randomBytes(32).toString('base64');
    const payloadKeys = `bench:${randomBytes(32).toString('base64')}`;
    const addTenant = async (n: number) => {
      const tenantId = `bench-${randomBytes(3).toString('hex')}`;
      const apiKey = generateApiKey('nf_bench');
      await upsertPool(database.db, {
        id: `${tenantId}-pool`,
        name: 'bench pool',
        kind: 'dedicated',
        relayHost: smtp.host,
        relayPort: smtp.port,
        ips: POOL_IPS.map((ip, i) => ({ id: `${tenantId}-ip${i + 1}`, localAddress: ip, ehloName: `mta${i + 1}.bench.test` })),
      });
      const secrets = createSecretBox(Buffer.from(secretKey, 'base64'));
      await provisionTenant(database.db, secrets, {
        id: tenantId,
        name: 'Bench Bank',
        poolId: `${tenantId}-pool`,
        domain: `${tenantId}.bank.test`,
        apiKey,
      });
      // Its own Firebase project, as every tenant that pushes has (here on the local endpoint).
      await savePushCredential(database.db, secrets, tenantId, localServiceAccount(`push-${tenantId}`));
      await seedUsers(database, tenantId, n);
      return { tenantId, apiKey };
    };
    const { tenantId, apiKey } = await addTenant(users);

    // The built worker loads the bundle from the same build; from source it gets one built here
    // (npm run build:workflows), unless the run measures bundling at worker start.
    const bundle: Record<string, string> =
      !fromSource || opts.bundleAtStart ? {} : { WORKFLOW_BUNDLE_PATH: await writeWorkflowBundle(join(tmp, 'workflow-bundle.js')) };
    const childEnv = {
      ...bundle,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      SECRET_KEY: secretKey,
      TEMPORAL_PAYLOAD_KEYS: payloadKeys,
      FCM_LOCAL_ENDPOINT: `${fcm.host}:${fcm.port}`,
      FCM_LOCAL_CA_FILE: caFile,
      // Required by the production worker; the bench follows no link.
      PUBLIC_URL: 'https://notifications.bench.test',
      LOG_LEVEL: 'info',
      // The bench measures the engine's capacity, not a tenant's default share of it (the limiter's cost stays in).
      RATE_LIMIT_REQUESTS_PER_SECOND: '1000000',
      RATE_LIMIT_REQUESTS_BURST: '1000000',
      RATE_LIMIT_NOTIFICATIONS_PER_SECOND: '1000000',
      RATE_LIMIT_NOTIFICATIONS_BURST: '1000000',
    };
    const startWorker = (extra: Record<string, string> = {}, nodeArgs: string[] = []) =>
      startChild(
        entry('worker').script,
        { ...childEnv, ...extra },
        { ready: /worker started/, label: 'engine worker', timeoutMs: 120_000, nodeArgs: [...entry('worker').nodeArgs, ...nodeArgs] },
      );
    let workers = await Promise.all(Array.from({ length: opts.workers ?? 1 }, () => startWorker()));
    stops.push(() => Promise.all(workers.map((w) => w.stop())));

    const apiPorts = await Promise.all(Array.from({ length: opts.apis ?? 1 }, () => freePort()));
    const apis = await Promise.all(
      apiPorts.map((port) =>
        startChild(
          entry('api').script,
          { ...childEnv, API_HOST: '127.0.0.1', API_PORT: String(port) },
          { ready: /api listening/, label: 'API', nodeArgs: entry('api').nodeArgs, timeoutMs: 120_000 },
        ),
      ),
    );
    stops.push(() => Promise.all(apis.map((a) => a.stop())));

    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    const client = new Client({ connection, dataConverter: encryptedDataConverter(payloadKeys) });

    return {
      databaseUrl,
      temporalAddress,
      ...(temporalPid ? { temporalPid } : {}),
      ...(temporalMetricsUrl ? { temporalMetricsUrl } : {}),
      statementStats,
      payloadKeys,
      apiUrl: `http://127.0.0.1:${apiPorts[0]}`,
      apiUrls: apiPorts.map((p) => `http://127.0.0.1:${p}`),
      apiKey,
      tenantId,
      database,
      client,
      smtp,
      arrivals: { at, count: () => at.size },
      get worker() {
        return workers[0]!;
      },
      get workers() {
        return workers;
      },
      api: apis[0]!,
      apis,
      inbox: inboxChild,
      addTenant,
      async restartWorker(extra, nodeArgs) {
        await Promise.all(workers.map((w) => w.stop()));
        workers = await Promise.all(workers.map(() => startWorker(extra, nodeArgs)));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** N users with an e-mail address at a domain no provider rule matches (default limits apply). */
async function seedUsers(database: Database, tenantId: string, n: number): Promise<void> {
  await database.sql`
    insert into users (tenant_id, external_id, email, locale)
    select ${tenantId}, 'u' || g, 'user' || g || '@' || ${RECIPIENT_DOMAIN}, case when g % 3 = 0 then 'fr' else 'en' end
    from generate_series(1, ${n}::int) g
    on conflict do nothing`;
}

export const userIdFor = (i: number, users: number) => `u${(i % users) + 1}`;
