// `npm run chaos`: the production entry points (bin/api.ts, bin/worker.ts) as their own processes
// on embedded PostgreSQL and a Temporal dev server that keeps its state in a file, sending to
// several mailbox-provider stand-ins (found through MX records on a loopback DNS server) and the
// local FCM endpoint, while the worker is SIGKILLed, PostgreSQL and Temporal are restarted and
// receivers cut connections in the middle of DATA. At the end it compares what the receivers got
// with what the engine says, prints a table and exits non-zero on a lost message, an unexplained
// duplicate or a status that disagrees. See RELIABILITY.md.
//
// Knobs (environment): CHAOS_COUNT (notifications, 1000), CHAOS_KILLS (worker SIGKILLs, 10),
// CHAOS_PG_RESTARTS (2), CHAOS_TEMPORAL_RESTARTS (1), CHAOS_RATE (triggers a second, 15),
// CHAOS_DROP (share of DATA transactions cut, 0.05), CHAOS_SETTLE_S (longest wait for the last
// notifications after the faults, 300), CHAOS_SEED (the fault schedule and user mix).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWorkflowBundle } from '../bin/bundle-workflows.js';
import { createSecretBox, generateApiKey } from '../config/secrets.js';
import { connectDatabase, migrateDatabase } from '../db/client.js';
import { provisionTenant, upsertPool } from '../db/provision.js';
import { localServiceAccount } from '../dev/service-account.js';
import { savePushCredential } from '../domain/push/credentials.js';
import { startDnsServer } from '../dev/dns-server.js';
import { startEmbeddedPostgres, userTmpDir, type EmbeddedPg } from '../dev/embedded-postgres.js';
import { startFcmEndpoint } from '../dev/fcm-endpoint.js';
import { freePort } from '../dev/ports.js';
import { startTemporalDevServer, type TemporalDevServer } from '../dev/temporal-server.js';
import { startChild, type Child } from './children.js';
import { startChaosReceivers } from './chaos-receivers.js';
import { failed, formatTable, summarise, type Channel, type ChaosEvent, type NotificationFacts } from './chaos-report.js';
import { triggerUntilAccepted, type TriggerStats } from './chaos-trigger.js';

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const COUNT = num('CHAOS_COUNT', 1000);
const KILLS = num('CHAOS_KILLS', 10);
const PG_RESTARTS = num('CHAOS_PG_RESTARTS', 2);
const TEMPORAL_RESTARTS = num('CHAOS_TEMPORAL_RESTARTS', 1);
const RATE = num('CHAOS_RATE', 15);
const DROP = num('CHAOS_DROP', 0.05);
const SETTLE_MS = num('CHAOS_SETTLE_S', 300) * 1000;
const SEED = num('CHAOS_SEED', Date.now() % 100_000);

/** Mailbox providers by MX suffix (config/provider-rules.json), each its own receiver address. */
const PROVIDERS = [
  { name: 'gmail', domain: 'gmail.chaos.test', mx: 'gmail-smtp-in.l.google.com', address: '127.0.0.21' },
  { name: 'outlook', domain: 'outlook.chaos.test', mx: 'chaos-test.mail.protection.outlook.com', address: '127.0.0.22' },
  { name: 'yahoo', domain: 'yahoo.chaos.test', mx: 'mta5.am0.yahoodns.net', address: '127.0.0.23' },
  { name: 'orange', domain: 'orange.chaos.test', mx: 'smtp-in.orange.fr', address: '127.0.0.24' },
];
const POOL_IPS = ['127.0.0.31', '127.0.0.32', '127.0.0.33'];

