// `npm run bench:log`: latency of the message log (GET /v1/notifications' query, and the
// console's across tenants) at a million notifications. Loads synthetic rows into an embedded
// PostgreSQL (or DATABASE_URL), then times filtered pages: first pages, deep pages through the
// cursor, rare filters. Bounded: BENCH_LOG_SECONDS (default 600) for the whole run; the load stops
// at 60% of it and the reads run at the size reached. Results: bench/results/notification-log.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listTenantNotifications, NotificationListQuery } from '../api/notification-list.js';
import { connectDatabase, migrateDatabase } from '../db/client.js';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { freePort } from '../dev/ports.js';
import { decodeCursor, listNotifications, notificationLogQuery, type NotificationFilter } from '../domain/notifications/list.js';
import { repoRoot } from './children.js';
import { percentiles, round } from './stats.js';

const ROWS = Number(process.env.BENCH_LOG_ROWS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_LOG_SECONDS ?? 600);
const SAMPLES = Number(process.env.BENCH_LOG_SAMPLES ?? 200);
const started = Date.now();
const loadDeadline = started + SECONDS * 600;
const deadline = started + SECONDS * 1000;
const log = (m: string) => console.log(`[${round((Date.now() - started) / 1000)} s] ${m}`);

// One large tenant holds 70% of the rows, nine others share the rest; 20,000 and 2,000 users.
const BIG = 'bench-log-big';
const tenants = [BIG, ...Array.from({ length: 9 }, (_, i) => `bench-log-${i + 1}`)];
const DAYS = 30;

async function load(sql: ReturnType<typeof connectDatabase>['sql']): Promise<number> {
  await sql`insert into tenants (id, name) select t, t from unnest(${tenants}::text[]) t on conflict do nothing`;
  await sql`
    insert into users (tenant_id, external_id, email)
    select t, 'u' || g, 'u' || g || '@bench.example' from unnest(${tenants}::text[]) t,
      generate_series(1, case when t = ${BIG} then 20000 else 2000 end) g
    on conflict do nothing`;
  const [count] = await sql<{ have: number }[]>`select count(*)::int as have from notifications where tenant_id like 'bench-log-%'`;
  const have = count!.have;
  const chunk = 50_000;
  let loaded = have;
  for (let from = have + 1; from <= ROWS; from += chunk) {
    if (Date.now() > loadDeadline) {
      log(`load stopped at ${loaded} rows: deadline`);
      break;
    }
    const to = Math.min(ROWS, from + chunk - 1);
    // Spread deterministically: tenant by g; status, type and channel by independent hashes of g; times over 30 days.
    await sql`
      insert into notifications (tenant_id, user_id, type, category_key, idempotency_key, request_hash, workflow_id, data, status, channels, delivered_channels, created_at, updated_at)
      select s.tenant, u.id, s.type, s.category, 'bench-' || s.g, 'h', 'notification:' || s.tenant || ':bench-' || s.g, '{}'::jsonb, s.status,
             s.channels, case when s.status = 'delivered' then s.channels else '{}' end, s.t, s.t
      from (
        select g,
          case when g % 10 < 7 then ${BIG} else 'bench-log-' || (1 + (g / 10) % 9) end as tenant,
          1 + (g::bigint * 7919) % case when g % 10 < 7 then 20000 else 2000 end as user_no,
          (array['account.transaction','account.transaction','account.transaction','account.low_balance','security.new_device','marketing.newsletter'])[1 + h.kind % 6] as type,
          (array['transactions','transactions','transactions','balance','security','marketing'])[1 + h.kind % 6] as category,
          case when h.st < 90 then 'delivered' when h.st < 95 then 'failed' when h.st < 97 then 'bounced'
               when h.st < 98 then 'suppressed' when h.st < 99 then 'skipped' else 'complained' end as status,
          case when h.ch < 8 then '{email}'::text[] else '{push}'::text[] end as channels,
          now() - make_interval(secs => (g::float8 / ${ROWS}) * ${DAYS * 86400}) as t
        from generate_series(${from}::int, ${to}::int) g,
          lateral (select (hashtext('k' || g) & 2147483647) as kind, (hashtext('s' || g) & 2147483647) % 100 as st, (hashtext('c' || g) & 2147483647) % 10 as ch) h
      ) s join users u on u.tenant_id = s.tenant and u.external_id = 'u' || s.user_no`;
    loaded = to;
    if (to % 200_000 === 0 || to === ROWS) log(`loaded ${to} / ${ROWS}`);
  }
  await sql`analyze`;
  return loaded;
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}
interface PlanFacts {
  executionMs: number;
  buffers: number;
  nodes: string[];
}

