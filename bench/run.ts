// `npm run bench`: brings up the engine on embedded servers (or DATABASE_URL / TEMPORAL_ADDRESS),
// measures it against Temporal's and SMTP's own ceilings in the same run, prints a table and
// writes bench/results/latest.json. Finishes within --max-s (default 590 s): every phase has a
// deadline, the larger bursts get what is left of --budget-s, and the results are written after
// every phase (a phase that fails or is cut is written with its reason).
// Flags: --scale=1k|10k|100k (largest burst; default 10k), --reads-at=100k|1m (table size for the
// read test; default 100k), --ceiling-n=2000, --ceiling-s=200 (its deadline), --half-seconds=30, --connections=32, --budget-s=450
// (when the larger bursts must end), --max-s=590 (hard end of the run),
// --workers=1, --apis=1 (engine processes), --temporal=postgres (temporal-server on PostgreSQL
// instead of the dev server, built by bench/temporal-server.sh), --temporal-metrics=URL (a self-hosted server's
// Prometheus endpoint, with TEMPORAL_ADDRESS), --worker-env=KEY=VALUE,... (extra worker
// environment for tuning experiments), --worker-node-args=--flag,... (node/V8 flags for the worker,
// after those of npm run start:worker), --from-source (bin/*.ts through tsx instead of the build),
// --bundle-at-start (from source, the worker bundles workflows/ itself instead of loading a
// prebuilt bundle), --profile-worker (V8 CPU profile of the worker, written to
// bench/results/profiles/ when it stops), --out=name.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../config/env.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { countActions, scrapeServerActions, serverActionsPer } from './actions.js';
import { cpuMsOf, machineBusyMs, memoryOf, repoRoot, resetPeakRss } from './children.js';
import { temporalCeiling, smtpCeiling } from './ceilings.js';
import { Cut, withDeadline } from './deadline.js';
import { awaitDeliveries } from './delivery.js';
import { pgCost, pgSnapshot } from './pg-cost.js';
import { statementCost, statementSnapshot } from './pg-statements.js';
import { hopBreakdown } from './hops.js';
import { insertSyntheticHistory, measureReads } from './reads.js';
import { printReport, type BenchReport, type Growth } from './report.js';
import { startBenchStack, type BenchStack } from './stack.js';
import { round } from './stats.js';
import { triggerLoad, triggerPaced } from './trigger-load.js';

const size = (s: string) => {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`Not a size: ${s} (use 1k, 10k, 100k, 1m)`);
  return Math.round(Number(m[1]) * (m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1));
};
const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a))
    .filter((m) => m)
    .map((m) => [m![1]!, m![2] ?? 'true']),
);
const maxScale = size(flags.scale ?? '10k');
const scales = [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= maxScale);
if (scales.length === 0) scales.push(maxScale);
const readsAt = size(flags['reads-at'] ?? '100k');
const ceilingN = size(flags['ceiling-n'] ?? '2000');
const halfSeconds = Number(flags['half-seconds'] ?? 30);
const connections = Number(flags.connections ?? 32);
/** Deadline of the Temporal ceiling: it is never cut by the budget, but it cannot wait forever either. */
const ceilingS = Number(flags['ceiling-s'] ?? Math.max(150, ceilingN / 10));
const large = maxScale > 10_000 || readsAt > 100_000;
/** The larger bursts and the read growth end by this many seconds into the run (default run: 8 minutes). */
const budgetS = Number(flags['budget-s'] ?? (large ? 3600 : 450));
/** The run ends by then whatever it is doing, with what it measured written out (default: under 10 minutes). */
const maxS = Number(flags['max-s'] ?? Math.max(590, budgetS + 110));
const workerCount = Number(flags.workers ?? 1);
const apiCount = Number(flags.apis ?? 1);
const workerEnv = Object.fromEntries(
  (flags['worker-env'] ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const workerNodeArgs = [
  ...(flags['profile-worker'] === 'true' ? ['--cpu-prof', `--cpu-prof-dir=${join(repoRoot, 'bench', 'results', 'profiles')}`] : []),
  ...(flags['worker-node-args'] ?? '').split(',').filter(Boolean),
];

const log = (m: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);
installTemporalRuntime('ERROR');
const env = parseEnv(process.env);
const users = Math.min(10_000, Math.max(1_000, maxScale));
const started = Date.now();
const budgetEnd = started + budgetS * 1000;
const hardEnd = started + maxS * 1000;

const report: BenchReport = {
  at: new Date().toISOString(),
  machine: {
    cpus: availableParallelism(),
    model: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 2 ** 30),
    loadAvgAtStart: loadavg().map((l) => round(l, 2)),
    node: process.version,
  },
  options: {
    scales,
    readsAt,
    ceilingN,
    ceilingS,
    halfSeconds,
    connections,
    budgetS,
    maxS,
    workers: workerCount,
    apis: apiCount,
    temporal: env.TEMPORAL_ADDRESS
      ? 'external (TEMPORAL_ADDRESS)'
      : flags.temporal === 'postgres'
        ? 'temporal-server v1.29.1, PostgreSQL persistence (--temporal=postgres)'
        : 'dev server (in-memory SQLite)',
    workerEnv,
    workerNodeArgs,
    bundleAtStart: flags['bundle-at-start'] === 'true',
    fromSource: flags['from-source'] === 'true',
  },
  phases: [],
  growth: [],
  reads: [],
  durationS: 0,
};
const outFile = join(repoRoot, 'bench', 'results', `${flags.out ?? 'latest'}.json`);
/** Written after every phase, so a run that is killed or cut still leaves what it measured. */
const save = () => {
  report.durationS = Math.round((Date.now() - started) / 1000);
  mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
  // Named runs (--out=name, for before/after comparisons) leave latest.json to the plain run.
  writeFileSync(outFile, JSON.stringify(report, null, 2));
};

/** The stack once it is up (the stop below may run before that). */
const running: { stack?: BenchStack } = {};
let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= withDeadline(running.stack?.stop() ?? Promise.resolve(), 40_000, 'stopping the stack').catch((err: unknown) => log(String(err))));
/** The phase under way, if any: marked cut when the run stops in the middle of it. */
let current: { entry: BenchReport['phases'][number]; t0: number } | undefined;
const finish = async (code: number, reason?: string) => {
  if (reason) {
    report.stopped = reason;
    if (current) {
      current.entry.status = 'cut';
      current.entry.reason = reason;
      current.entry.seconds = Math.round((Date.now() - current.t0) / 1000);
    }
  }
  save();
  await stop();
  log(`results written to ${outFile}`);
  process.exit(code);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish(130, `interrupted (${signal})`));
