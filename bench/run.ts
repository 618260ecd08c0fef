// `npm run bench`: brings up the engine on embedded servers (or DATABASE_URL / TEMPORAL_ADDRESS),
// measures it against Temporal's and SMTP's own ceilings in the same run, prints a table and
// writes bench/results/latest.json. Flags: --scale=1k|10k|100k (largest burst; default 10k),
// --reads-at=100k|1m (table size for the read test; default 100k), --ceiling-n=2000,
// --half-seconds=30, --connections=32, --budget-s=420 (when larger bursts stop waiting),
// --worker-env=KEY=VALUE,... (extra worker environment for tuning experiments), --worker-node-args=--flag,...
// (node/V8 flags for the worker, after those of npm run start:worker), --from-source (bin/*.ts through
// tsx instead of the build), --bundle-at-start (from source, the worker bundles workflows/ itself
// instead of loading a prebuilt bundle), --profile-worker
// (V8 CPU profile of the worker, written to bench/results/profiles/ when it stops), --out=name.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../config/env.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { cpuMsOf, machineBusyMs, memoryOf, repoRoot, resetPeakRss } from './children.js';
import { temporalCeiling, smtpCeiling } from './ceilings.js';
import { awaitDeliveries } from './delivery.js';
import { pgCost, pgSnapshot } from './pg-cost.js';
import { historyShape } from './history.js';
import { hopBreakdown } from './hops.js';
import { insertSyntheticHistory, measureReads } from './reads.js';
import { printReport, type BenchReport } from './report.js';
import { startBenchStack } from './stack.js';
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
/** Larger bursts stop waiting for the inbox at this many seconds into the run (default run: about 10 minutes). */
const budgetS = Number(flags['budget-s'] ?? (maxScale > 10_000 ? 3600 : 420));
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
const stack = await startBenchStack(env, users, log, {
  bundleAtStart: flags['bundle-at-start'] === 'true',
  fromSource: flags['from-source'] === 'true',
});
let stopped = false;
const stop = async () => {
  if (stopped) return;
  stopped = true;
  await stack.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop().then(() => process.exit(130)));

