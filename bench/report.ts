import type { CeilingResult } from './ceilings.js';
import type { DeliveryResult } from './delivery.js';
import type { HistoryShape } from './history.js';
import { HOPS, type Hop, type HopBreakdown } from './hops.js';
import type { PgCost } from './pg-cost.js';
import type { ReadResult } from './reads.js';

interface Accept {
  reqPerS: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
}

export interface BenchReport {
  at: string;
  machine: { cpus: number; model: string; memoryGb: number; loadAvgAtStart: number[]; node: string };
  options: Record<string, unknown>;
  growth: {
    notifications: number;
    accept: Accept;
    delivery: DeliveryResult;
    postgres: PgCost;
    workerPeakRssMb: number;
    cpuMsPerNotification: Record<string, number>;
  }[];
  halfRate: { ratePerS: number; accept: Accept; delivery: DeliveryResult; hops?: HopBreakdown };
  ceilings: { temporal: CeilingResult; smtp: CeilingResult; engineVsTemporal: number; engineVsSmtp: number };
  reads: ReadResult[];
  temporalPerNotification: HistoryShape;
  /** Worker RSS once started, bundled and warmed up, before the first burst. */
  workerRssAfterWarmUpMb: number;
  durationS: number;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v}`);

function table(title: string, head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [`\n${title}`, line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** The report as Markdown tables (pasted as is into BENCHMARKS.md) and the targets from issue 5. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(
    `Machine: ${r.machine.cpus} CPUs (${r.machine.model}), ${r.machine.memoryGb} GB, Node ${r.machine.node}, load average at start ${r.machine.loadAvgAtStart.join(' / ')}`,
  );
  out.push(
    table(
      'Bursts: N notifications triggered as fast as the API accepts them',
      [
        'N',
        'accept req/s',
        'accept p50 ms',
        'accept p99 ms',
        'delivered/s (sustained)',
        'delivered/s (overall)',
        'e2e p50 ms',
        'e2e p95 ms',
        'e2e p99 ms',
        'PG rows/notif',
        'PG bytes/notif',
        'WAL bytes/notif',
        'worker peak RSS MB',
      ],
      r.growth.map((g) => [
        g.notifications,
        g.accept.reqPerS,
        ms(g.accept.p50Ms),
        ms(g.accept.p99Ms),
        g.delivery.sustainedPerS,
        g.delivery.deliveredPerS,
        ms(g.delivery.latencyMs.p50),
        ms(g.delivery.latencyMs.p95),
        ms(g.delivery.latencyMs.p99),
        g.postgres.rowsPerNotification,
        g.postgres.bytesPerNotification,
        g.postgres.walBytesPerNotification,
        g.workerPeakRssMb,
      ]),
    ),
  );
  out.push(
    table(
      'CPU ms per notification during the bursts (api, bench: per accepted; worker, inbox, machine: per delivered; machine = all cores, all processes incl. Temporal, Postgres and other work)',
      ['N', ...Object.keys(r.growth[0]?.cpuMsPerNotification ?? {})],
      r.growth.map((g) => [g.notifications, ...Object.values(g.cpuMsPerNotification)]),
    ),
  );
  const t = r.temporalPerNotification;
  out.push(
    `\nTemporal per notification: ${t.events} history events, ${t.workflowTasks} workflow tasks, ${t.activityTasks} activity tasks, ${t.localActivities} local activities`,
  );
  const h = r.halfRate;
  out.push(
    table(
      'Fixed rate: half the highest sustained delivered rate',
      ['rate/s', 'triggered', 'delivered/s', 'e2e p50 ms', 'e2e p95 ms', 'e2e p99 ms', 'accept p99 ms'],
      [
        [
          h.ratePerS,
          h.delivery.triggered,
          h.delivery.deliveredPerS,
          ms(h.delivery.latencyMs.p50),
          ms(h.delivery.latencyMs.p95),
          ms(h.delivery.latencyMs.p99),
          ms(h.accept.p99Ms),
        ],
      ],
    ),
  );
  if (h.hops) {
    const hops = h.hops;
    out.push(
      table(
        `Where the time goes at half rate (${hops.sampled} notifications, from their workflow histories)`,
        ['hop', 'p50 ms', 'p95 ms', 'p99 ms'],
        (Object.keys(HOPS) as Hop[]).map((k) => [HOPS[k], ms(hops[k].p50), ms(hops[k].p95), ms(hops[k].p99)]),
      ),
    );
  }
  const c = r.ceilings;
  out.push(
    table(
      'Ceilings, same servers, same run',
      ['what', 'N', 'per s', 'p50 ms', 'p99 ms', 'engine / ceiling'],
      [
        [
          'Temporal: 1 workflow + 1 no-op activity',
          c.temporal.n,
          c.temporal.perS,
          ms(c.temporal.latencyMs.p50),
          ms(c.temporal.latencyMs.p99),
          c.engineVsTemporal,
        ],
        ['SMTP: nodemailer straight to the inbox', c.smtp.n, c.smtp.perS, ms(c.smtp.latencyMs.p50), ms(c.smtp.latencyMs.p99), c.engineVsSmtp],
      ],
    ),
  );
  out.push(
    table(
      'Reads over HTTP (sequential)',
      ['notifications in table', 'audit events', 'GET p50 ms', 'GET p99 ms', 'audit p50 ms', 'audit p99 ms'],
      r.reads.map((x) => [x.notificationsInTable, x.auditEventsInTable, ms(x.getMs.p50), ms(x.getMs.p99), ms(x.auditMs.p50), ms(x.auditMs.p99)]),
    ),
  );
  const peak = Math.max(...r.growth.map((g) => g.workerPeakRssMb));
  const [small, big] = [r.reads[0], r.reads.at(-1)];
  const readRatio =
    small && big && small.getMs.p50 && small.auditMs.p50
      ? Math.max((big.getMs.p50 ?? 0) / small.getMs.p50, (big.auditMs.p50 ?? 0) / small.auditMs.p50)
      : NaN;
  out.push(
    table(
      'Targets (issue 5)',
      ['target', 'measured', 'met'],
      [
        ['delivered rate >= 60% of the Temporal ceiling', `${Math.round(c.engineVsTemporal * 100)}%`, c.engineVsTemporal >= 0.6 ? 'yes' : 'no'],
        [
          'p99 trigger->SMTP < 500 ms at half rate',
          `${ms(h.delivery.latencyMs.p99)} ms`,
          (h.delivery.latencyMs.p99 ?? Infinity) < 500 ? 'yes' : 'no',
        ],
        ['worker peak RSS < 400 MB', `${peak} MB (${r.workerRssAfterWarmUpMb} MB after warm-up)`, peak < 400 ? 'yes' : 'no'],
        [
          'reads at the largest table within 2x of the smallest (p50)',
          `${Number.isFinite(readRatio) ? readRatio.toFixed(2) : '-'}x`,
          readRatio <= 2 ? 'yes' : 'no',
        ],
        ['compiled render >= 50x per-message mjml', 'see npm run bench:render', '-'],
      ],
    ),
  );
  out.push(`\nTotal bench time: ${r.durationS} s`);
  return out.join('\n');
}

export function printReport(r: BenchReport): void {
  console.log(formatReport(r));
}