// The hard end: whatever phase is running, the figures so far are written and the run stops.
const watchdog = setTimeout(() => {
  log(`--max-s=${maxS} reached: writing what was measured and stopping`);
  const stopped = finish(0, `run stopped at --max-s=${maxS}`);
  printReport(report);
  void stopped;
}, hardEnd - Date.now());
watchdog.unref();

/** Runs one phase with its own deadline; its failure or cut is recorded and the run goes on. */
async function phase<T>(name: string, capMs: number, fn: (deadline: number) => Promise<T>): Promise<T | undefined> {
  const t0 = Date.now();
  const deadline = t0 + capMs;
  const entry: BenchReport['phases'][number] = { name, status: 'ok', seconds: 0 };
  report.phases.push(entry);
  current = { entry, t0 };
  try {
    // The phase watches its own deadline; this outer one (a little later) catches a wait that does not.
    return await withDeadline(fn(deadline), capMs + 20_000, name);
  } catch (err) {
    entry.status = err instanceof Cut ? 'cut' : 'failed';
    entry.reason = err instanceof Error ? err.message : String(err);
    log(`  ${name} ${entry.status}: ${entry.reason}`);
    return undefined;
  } finally {
    current = undefined;
    entry.seconds = Math.round((Date.now() - t0) / 1000);
    save();
  }
}
const cutPhase = (reason: string) => {
  const entry = report.phases.at(-1)!;
  entry.status = 'cut';
  entry.reason = reason;
};

running.stack = await phase('setup', Math.max(60_000, hardEnd - Date.now() - 60_000), () =>
  startBenchStack(env, users, log, {
    bundleAtStart: flags['bundle-at-start'] === 'true',
    fromSource: flags['from-source'] === 'true',
    workers: workerCount,
    apis: apiCount,
    temporalMetricsUrl: flags['temporal-metrics'],
    temporal: flags.temporal === 'postgres' ? 'postgres' : 'dev',
  }),
);
if (!running.stack) await finish(1, 'the stack did not start');
const s = running.stack!;

if (Object.keys(workerEnv).length || workerNodeArgs.length) {
  log(`restarting the worker with ${JSON.stringify({ ...workerEnv, nodeArgs: workerNodeArgs })}`);
  await phase('worker restart', 180_000, () => s.restartWorker(workerEnv, workerNodeArgs));
}
const target = { apiUrl: s.apiUrl, apiUrls: s.apiUrls, apiKey: s.apiKey, users, runId: `bench-${randomBytes(4).toString('hex')}` };
let runs = 0;
const nextRun = () => ({ ...target, runId: `${target.runId}-${runs++}` });
const namespace = env.TEMPORAL_NAMESPACE;