interface Scenario {
  name: string;
  /** The query string the tenant API would get; {user} and {from}/{to} are filled per sample. */
  query: (i: number) => Record<string, string>;
  tenant?: string;
  /** Pages followed through the cursor before the one timed. */
  depth?: number;
  /** A worst case shown on its own (10 samples, not in the overall figures). */
  worst?: boolean;
}

const ms2 = (v: number | null | undefined) => (v === null || v === undefined ? null : round(v, 2));
const dayAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
const scenarios: Scenario[] = [
  { name: 'first page, no filter', query: () => ({}) },
  { name: 'page 5 through the cursor', query: () => ({}), depth: 4 },
  { name: 'status=failed', query: () => ({ status: 'failed' }) },
  { name: 'status=complained (1%)', query: () => ({ status: 'complained' }) },
  { name: 'type=security.new_device', query: () => ({ type: 'security.new_device' }) },
  { name: 'category=balance', query: () => ({ category: 'balance' }) },
  { name: 'channel=push', query: () => ({ channel: 'push' }) },
  { name: 'user=<one of 20,000>', query: (i) => ({ user: `u${1 + ((i * 104_729) % 20_000)}` }) },
  { name: 'one day, 10 to 11 days ago', query: () => ({ from: dayAgo(11), to: dayAgo(10) }) },
  { name: 'status=failed, channel=push, one week', query: () => ({ status: 'failed', channel: 'push', from: dayAgo(14), to: dayAgo(7) }) },
  { name: 'small tenant, status=bounced', query: () => ({ status: 'bounced' }), tenant: 'bench-log-3' },
  // No index has the type: a type nobody sent reads every row of the tenant before answering empty.
  { name: 'worst case: a type that matches nothing', query: () => ({ type: 'no.such.type' }), worst: true },
];

