// `npm run bench:fairness`: tenant B's single security alert, trigger to SMTP accepted, while
// tenant A's burst is in flight (the worker's share per tenant: Temporal task queue priority and
// fairness, workflows/queues.ts). Brings up the same stack as `npm run bench`, fires A's
// burst (--burst=5000, 32 connections), then every --every-s=15 seconds one alert of B's, --alerts=6
// in all, each waited for at the inbox; prints each latency with A's backlog (accepted, not yet
// delivered) at that moment, and writes bench/results/fairness.json. --from-source skips the build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseEnv } from '../config/env.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { repoRoot } from './children.js';
import { hopBreakdown, HOPS } from './hops.js';
import { startBenchStack } from './stack.js';
import { percentiles, sleep } from './stats.js';
import { triggerLoad } from './trigger-load.js';

const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a))
    .filter((m) => m)
    .map((m) => [m![1]!, m![2] ?? 'true']),
);
const burst = Number(flags.burst ?? 5000);
const alerts = Number(flags.alerts ?? 6);
const everyS = Number(flags['every-s'] ?? 15);
const log = (m: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

installTemporalRuntime('ERROR');
const stack = await startBenchStack(parseEnv(process.env), 1000, log, { fromSource: flags['from-source'] === 'true' });
try {
  const tenantB = await stack.addTenant(1);
  const backlogA = async () => {
    const [row] = await stack.database.sql<{ n: string }[]>`
      select count(*) as n from notifications
      where tenant_id = ${stack.tenantId} and status not in ('delivered', 'failed', 'cancelled', 'skipped', 'suppressed')`;
    return Number(row!.n);
  };
  const sentB = new Map<string, number>();
  const alert = async (i: number) => {
    const t0 = Date.now();
    const res = await fetch(`${stack.apiUrl}/v1/notifications`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tenantB.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': `fair-${randomBytes(4).toString('hex')}-${i}`,
      },
      body: JSON.stringify({ userId: 'u1', type: 'security.new_device', data: { device: 'Pixel 9', city: 'Lyon', at: new Date().toISOString() } }),
    });
    if (res.status !== 202) throw new Error(`B's alert answered ${res.status}: ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const acceptMs = Date.now() - t0;
    const backlogAtTrigger = await backlogA();
    const deadline = Date.now() + 300_000;
    while (!stack.arrivals.at.has(id)) {
      if (Date.now() > deadline) throw new Error(`B's alert ${id} did not arrive within 300 s`);
      await sleep(20);
    }
    if (i >= 0) sentB.set(id, t0);
    return { latencyMs: stack.arrivals.at.get(id)! - t0, acceptMs, backlogAtTrigger, backlogAtArrival: await backlogA() };
  };

  log('warm-up: 100 notifications of A, 1 alert of B');
  await triggerLoad({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, users: 1000, runId: 'fair-warm' }, { amount: 100, connections: 8 });
  await alert(-1);
  while ((await backlogA()) > 0) await sleep(500);
  // The same alert with nothing else in flight: the figure to compare with.
  const idle = await alert(-2);
  log(`  B's alert alone: ${idle.latencyMs} ms trigger -> SMTP (accept ${idle.acceptMs} ms)`);

  log(`tenant A: burst of ${burst} (32 connections); tenant B: one security alert every ${everyS} s`);
  const started = Date.now();
  const loadA = triggerLoad({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, users: 1000, runId: 'fair-burst' }, { amount: burst, connections: 32 });
  const samples: Awaited<ReturnType<typeof alert>>[] = [];
  for (let i = 0; i < alerts; i++) {
    const due = started + (i + 1) * everyS * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    const s = await alert(i);
    samples.push(s);
    log(
      `  alert ${i + 1}: ${s.latencyMs} ms trigger -> SMTP (accept ${s.acceptMs} ms); A's backlog ${s.backlogAtTrigger} at trigger, ${s.backlogAtArrival} at arrival`,
    );
  }
  const a = await loadA;
  // Where B's time went, hop by hop (workflow histories), beside A's notifications delivered so far.
  const hopsB = await hopBreakdown(stack.client, stack.database.sql, sentB, stack.arrivals.at, alerts);
  const hopsA = await hopBreakdown(stack.client, stack.database.sql, a.sentAt, stack.arrivals.at, 100);
  for (const hop of Object.keys(HOPS) as (keyof typeof HOPS)[])
    log(`  ${hop.padEnd(14)} B p50 ${String(hopsB[hop].p50).padStart(7)} ms   A p50 ${String(hopsA[hop].p50).padStart(7)} ms  (${HOPS[hop]})`);
  const p = percentiles(
    samples.map((s) => s.latencyMs),
    [50, 100],
  );
  const report = {
    at: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
    loadAverage1m: loadavg()[0],
    idleAlertMs: idle.latencyMs,
    burstA: { notifications: burst, accepted: a.accepted, acceptReqPerS: a.reqPerS },
    hops: { b: hopsB, a: hopsA },
    alertB: { samples, p50Ms: p.p50, maxMs: p.p100, minBacklogA: Math.min(...samples.map((s) => s.backlogAtTrigger)) },
  };
  console.log(
    `\ntenant B's single alert, trigger -> SMTP, while A's burst of ${burst} is in flight: p50 ${p.p50} ms, max ${p.p100} ms ` +
      `(${samples.length} alerts; A's backlog at those moments ${report.alertB.minBacklogA}..${Math.max(...samples.map((s) => s.backlogAtTrigger))}); ` +
      `alone: ${idle.latencyMs} ms; A's burst accepted ${a.accepted} at ${a.reqPerS} req/s; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repoRoot, 'bench', 'results', 'fairness.json'), JSON.stringify(report, null, 2));
} finally {
  await stack.stop();
}