// Where the CPU goes: our processes (all workers, all APIs), Temporal (dev server), the whole machine.
const sum = (pids: number[]) => pids.reduce((a, p) => a + cpuMsOf(p), 0);
const cpuSnapshot = () => ({
  worker: sum(s.workers.map((w) => w.pid)),
  api: sum(s.apis.map((a) => a.pid)),
  inbox: cpuMsOf(s.inbox.pid),
  ...(s.temporalPid ? { temporalServer: cpuMsOf(s.temporalPid) } : {}),
  bench: cpuMsOf(process.pid),
  machine: machineBusyMs(),
});
type Cpu = ReturnType<typeof cpuSnapshot>;
const cpuPer = (a: Cpu, b: Cpu, n: number) =>
  Object.fromEntries(Object.keys(a).map((k) => [k, round(((b as Record<string, number>)[k]! - (a as Record<string, number>)[k]!) / n, 2)]));
const pick = (o: Record<string, number>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]!]));
const workerRss = () => Math.max(...s.workers.map((w) => memoryOf(w.pid)?.rssMb ?? 0));

log('warm-up: 200 notifications');
await phase('warm-up', 150_000, async (deadline) => {
  const warm = await triggerLoad(nextRun(), { amount: 200, connections: 8, durationS: Math.round((deadline - Date.now()) / 2000) });
  const d = await awaitDeliveries(warm.sentAt, s.arrivals, deadline - Date.now());
  if (d.timedOut) cutPhase(`${d.delivered}/${warm.accepted} delivered before the deadline`);
  report.workerRssAfterWarmUpMb = round(workerRss());
});

// The ceilings come before the bursts: the engine has no backlog then, and no budget can cut them.
log(`ceiling 1: ${ceilingN} no-op workflows straight from the Temporal client`);
await phase('ceiling: Temporal', ceilingS * 1000, async (deadline) => {
  const temporal = await temporalCeiling(
    s.client,
    { temporalAddress: s.temporalAddress, payloadKeys: s.payloadKeys, ...(s.temporalPid ? { temporalPid: s.temporalPid } : {}) },
    ceilingN,
    200,
    deadline,
    log,
  );
  report.ceilings = { ...report.ceilings, temporal };
  if (temporal.cut) cutPhase(temporal.cut);
  log(`  ${temporal.perS} workflows/s`);
});
log(`ceiling 2: ${ceilingN} messages with nodemailer straight to the inbox`);
await phase('ceiling: SMTP', 90_000, async (deadline) => {
  const smtp = await smtpCeiling(s.smtp, ceilingN, 200, deadline);
  report.ceilings = { ...report.ceilings, smtp };
  if (smtp.cut) cutPhase(smtp.cut);
  log(`  ${smtp.perS} messages/s`);
});

/** A burst of n: accepting stops and the wait for the inbox ends at `deadline`. */
const burst = async (n: number, deadline: number) => {
  log(`burst of ${n} notifications (${connections} connections)`);
  const before = await pgSnapshot(s.database.sql);
  const statementsBefore = await statementSnapshot(s.database.sql, s.statementStats);
  const actionsBefore = await scrapeServerActions(s.temporalMetricsUrl, namespace);
  for (const w of s.workers) resetPeakRss(w.pid);
  let sampledPeak = 0;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, workerRss());
  }, 250);
  try {
    const cpuBefore = cpuSnapshot();
    const load = await triggerLoad(nextRun(), {
      amount: n,
      connections,
      durationS: Math.max(5, Math.round((deadline - Date.now()) / 1000) - 30),
    });
    log(`  accepted ${load.accepted}/${load.requests} at ${load.reqPerS} req/s; waiting for the inbox`);
    const delivery = await awaitDeliveries(load.sentAt, s.arrivals, Math.max(10_000, deadline - Date.now()), (d) =>
      log(`  delivered ${d}/${load.accepted}`),
    );
    const cpuAfter = cpuSnapshot();
    const statementsAfter = await statementSnapshot(s.database.sql, s.statementStats);
    const actionsAfter = await scrapeServerActions(s.temporalMetricsUrl, namespace);
    // The API and load generator work per accepted request, the rest per delivered message.
    const cpu = {
      ...cpuPer(cpuBefore, cpuAfter, Math.max(1, delivery.delivered)),
      ...pick(cpuPer(cpuBefore, cpuAfter, Math.max(1, load.accepted)), ['api', 'bench']),
    };
    const peak = Math.max(...s.workers.map((w) => memoryOf(w.pid)?.peakRssMb ?? 0), sampledPeak);
    const after = await pgSnapshot(s.database.sql);
    // Per delivered notification when cut short: the backlog's rows are still to be written.
    const per = delivery.timedOut ? delivery.delivered : load.accepted;
    const growth: Growth = {
      notifications: n,
      accept: { reqPerS: load.reqPerS, p50Ms: load.latencyMs.p50, p99Ms: load.latencyMs.p99, errors: load.errors, accepted: load.accepted },
      delivery,
      postgres: await pgCost(s.database.sql, before, after, per),
      statements: statementCost(statementsBefore, statementsAfter, per),
      serverActions: serverActionsPer(actionsBefore, actionsAfter, per),
      workerPeakRssMb: round(peak),
      cpuMsPerNotification: cpu,
    };
    report.growth.push(growth);
    if (load.requests < n) cutPhase(`sent ${load.requests} of ${n} requests before the deadline`);
    else if (delivery.timedOut) cutPhase(`${delivery.delivered}/${load.accepted} delivered before the deadline (time budget)`);
    log(
      `  delivered ${delivery.delivered}/${load.accepted} at ${delivery.sustainedPerS}/s sustained, p99 ${delivery.latencyMs.p99} ms${delivery.timedOut ? ' (deadline reached)' : ''}`,
    );
    return load;
  } finally {
    clearInterval(sampler);
  }
};