try {
  if (Object.keys(workerEnv).length || workerNodeArgs.length) {
    log(`restarting the worker with ${JSON.stringify({ ...workerEnv, nodeArgs: workerNodeArgs })}`);
    await stack.restartWorker(workerEnv, workerNodeArgs);
  }
  const target = { apiUrl: stack.apiUrl, apiKey: stack.apiKey, users, runId: `bench-${randomBytes(4).toString('hex')}` };
  let runs = 0;
  const nextRun = () => ({ ...target, runId: `${target.runId}-${runs++}` });

  log('warm-up: 200 notifications');
  const warm = await triggerLoad(nextRun(), { amount: 200, connections: 8 });
  await awaitDeliveries(warm.sentAt, stack.arrivals, 120_000);
  const workerAfterWarmUp = memoryOf(stack.worker.pid);

  // Where the CPU goes: our three processes, and the whole machine (Temporal, Postgres and anyone else's work).
  const cpuSnapshot = () => ({
    worker: cpuMsOf(stack.worker.pid),
    api: cpuMsOf(stack.api.pid),
    inbox: cpuMsOf(stack.inbox.pid),
    bench: cpuMsOf(process.pid),
    machine: machineBusyMs(),
  });
  const cpuPer = (a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>, n: number) =>
    Object.fromEntries(Object.keys(a).map((k) => [k, round((b[k as keyof typeof a] - a[k as keyof typeof a]) / n, 2)]));
  // The API and load generator work per accepted request, the rest per delivered message.

  const pick = (o: Record<string, number>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]!]));

  const growth: BenchReport['growth'] = [];
  const reads: BenchReport['reads'] = [];
  let readIds: string[] = [];
  /** A burst of n; the wait for the inbox ends at `deadline` (later bursts share the run's time budget). */
  const burst = async (n: number, deadline: number) => {
    log(`burst of ${n} notifications (${connections} connections)`);
    const before = await pgSnapshot(stack.database.sql);
    resetPeakRss(stack.worker.pid);
    let sampledPeak = 0;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, memoryOf(stack.worker.pid)?.rssMb ?? 0);
    }, 250);
    const cpuBefore = cpuSnapshot();
    const load = await triggerLoad(nextRun(), { amount: n, connections });
    log(`  accepted ${load.accepted}/${load.requests} at ${load.reqPerS} req/s; waiting for the inbox`);
    const delivery = await awaitDeliveries(load.sentAt, stack.arrivals, Math.max(30_000, deadline - Date.now()), (d) =>
      log(`  delivered ${d}/${load.accepted}`),
    );
    clearInterval(sampler);
    const cpuAfter = cpuSnapshot();
    const cpu = {
      ...cpuPer(cpuBefore, cpuAfter, Math.max(1, delivery.delivered)),
      ...pick(cpuPer(cpuBefore, cpuAfter, Math.max(1, load.accepted)), ['api', 'bench']),
    };
    const mem = memoryOf(stack.worker.pid);
    const after = await pgSnapshot(stack.database.sql);
    // Per delivered notification: a burst cut short by the time budget still has its backlog's rows to write.
    const cost = await pgCost(stack.database.sql, before, after, delivery.timedOut ? delivery.delivered : load.accepted);
    growth.push({
      notifications: n,
      accept: { reqPerS: load.reqPerS, p50Ms: load.latencyMs.p50, p99Ms: load.latencyMs.p99, errors: load.errors },
      delivery,
      postgres: cost,
      workerPeakRssMb: round(Math.max(mem?.peakRssMb ?? 0, sampledPeak)),
      cpuMsPerNotification: cpu,
    });
    log(
      `  delivered ${delivery.delivered}/${load.accepted} at ${delivery.sustainedPerS}/s sustained, p99 ${delivery.latencyMs.p99} ms${delivery.timedOut ? ' (time budget reached)' : ''}`,
    );
    return load;
  };

  const first = await burst(scales[0]!, Date.now() + 600_000);
  // The same 100 real notifications are read again once the tables hold `readsAt` rows.
  readIds = [...first.sentAt.keys()].slice(0, 100);
  reads.push(await measureReads(stack.database.sql, stack, readIds));
  const firstNotification = (await (
    await fetch(`${stack.apiUrl}/v1/notifications/${readIds[0]}`, { headers: { authorization: `Bearer ${stack.apiKey}` } })
  ).json()) as { workflowId: string };
  const perNotification = await historyShape(stack.client, firstNotification.workflowId);

  const best = growth[0]!.delivery.sustainedPerS;
  const halfRate = Math.max(1, Math.floor(best / 2));
  log(`fixed rate: ${halfRate}/s (half of ${best}/s) for ${halfSeconds} s`);
  const half = await triggerPaced(nextRun(), { durationS: halfSeconds, ratePerS: halfRate });
  const halfDelivery = await awaitDeliveries(half.sentAt, stack.arrivals, 180_000);
  const halfHops = await hopBreakdown(stack.client, stack.database.sql, half.sentAt, stack.arrivals.at);

  log(`ceiling 1: ${ceilingN} no-op workflows straight from the Temporal client`);
  const temporal = await temporalCeiling(stack.client, stack.temporalAddress, ceilingN, 200);
  log(`  ${temporal.perS} workflows/s`);
  log(`ceiling 2: ${ceilingN} messages with nodemailer straight to the inbox`);
  const smtp = await smtpCeiling(stack.smtp, ceilingN, 200);
  log(`  ${smtp.perS} messages/s`);

  // Larger bursts last, within the time budget: on a busy 2-core machine 10k may not drain in time,
  // and then the figures cover what was delivered (marked "time budget reached").
  for (const n of scales.slice(1)) await burst(n, started + budgetS * 1000);
  // Freeze any backlog left by a cut-short burst so the reads below run on a quiet engine.
  await stack.worker.stop();

  const current = Number((await stack.database.sql<{ n: string }[]>`select count(*) as n from notifications`)[0]!.n);
  if (readsAt > current) {
    log(`growing the tables to ${readsAt} notifications with synthetic history`);
    await insertSyntheticHistory(stack.database.sql, stack.tenantId, readsAt - current, log);
  }
  reads.push(await measureReads(stack.database.sql, stack, readIds));

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
      halfSeconds,
      connections,
      budgetS,
      workerEnv,
      workerNodeArgs,
      bundleAtStart: flags['bundle-at-start'] === 'true',
      fromSource: flags['from-source'] === 'true',
    },
    growth,
    halfRate: {
      ratePerS: halfRate,
      accept: { reqPerS: half.reqPerS, p50Ms: half.latencyMs.p50, p99Ms: half.latencyMs.p99, errors: half.errors },
      delivery: halfDelivery,
      hops: halfHops,
    },
    ceilings: {
      temporal,
      smtp,
      engineVsTemporal: round(best / temporal.perS, 2),
      engineVsSmtp: round(best / smtp.perS, 2),
    },
    reads,
    temporalPerNotification: perNotification,
    workerRssAfterWarmUpMb: round(workerAfterWarmUp?.rssMb ?? 0),
    durationS: Math.round((Date.now() - started) / 1000),
  };
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // Named runs (--out=name, for before/after comparisons) leave latest.json to the plain run.
  writeFileSync(join(dir, `${flags.out ?? 'latest'}.json`), JSON.stringify(report, null, 2));
  printReport(report);
} finally {
  await stop();
}