// A small seeded generator: the same CHAOS_SEED gives the same user mix and fault order.
let seedState = SEED || 1;
const random = () => {
  seedState = (seedState * 1103515245 + 12345) % 2 ** 31;
  return seedState / 2 ** 31;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (m: string) => console.log(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

/** Users: most e-mail only over the providers, some push only, some push and e-mail. */
function userMix(n: number): { id: string; email: string; channels: Channel[] }[] {
  return Array.from({ length: n }, (_, i) => {
    const p = PROVIDERS[i % PROVIDERS.length]!;
    const kind = i % 10;
    const channels: Channel[] = kind < 6 ? ['email'] : kind < 8 ? ['push'] : ['email', 'push'];
    return { id: `chaos-u${i}`, email: `user${i}@${p.domain}`, channels };
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'notiflow-chaos-'));
const stops: (() => Promise<unknown>)[] = [];
const events: ChaosEvent[] = [];

async function main(): Promise<number> {
  log(
    `seed ${SEED}: ${COUNT} notifications at ${RATE}/s, ${KILLS} worker kills, ${PG_RESTARTS} PostgreSQL and ${TEMPORAL_RESTARTS} Temporal restarts, ${DROP * 100}% of DATA cut`,
  );
  const pgPort = await freePort();
  // Under the user's scratch dir, which the postgres user can reach when we run as root.
  const pgDir = join(userTmpDir(), `chaos-pg-${pgPort}`);
  stops.push(async () => rmSync(pgDir, { recursive: true, force: true }));
  let pg: EmbeddedPg = await startEmbeddedPostgres({ port: pgPort, dir: pgDir, database: 'notiflow_chaos' });
  stops.push(() => pg.stop());
  await migrateDatabase(pg.url);
  const databaseUrl = pg.url;

  const temporalPort = await freePort();
  const temporalUiPort = await freePort();
  const temporalOpts = {
    port: temporalPort,
    uiPort: temporalUiPort,
    headless: true,
    dbFile: join(tmp, 'temporal.db'),
    cliPath: process.env.TEMPORAL_CLI_PATH,
  };
  let temporal: TemporalDevServer = await startTemporalDevServer(temporalOpts);
  stops.push(() => temporal.stop());

  const mxPort = await freePort();
  const dns = await startDnsServer({
    zone: {
      mx: Object.fromEntries(PROVIDERS.map((p) => [p.domain, [{ exchange: p.mx, priority: 10 }]])),
      a: Object.fromEntries(PROVIDERS.map((p) => [p.mx, [p.address]])),
    },
  });
  stops.push(() => dns.close());
  const receivers = await startChaosReceivers({ receivers: PROVIDERS, port: mxPort, dropShare: DROP });
  stops.push(() => receivers.close());
  const fcm = await startFcmEndpoint({ host: '127.0.0.1', port: 0 });
  stops.push(() => fcm.close());
  const caFile = join(tmp, 'fcm-ca.pem');
  writeFileSync(caFile, fcm.caPem);

  const database = connectDatabase(databaseUrl, { max: 4 });
  stops.push(() => database.close());
  const secretKey = randomBytes(32).toString('base64');
  const tenantId = `chaos-${randomBytes(3).toString('hex')}`;
  const apiKey = generateApiKey('nf_chaos');
  await upsertPool(database.db, {
    id: `${tenantId}-pool`,
    name: 'chaos pool',
    kind: 'dedicated',
    relayHost: null,
    relayPort: null,
    ips: POOL_IPS.map((ip, i) => ({ id: `${tenantId}-ip${i + 1}`, localAddress: ip, ehloName: `mta${i + 1}.chaos.test` })),
  });
  const secrets = createSecretBox(Buffer.from(secretKey, 'base64'));
  await provisionTenant(database.db, secrets, {
    id: tenantId,
    name: 'Chaos Bank',
    poolId: `${tenantId}-pool`,
    domain: `${tenantId}.bank.test`,
    apiKey,
  });
  // Its own Firebase project, as every tenant that pushes has (here on the local endpoint).
  await savePushCredential(database.db, secrets, tenantId, localServiceAccount(`push-${tenantId}`));

  log('bundling the workflows once (the worker restarts load it)');
  const childEnv = {
    WORKFLOW_BUNDLE_PATH: await writeWorkflowBundle(join(tmp, 'workflow-bundle.js')),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'chaos-notifications',
    SECRET_KEY: secretKey,
    TEMPORAL_PAYLOAD_KEYS: `chaos:${randomBytes(32).toString('base64')}`,
    FCM_LOCAL_ENDPOINT: `${fcm.host}:${fcm.port}`,
    FCM_LOCAL_CA_FILE: caFile,
    DNS_SERVERS: dns.address,
    SMTP_MX_PORT: String(mxPort),
    // The receivers' MX hosts resolve to loopback, which production refuses unless the operator opens it.
    MX_ALLOW_PRIVATE: '127.0.0.0/8',
    PUBLIC_URL: 'https://notifications.chaos.test',
    LOG_LEVEL: 'info', // the ready lines ("worker started", "api listening") are info
  };

  // The worker as a supervisor would run it: restarted when it dies, whoever killed it.
  let worker: Child | undefined;
  // A restart under way after the worker died by itself: a planned kill waits for it, or it would
  // wait for the exit of a process that has already exited (the CI run hung there for good).
  let restarting: Promise<void> | undefined;
  let killing = false;
  let stopping = false;
  let startFailures = 0;
  const startWorker = async (): Promise<void> => {
    for (;;) {
      try {
        const child = await startChild('bin/worker.ts', childEnv, { ready: /worker started/, label: 'engine worker', timeoutMs: 180_000 });
        worker = child;
        child.proc.once('exit', (code, signal) => {
          if (killing || stopping) return;
          const at = Date.now();
          log(`worker exited by itself (${signal ?? code}): restarting. Its last output:\n${child.output().slice(-1500)}`);
          restarting = startWorker().then(() => {
            events.push({ kind: 'worker exited by itself', at, until: Date.now() });
          });
        });
        return;
      } catch (err) {
        // It stopped before serving (e.g. Temporal restarting while it created its schedules): start it again.
        startFailures++;
        log(`worker did not start, starting it again: ${String(err).split('\n').slice(0, 4).join(' | ')}`);
        await sleep(1_000);
      }
    }
  };
  // Should this run crash, its worker and API go with it.
  process.once('exit', () => worker?.proc.kill('SIGKILL'));
  log('starting the worker and the API (bin/worker.ts, bin/api.ts)');
  await startWorker();
  stops.push(async () => {
    stopping = true;
    await worker?.stop();
  });
  const apiPort = await freePort();
  const api = await startChild(
    'bin/api.ts',
    {
      ...childEnv,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      // The run measures delivery, not the API's rate limits: the tenant's are set out of the way.
      RATE_LIMIT_REQUESTS_PER_SECOND: String(num('CHAOS_API_RPS', 10_000)),
      RATE_LIMIT_REQUESTS_BURST: String(num('CHAOS_API_RPS', 10_000) * 2),
    },
    { ready: /api listening/, label: 'API' },
  );
  let apiStopping = false;
  stops.push(() => {
    apiStopping = true;
    return api.stop();
  });
  process.once('exit', () => api.proc.kill('SIGKILL'));
  // The API must live through every fault here: if it dies, the run says so and fails at once
  // (its triggers would otherwise retry against a closed port for ever).
  api.proc.once('exit', (code, signal) => {
    if (apiStopping || stopping) return;
    log(`the API exited by itself (${code ?? signal}); its last output:\n${api.output()}`);
    process.exit(1);
  });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const users = userMix(Math.min(COUNT, 200));
  log(`creating ${users.length} users through the API`);
  for (const u of users) {
    const push = u.channels.includes('push');
    const put = await call('PUT', `/v1/users/${u.id}`, { email: u.email, locale: 'en', ...(push ? { pushTokens: [`chaos-token-${u.id}`] } : {}) });
    if (put.status >= 300) throw new Error(`PUT user: ${put.status} ${await put.text()}`);
    if (push) {
      const prefs = await call('PUT', `/v1/users/${u.id}/preferences`, { categories: { transactions: u.channels } });
      if (prefs.status !== 200) throw new Error(`PUT preferences: ${prefs.status} ${await prefs.text()}`);
    }
  }

  // The faults, in a seeded order, spread over the time the triggers take plus a margin.
  const faults: ChaosEvent['kind'][] = [
    ...Array<ChaosEvent['kind']>(KILLS).fill('worker killed'),
    ...Array<ChaosEvent['kind']>(PG_RESTARTS).fill('PostgreSQL restarted'),
    ...Array<ChaosEvent['kind']>(TEMPORAL_RESTARTS).fill('Temporal restarted'),
  ].sort(() => random() - 0.5);
  const span = (COUNT / RATE) * 1000 * 1.2 + 5_000;
  const t1 = Date.now();
  const chaos = (async () => {
    for (const [i, kind] of faults.entries()) {
      // Each part gets a few seconds of work after coming back before the next fault.
      await sleep(Math.max(3_000 + random() * 5_000, t1 + ((i + 1) * span) / (faults.length + 1) - Date.now()));
      const at = Date.now();
      if (kind === 'worker killed') {
        await restarting;
        killing = true;
        const proc = worker!.proc;
        const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
        killing = false;
        await startWorker();
      } else if (kind === 'PostgreSQL restarted') {
        await pg.stop();
        await sleep(2_000);
        pg = await startEmbeddedPostgres({ port: pgPort, dir: pgDir, database: 'notiflow_chaos' });
      } else {
        await temporal.stop();
        await sleep(2_000);
        temporal = await startTemporalDevServer(temporalOpts);
      }
      events.push({ kind, at, until: Date.now() });
      log(`${kind} (back after ${((Date.now() - at) / 1000).toFixed(1)} s)`);
    }
  })();
  chaos.catch(() => {}); // awaited below; a failure must not crash the run before the triggers are in

  log(`triggering ${COUNT} notifications at ${RATE}/s`);
  const stats: TriggerStats = { retries: 0, byCause: {} };
  const triggered: { id: string; expected: Channel[] }[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < COUNT; i++) {
    await sleep(Math.max(0, t1 + (i * 1000) / RATE - Date.now()));
    const user = users[i % users.length]!;
    const body = {
      userId: user.id,
      type: 'account.transaction',
      data: { amount: 10 + i, currency: 'EUR', merchant: 'Chaos Shop', accountLast4: '4242' },
    };
    pending.push(
      triggerUntilAccepted(call, body, `chaos-${tenantId}-${i}`, stats).then((id) => {
        triggered.push({ id, expected: user.channels });
      }),
    );
  }
  await Promise.all(pending);
  log(`all ${COUNT} triggers accepted (${stats.retries} retries: ${JSON.stringify(stats.byCause)}); waiting for the faults to finish`);
  await chaos;

  log(`waiting up to ${SETTLE_MS / 1000} s for every notification to reach a final status`);
  const settleBy = Date.now() + SETTLE_MS;
  let polls = 0;
  for (;;) {
    const [row] = await database.sql<{ open: number }[]>`
      select count(*)::int as open from notifications where tenant_id = ${tenantId} and status in ('accepted', 'running', 'scheduled')`.catch(
      (err: unknown) => {
        log(`status query failed: ${String(err)}`);
        return [{ open: -1 }];
      },
    );
    if (row!.open === 0 || Date.now() > settleBy) break;
    if (++polls % 10 === 0) log(`${row!.open} notifications not final yet`);
    await sleep(2_000);
  }
  await sleep(3_000); // a last 250 or FCM answer on its way

  log('collecting what the receivers got and what the engine says');
  const copies = new Map<string, Record<Channel, number[]>>();
  const copiesOf = (id: string) => copies.get(id) ?? copies.set(id, { email: [], push: [] }).get(id)!;
  for (const a of receivers.arrivals) copiesOf(a.notificationId).email.push(a.at);
  for (const p of fcm.received) if (p.data?.notificationId) copiesOf(p.data.notificationId).push.push(Date.parse(p.receivedAt));
  const attempts = await database.sql<{ notification_id: string; channel: Channel; started_at: string; finished_at: string }[]>`
    select a.notification_id, a.channel, a.started_at, a.finished_at from delivery_attempts a
    join notifications n on n.id = a.notification_id
    where n.tenant_id = ${tenantId} and a.outcome = 'accepted'`;
  const facts: NotificationFacts[] = [];
  for (const t of triggered) {
    let res = await call('GET', `/v1/notifications/${t.id}`);
    for (let i = 0; i < 10 && (res.status === 429 || res.status >= 500); i++) {
      await sleep(1_000);
      res = await call('GET', `/v1/notifications/${t.id}`);
    }
    const body = res.status === 200 ? ((await res.json()) as { status: string; deliveredChannels: Channel[] }) : undefined;
    facts.push({
      id: t.id,
      expected: t.expected,
      copies: copiesOf(t.id),
      recorded: attempts
        .filter((a) => a.notification_id === t.id)
        .map((a) => ({ channel: a.channel, startedAt: Date.parse(String(a.started_at)), finishedAt: Date.parse(String(a.finished_at)) })),
      status: body?.status,
      deliveredChannels: body?.deliveredChannels,
    });
  }
  const strays = [...copies.keys()].filter((id) => !triggered.some((t) => t.id === id)).length;
  const summary = summarise(facts, events);
  const count = (k: ChaosEvent['kind']) => events.filter((e) => e.kind === k).length;
  console.log(
    `\n${formatTable(summary, [
      ['trigger retries (5xx, 503, connection refused)', `${stats.retries} ${JSON.stringify(stats.byCause)}`],
      ['worker SIGKILLs', count('worker killed')],
      ['worker exits on its own (restarted)', count('worker exited by itself')],
      ['worker starts that failed (restarted)', startFailures],
      ['PostgreSQL restarts', count('PostgreSQL restarted')],
      ['Temporal restarts (state kept)', count('Temporal restarted')],
      ['DATA transactions cut by receivers', receivers.dropped],
      ['messages at the receivers for no triggered id', strays],
      ['run time (s)', Math.round((Date.now() - t0) / 1000)],
    ])}\n`,
  );
  const iso = (ms: number) => new Date(ms).toISOString().slice(11, 23);
  for (const d of summary.duplicates)
    console.log(
      `duplicate ${d.channel} ${d.id}: first 250 at ${iso(d.firstAt)}, again at ${iso(d.againAt)}: ${d.cause ?? `UNEXPLAINED, ${d.problem}`}`,
    );
  for (const id of summary.lost.slice(0, 20)) console.log(`lost ${id}: ${JSON.stringify(facts.find((f) => f.id === id))}`);
  for (const d of summary.disagreements.slice(0, 20)) console.log(`disagreement ${d.id}: ${JSON.stringify(d)}`);
  console.log(`faults: ${events.map((e) => `${iso(e.at)} ${e.kind} (${e.until - e.at} ms)`).join('; ')}`);
  return failed(summary) ? 1 : 0;
}

main()
  .then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 2;
    },
  )
  .finally(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
    // Timers of the SMTP pools or sockets of the API calls must not hold the run open.
    setTimeout(() => process.exit(), 2_000).unref();
  });