async function main() {
  let url = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const pg = await startEmbeddedPostgres({ port: await freePort(), ephemeral: true, database: 'notiflow_bench_log' });
    url = pg.url;
    stop = () => pg.stop();
  }
  const database = connectDatabase(url, { max: 2 });
  try {
    await migrateDatabase(url);
    log(`loading ${ROWS} notifications`);
    const rows = await load(database.sql);
    const results: Record<string, { samples: number; p50: number | null; p99: number | null; rowsPerPage: number; plan?: PlanFacts }> = {};
    /** The page's plan as PostgreSQL ran it: its own execution time and the pages (8 kB) it touched, which CPU load does not change. */
    const planOf = async (f: NotificationFilter): Promise<PlanFacts> => {
      const q = notificationLogQuery(database.db, f).toSQL();
      const [row] = await database.sql.unsafe(`explain (analyze, buffers, format json) ${q.sql}`, q.params as never[]);
      const plan = (row as unknown as { 'QUERY PLAN': [{ 'Execution Time': number; Plan: PlanNode }] })['QUERY PLAN'][0];
      const nodes: string[] = [];
      const walk = (n: PlanNode) => {
        nodes.push(n['Index Name'] ? `${n['Node Type']} ${n['Index Name']}` : n['Node Type']);
        n.Plans?.forEach(walk);
      };
      walk(plan.Plan);
      return {
        executionMs: round(plan['Execution Time'], 2),
        buffers: plan.Plan['Shared Hit Blocks'] + plan.Plan['Shared Read Blocks'],
        nodes: [...new Set(nodes)],
      };
    };
    const all: number[] = [];
    /** Times one page per sample; `page` returns its rows (any pages before it are not timed). */
    const time = async (name: string, page: (i: number) => Promise<{ rows: number; ms: number }>, worst = false) => {
      const ms: number[] = [];
      let shown = 0;
      for (let i = 0; i < (worst ? 1 : 5); i++) await page(i); // warm-up
      for (let i = 0; i < (worst ? Math.min(10, SAMPLES) : SAMPLES) && Date.now() < deadline; i++) {
        const r = await page(i);
        shown += r.rows;
        ms.push(r.ms);
      }
      if (!worst) all.push(...ms);
      const p = percentiles(ms, [50, 99]);
      results[name] = { samples: ms.length, p50: ms2(p.p50), p99: ms2(p.p99), rowsPerPage: round(shown / Math.max(1, ms.length)) };
      log(`${name}: p50 ${results[name].p50} ms, p99 ${results[name].p99} ms (${ms.length} pages of ${results[name].rowsPerPage})`);
    };
    let lastFilter: NotificationFilter | undefined;
    for (const s of scenarios) {
      const tenant = s.tenant ?? BIG;
      // The cursor of the page before the one timed (deep pages), found once per sample's query.
      await time(
        `tenant API: ${s.name}`,
        async (i) => {
          let q = NotificationListQuery.parse(s.query(i));
          for (let d = 0; d < (s.depth ?? 0); d++) {
            const prev = await listTenantNotifications(database.db, tenant, q);
            if (!prev.nextCursor) break;
            q = { ...q, cursor: prev.nextCursor };
          }
          const t0 = performance.now();
          const page = await listTenantNotifications(database.db, tenant, q);
          lastFilter = {
            tenantId: tenant,
            ...q,
            from: q.from ? new Date(q.from) : undefined,
            to: q.to ? new Date(q.to) : undefined,
            after: q.cursor ? decodeCursor(q.cursor) : undefined,
          };
          return { rows: page.notifications.length, ms: performance.now() - t0 };
        },
        s.worst,
      );
      results[`tenant API: ${s.name}`]!.plan = await planOf(lastFilter!);
    }
    // The console's log across tenants: no tenant filter.
    const acrossTenants = async (f: Parameters<typeof listNotifications>[1]) => {
      const t0 = performance.now();
      const page = await listNotifications(database.db, f);
      return { rows: page.notifications.length, ms: performance.now() - t0 };
    };
    await time('console, every tenant: first page', () => acrossTenants({ limit: 50 }));
    results['console, every tenant: first page']!.plan = await planOf({ limit: 50 });
    await time('console, every tenant: status=complained', () => acrossTenants({ status: 'complained', limit: 50 }));
    results['console, every tenant: status=complained']!.plan = await planOf({ status: 'complained', limit: 50 });
    for (const [name, r] of Object.entries(results))
      log(`${name}: PostgreSQL ${r.plan?.executionMs} ms, ${r.plan?.buffers} buffers, ${r.plan?.nodes.join(' > ')}`);
    const overall = percentiles(all, [50, 99]);
    const report = {
      at: new Date().toISOString(),
      rows,
      pageSize: 50,
      overall: { p50: ms2(overall.p50), p99: ms2(overall.p99) },
      scenarios: results,
    };
    const dir = join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notification-log.json'), `${JSON.stringify(report, null, 2)}\n`);
    log(
      `overall at ${rows} rows (worst case apart): p50 ${report.overall.p50} ms, p99 ${report.overall.p99} ms; written to bench/results/notification-log.json`,
    );
  } finally {
    await database.close();
    await stop();
  }
}

await main();