const first = await phase(`burst ${scales[0]}`, 300_000, (deadline) => burst(scales[0]!, deadline));
const firstIds = first ? [...first.sentAt.keys()].filter((id) => s.arrivals.at.has(id)) : [];

// Temporal actions per notification, from the histories of delivered notifications of that burst.
await phase('actions from histories', 90_000, async () => {
  const ids = firstIds.slice(0, 50);
  if (!ids.length) throw new Error('no delivered notification to count');
  const rows = await s.database.sql<{ workflow_id: string }[]>`select workflow_id from notifications where id in ${s.database.sql(ids)}`;
  report.actions = await countActions(
    s.client,
    rows.map((r) => r.workflow_id),
    50,
  );
});

const best = report.growth[0]?.delivery.sustainedPerS ?? 0;
const halfRate = Math.max(1, Math.floor(best / 2));
log(`fixed rate: ${halfRate}/s (half of ${best}/s) for ${halfSeconds} s`);
await phase('half rate', halfSeconds * 1000 + 120_000, async (deadline) => {
  const half = await triggerPaced(nextRun(), { durationS: halfSeconds, ratePerS: halfRate });
  const delivery = await awaitDeliveries(half.sentAt, s.arrivals, Math.max(10_000, deadline - Date.now() - 30_000));
  report.halfRate = {
    ratePerS: halfRate,
    accept: { reqPerS: half.reqPerS, p50Ms: half.latencyMs.p50, p99Ms: half.latencyMs.p99, errors: half.errors, accepted: half.accepted },
    delivery,
  };
  if (delivery.timedOut) cutPhase(`${delivery.delivered}/${half.accepted} delivered before the deadline`);
  report.halfRate.hops = await withDeadline(hopBreakdown(s.client, s.database.sql, half.sentAt, s.arrivals.at), 60_000, 'hop breakdown');
});

// Larger bursts last, within the time budget: on a busy 2-core machine 10k does not drain in
// time, and then the figures cover what was delivered (marked cut, with the reason).
for (const n of scales.slice(1)) {
  const left = budgetEnd - Date.now();
  if (left < 60_000) {
    report.phases.push({
      name: `burst ${n}`,
      status: 'cut',
      seconds: 0,
      reason: `skipped: ${Math.round(left / 1000)} s left of --budget-s=${budgetS}`,
    });
    save();
    continue;
  }
  await phase(`burst ${n}`, left, (deadline) => burst(n, deadline));
}

// Freeze any backlog left by a cut-short burst so the reads below run on a quiet engine.
await phase('stop workers', 30_000, () => Promise.all(s.workers.map((w) => w.stop())));
const readIds = firstIds.slice(0, 100);
if (readIds.length) {
  await phase('reads', 60_000, async (deadline) => {
    report.reads.push(await measureReads(s.database.sql, s, readIds, deadline - 10_000));
  });
  const current = Number((await s.database.sql<{ n: string }[]>`select count(*) as n from notifications`)[0]!.n);
  const growTo = readsAt;
  await phase(`reads at ${growTo}`, Math.max(30_000, hardEnd - 30_000 - Date.now()), async (deadline) => {
    if (growTo > current) {
      log(`growing the tables to ${growTo} notifications with synthetic history`);
      await insertSyntheticHistory(s.database.sql, s.tenantId, growTo - current, log, deadline - 25_000);
    }
    report.reads.push(await measureReads(s.database.sql, s, readIds, deadline - 10_000));
  });
}

clearTimeout(watchdog);
save();
printReport(report);
log(`results written to ${outFile}`);
await stop();
process.exit(0);
