// audit_events and delivery_attempts are range-partitioned by month (migration 0004): a delivered
// notification's rows sit in this month's partitions and read back through the API as before, the
// next months' partitions exist ahead of time, a row no month partition covers still lands (in the
// default partition), and the audit trail stays append-only on the parent and on every partition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMonthlyPartitions } from '../db/partitions.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';

let engine: TestEngine;
let delivered: string;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  await putUser(engine, 'pia', { email: 'pia@example.com', locale: 'en' }, { transactions: ['email'] });
  delivered = await trigger(engine, 'pia', 'part-1');
  expect((await settled(engine, delivered)).status).toBe('delivered');
});
afterAll(async () => engine?.stop());

/** `<table>_YYYY_MM` of the UTC month `ahead` months from now. */
function monthPartition(table: string, ahead = 0): string {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + ahead, 1));
  return `${table}_${m.getUTCFullYear()}_${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
}

async function partitionsOf(table: string): Promise<string[]> {
  const rows = await engine.database.sql<{ name: string }[]>`
    select inhrelid::regclass::text as name from pg_inherits where inhparent = ${table}::regclass order by 1`;
  return rows.map((r) => r.name);
}

const auditTrail = async (id: string) =>
  ((await (await engine.request('GET', `/v1/notifications/${id}/audit`)).json()) as { events: { step: string }[] }).events.map((e) => e.step);

describe('monthly partitions of the audit trail and delivery attempts', () => {
  it("puts a notification's audit events and attempt in this month's partitions, and the API reads them as before", async () => {
    const audit = await engine.database.sql<
      { part: string }[]
    >`select tableoid::regclass::text as part from audit_events where notification_id = ${delivered}`;
    expect(audit.map((r) => r.part)).toEqual(Array(5).fill(monthPartition('audit_events')));
    const attempts = await engine.database.sql<
      { part: string }[]
    >`select tableoid::regclass::text as part from delivery_attempts where notification_id = ${delivered}`;
    expect(attempts.map((r) => r.part)).toEqual([monthPartition('delivery_attempts')]);

    expect(await auditTrail(delivered)).toEqual([
      'notification.accepted',
      'channels.decided',
      'email.rendered',
      'email.accepted',
      'notification.delivered',
    ]);
    const n = (await (await engine.request('GET', `/v1/notifications/${delivered}`)).json()) as { attempts: { outcome: string }[] };
    expect(n.attempts).toEqual([expect.objectContaining({ outcome: 'accepted' })]);
  });

  it('has the next three months ready, creates a further month on request, and a second call creates nothing', async () => {
    for (const table of ['audit_events', 'delivery_attempts']) {
      expect(await partitionsOf(table)).toEqual(expect.arrayContaining([0, 1, 2, 3].map((k) => monthPartition(table, k)).concat(`${table}_default`)));
    }
    const fourth = monthPartition('audit_events', 4);
    const existed = (await partitionsOf('audit_events')).includes(fourth);
    expect(await ensureMonthlyPartitions(engine.database.db, 4)).toBe(existed ? 0 : 2);
    expect(await partitionsOf('audit_events')).toContain(fourth);
    expect(await partitionsOf('delivery_attempts')).toContain(monthPartition('delivery_attempts', 4));
    expect(await ensureMonthlyPartitions(engine.database.db, 4)).toBe(0);
  });

  it('takes a row no month partition covers into the default partition rather than refusing it', async () => {
    const [row] = await engine.database.sql<{ part: string }[]>`
      insert into audit_events (tenant_id, step, at) values (${engine.tenantId}, 'test.far_future', '2099-06-01T00:00:00Z')
      returning tableoid::regclass::text as part`;
    expect(row!.part).toBe('audit_events_default');
  });

  it('refuses to change or remove audit events, through the table and through a partition', async () => {
    const part = monthPartition('audit_events');
    await expect(engine.database.sql`update audit_events set step = 'tampered' where notification_id = ${delivered}`).rejects.toThrow(/append-only/);
    await expect(engine.database.sql`delete from audit_events where notification_id = ${delivered}`).rejects.toThrow(/append-only/);
    await expect(engine.database.sql`update ${engine.database.sql(part)} set detail = '{}' where notification_id = ${delivered}`).rejects.toThrow(
      /append-only/,
    );
    await expect(engine.database.sql`delete from ${engine.database.sql(part)} where notification_id = ${delivered}`).rejects.toThrow(/append-only/);
    await expect(engine.database.sql`delete from audit_events_default where tenant_id = ${engine.tenantId}`).rejects.toThrow(/append-only/);
    expect(await auditTrail(delivered)).toHaveLength(5);
  });
});
