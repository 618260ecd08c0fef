import { PRICE_PER_MILLION_ACTIONS_USD, type ActionCount } from './actions.js';
import type { CeilingResult } from './ceilings.js';
import type { DeliveryResult } from './delivery.js';
import { HOPS, type Hop, type HopBreakdown } from './hops.js';
import type { PgCost } from './pg-cost.js';
import type { StatementCost } from './pg-statements.js';
import type { ReadResult } from './reads.js';

interface Accept {
  reqPerS: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  accepted: number;
}

export interface Growth {
  notifications: number;
  accept: Accept;
  delivery: DeliveryResult;
  postgres: PgCost;
  /** Statements (round trips) per notification, from pg_stat_statements; null without it. */
  statements: StatementCost | null;
  /** The Temporal server's own `action` counter per notification, by type; null without its metrics. */
  serverActions: { perNotification: number; byType: Record<string, number> } | null;
  workerPeakRssMb: number;
  cpuMsPerNotification: Record<string, number>;
}

export interface BenchReport {
  at: string;
  machine: { cpus: number; model: string; memoryGb: number; loadAvgAtStart: number[]; node: string };
  options: Record<string, unknown>;
  /** Every phase in order: ok, cut (deadline or budget; its figures are partial) or failed, with the reason. */
  phases: { name: string; status: 'ok' | 'cut' | 'failed'; seconds: number; reason?: string }[];
  /** Set when the run ended early (signal, --max-s). */
  stopped?: string;
  growth: Growth[];
  halfRate?: { ratePerS: number; accept: Accept; delivery: DeliveryResult; hops?: HopBreakdown };
  ceilings?: { temporal?: CeilingResult; smtp?: CeilingResult };
  /** Temporal Cloud actions per notification, from the first burst's histories. */
  actions?: ActionCount;
  reads: ReadResult[];
  /** Worker RSS once started, bundled and warmed up, before the first burst. */
  workerRssAfterWarmUpMb?: number;
  durationS: number;
}

/** Temporal Cloud bills 0.1 action more per action in a namespace with task queue fairness on (the engine uses it). */
const FAIRNESS_SURCHARGE = 1.1;
const usd = (actions: number) => Math.round(actions * PRICE_PER_MILLION_ACTIONS_USD);
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v}`);
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? `${(a / b).toFixed(2)}` : '-');

function table(title: string, head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [`\n${title}`, line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** Issue 25: the engine against Temporal's one-activity no-op workflow, side by side. */
function costTable(r: BenchReport): string {
  const g = r.growth[0];
  const t = r.ceilings?.temporal;
  const h = r.halfRate;
  const cpu = g?.cpuMsPerNotification ?? {};
  const noop = t?.cpuMsPerWorkflow;
  const a = r.actions;
  const noopActions = t?.actions?.perWorkflow;
  // Heartbeats are billed but never written to history: the server's own counter has them.
  const hb = g?.serverActions ? (g.serverActions.byType.grpc_RecordActivityTaskHeartbeat ?? 0) : undefined;
  const total = a ? Math.round((a.perWorkflow + (hb ?? 0)) * 100) / 100 : undefined;
  const rows: (string | number)[][] = [
    [
      'delivered per second (engine: sustained, first burst)',
      g?.delivery.sustainedPerS ?? '-',
      t?.perS ?? '-',
      ratio(g?.delivery.sustainedPerS, t?.perS),
    ],
    [
      `trigger -> SMTP p50 / p99 ms at half that rate (${h?.ratePerS ?? '-'}/s)`,
      h ? `${ms(h.delivery.latencyMs.p50)} / ${ms(h.delivery.latencyMs.p99)}` : '-',
      '-',
      '',
    ],
    ['CPU ms per notification: worker(s) vs no-op worker', cpu.worker ?? '-', noop?.noopWorker ?? '-', ratio(cpu.worker, noop?.noopWorker)],
    ['CPU ms per notification: API(s)', cpu.api ?? '-', '-', ''],
    [
      'CPU ms per notification: worker + API vs no-op worker',
      cpu.worker !== undefined && cpu.api !== undefined ? Math.round((cpu.worker + cpu.api) * 100) / 100 : '-',
      noop?.noopWorker ?? '-',
      ratio(cpu.worker !== undefined && cpu.api !== undefined ? cpu.worker + cpu.api : undefined, noop?.noopWorker),
    ],
    [
      'CPU ms per notification: Temporal server',
      cpu.temporalServer ?? '-',
      noop?.temporalServer ?? '-',
      ratio(cpu.temporalServer, noop?.temporalServer),
    ],
    ['CPU ms per notification: whole machine', cpu.machine ?? '-', '-', ''],
    ['database statements (round trips) per notification', g?.statements?.perNotification ?? '-', 0, ''],
    [
      `Temporal actions per notification from histories (Cloud rules, ${a?.sampled ?? 0} sampled)`,
      a?.perWorkflow ?? '-',
      noopActions ?? '-',
      ratio(a?.perWorkflow, noopActions),
    ],
    ['+ activity heartbeats (server counter; not in histories)', hb ?? '-', 0, ''],
    ['= Temporal Cloud actions per notification', total ?? '-', noopActions ?? '-', ratio(total, noopActions)],
    [
      `USD per million notifications at $${PRICE_PER_MILLION_ACTIONS_USD}/M actions (x1.1 with fairness on)`,
      total !== undefined ? `$${usd(total)} ($${usd(total * FAIRNESS_SURCHARGE)})` : '-',
      noopActions !== undefined ? `$${usd(noopActions)}` : '-',
      ratio(total, noopActions),
    ],
    ['server `action` counter per notification (OSS definition)', g?.serverActions?.perNotification ?? '-', '-', ''],
  ];
  return table(
    'Cost per notification: the engine against one no-op workflow with one activity, same server, same run',
    ['', 'engine', 'Temporal no-op', 'engine / no-op'],
    rows,
  );
}

/** The report as Markdown tables (pasted as is into BENCHMARKS.md) and the targets from issue 5. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(
    `Machine: ${r.machine.cpus} CPUs (${r.machine.model}), ${r.machine.memoryGb} GB, Node ${r.machine.node}, load average at start ${r.machine.loadAvgAtStart.join(' / ')}`,
  );
  out.push(costTable(r));
  const a = r.actions;
  if (a) {
    out.push(
      table(
        `Temporal actions per notification, by kind (${a.sampled} histories; mean shape: ${a.shape.events} events, ${a.shape.workflowTasks} workflow tasks, ${a.shape.activityTasks} activity tasks, ${a.shape.localActivities} local activity markers)`,
        ['action', 'per notification'],
        Object.entries(a.byKind).map(([k, v]) => [k, v]),
      ),
    );
  }
  const sa = r.growth[0]?.serverActions;
  if (sa)
    out.push(
      table('Temporal server `action` counter per notification, by type (first burst)', ['type', 'per notification'], Object.entries(sa.byType)),
    );
  const st = r.growth[0]?.statements;
  if (st)
    out.push(
      table(
        'Database statements per notification, largest first (first burst)',
        ['per notification', 'statement'],
        st.top.map((x) => [x.calls, x.query.slice(0, 110)]),
      ),
    );
  out.push(
    table(
      'Bursts: N notifications triggered as fast as the API accepts them',
      [
        'N',
        'accepted',
        'accept req/s',
        'accept p50 ms',
        'accept p99 ms',
        'delivered',
        'delivered/s (sustained)',
        'delivered/s (overall)',
        'e2e p50 ms',
        'e2e p99 ms',
        'PG rows/notif',
        'PG bytes/notif',
        'WAL bytes/notif',
        'worker peak RSS MB',
      ],
      r.growth.map((g) => [
        g.notifications,
        g.accept.accepted,
        g.accept.reqPerS,
        ms(g.accept.p50Ms),
        ms(g.accept.p99Ms),
        `${g.delivery.delivered}${g.delivery.timedOut ? ' (cut)' : ''}`,
        g.delivery.sustainedPerS,
        g.delivery.deliveredPerS,
        ms(g.delivery.latencyMs.p50),
        ms(g.delivery.latencyMs.p99),
        g.postgres.rowsPerNotification,
        g.postgres.bytesPerNotification,
        g.postgres.walBytesPerNotification,
        g.workerPeakRssMb,
      ]),
    ),
  );
  if (r.growth.length) {
    out.push(
      table(
        'CPU ms per notification during the bursts (api, bench: per accepted; the rest per delivered; machine = all cores, all processes incl. Postgres and other work)',
        ['N', ...Object.keys(r.growth[0]!.cpuMsPerNotification)],
        r.growth.map((g) => [g.notifications, ...Object.values(g.cpuMsPerNotification)]),
      ),
    );
  }
  const h = r.halfRate;
  if (h) {
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
  }
  const best = r.growth[0]?.delivery.sustainedPerS;
  const c = r.ceilings ?? {};
  const ceilingRow = (what: string, x: CeilingResult | undefined) =>
    x ? [what, x.n, x.completed ?? x.n, x.perS, ms(x.latencyMs.p50), ms(x.latencyMs.p99), ratio(best, x.perS)] : [what, '-', '-', '-', '-', '-', '-'];
  out.push(
    table(
      'Ceilings, same servers, same run',
      ['what', 'N', 'completed', 'per s', 'p50 ms', 'p99 ms', 'engine / ceiling'],
      [ceilingRow('Temporal: 1 workflow + 1 no-op activity', c.temporal), ceilingRow('SMTP: nodemailer straight to the inbox', c.smtp)],
    ),
  );
  if (r.reads.length) {
    out.push(
      table(
        'Reads over HTTP (sequential)',
        ['notifications in table', 'audit events', 'GET p50 ms', 'GET p99 ms', 'audit p50 ms', 'audit p99 ms'],
        r.reads.map((x) => [x.notificationsInTable, x.auditEventsInTable, ms(x.getMs.p50), ms(x.getMs.p99), ms(x.auditMs.p50), ms(x.auditMs.p99)]),
      ),
    );
  }
  const peak = r.growth.length ? Math.max(...r.growth.map((g) => g.workerPeakRssMb)) : NaN;
  const [small, big] = [r.reads[0], r.reads.at(-1)];
  const readRatio =
    small && big && small.getMs.p50 && small.auditMs.p50
      ? Math.max((big.getMs.p50 ?? 0) / small.getMs.p50, (big.auditMs.p50 ?? 0) / small.auditMs.p50)
      : NaN;
  const vsTemporal = best !== undefined && c.temporal?.perS ? best / c.temporal.perS : NaN;
  const p99 = h?.delivery.latencyMs.p99 ?? null;
  out.push(
    table(
      'Targets (issue 5)',
      ['target', 'measured', 'met'],
      [
        [
          'delivered rate >= 60% of the Temporal ceiling',
          Number.isFinite(vsTemporal) ? `${Math.round(vsTemporal * 100)}%` : '-',
          vsTemporal >= 0.6 ? 'yes' : 'no',
        ],
        ['p99 trigger->SMTP < 500 ms at half rate', `${ms(p99)} ms`, (p99 ?? Infinity) < 500 ? 'yes' : 'no'],
        ['worker peak RSS < 400 MB', `${peak} MB (${ms(r.workerRssAfterWarmUpMb)} MB after warm-up)`, peak < 400 ? 'yes' : 'no'],
        [
          'reads at the largest table within 2x of the smallest (p50)',
          `${Number.isFinite(readRatio) ? readRatio.toFixed(2) : '-'}x`,
          readRatio <= 2 ? 'yes' : 'no',
        ],
        ['compiled render >= 50x per-message mjml', 'see npm run bench:render', '-'],
      ],
    ),
  );
  out.push(
    table(
      'Phases',
      ['phase', 'status', 's', 'reason'],
      r.phases.map((p) => [p.name, p.status, p.seconds, p.reason ?? '']),
    ),
  );
  if (r.stopped) out.push(`\nStopped early: ${r.stopped}`);
  out.push(`\nTotal bench time: ${r.durationS} s`);
  return out.join('\n');
}

export function printReport(r: BenchReport): void {
  console.log(formatReport(r));
}
