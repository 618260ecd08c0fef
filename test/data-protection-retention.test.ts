// Retention per tenant, applied by a Temporal Schedule: content older than the tenant's retention
// (rendered messages, event data, provider texts) goes, audit months past retention are dropped as
// whole partitions with the chain anchored first, and each run is audited.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../domain/audit/verify.js';
import type { RetentionReport } from '../domain/privacy/retention.js';
import { ensureMonitoringSchedules } from '../worker/schedules.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

/** `audit_events_YYYY_MM` of the UTC month `back` months ago. */
function monthPartition(back: number): string {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1));
  return `audit_events_${m.getUTCFullYear()}_${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
}

describe('retention', () => {
  it('a scheduled run clears old content per tenant, drops audit months past retention, keeps the chain verifiable, and is audited', async () => {
    const { sql } = engine.database;
    await sql`insert into tenant_retention (tenant_id, content_days) values (${engine.tenantId}, 30)`;
    await putUser(engine, 'rita', { email: 'rita@example.fr', locale: 'fr' }, { transactions: ['email'] });
    const old = await trigger(engine, 'rita', 'ret-old');
    const recent = await trigger(engine, 'rita', 'ret-recent');
    await settled(engine, old);
    await settled(engine, recent);
    // The first notification is 40 days old: past this tenant's 30 days, within the default 90.
    await sql`update notifications set created_at = now() - interval '40 days' where id = ${old}`;

    // An audit chain that began 15 months ago: its old month is past the 13-month default.
    const chain = `ret-${randomUUID().slice(0, 8)}`;
    await sql`select ensure_monthly_partitions(0, 15)`;
    await sql`insert into audit_events (tenant_id, step, at) values (${chain}, 'old.1', now() - interval '15 months'), (${chain}, 'old.2', now() - interval '15 months' + interval '1 second')`;
    await sql`insert into audit_events (tenant_id, step) values (${chain}, 'new.1'), (${chain}, 'new.2')`;
    expect((await verifyAuditChain(engine.database.db, chain)).ok).toBe(true);

    const [id] = (await ensureMonitoringSchedules(engine.client, { taskQueue: engine.taskQueue, idPrefix: engine.taskQueue })).filter((s) =>
      s.endsWith('-retention'),
    );
    const schedule = engine.client.schedule.getHandle(id!);
    expect((await schedule.describe()).spec.intervals?.[0]?.every).toBe(24 * 3600_000);
    await schedule.trigger();
    const workflowId = await waitUntil(
      async () => (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId,
      30_000,
      'the scheduled run',
    );
    const report = (await engine.client.workflow.getHandle(workflowId).result()) as RetentionReport;
    await schedule.delete();

    expect(report.auditPartitionsDropped).toContain(monthPartition(15));
    expect(report.renderedRemoved).toBeGreaterThanOrEqual(1);
    const rendered = await sql<
      { notification_id: string }[]
    >`select notification_id from rendered_messages where notification_id in (${old}, ${recent})`;
    expect(rendered.map((r) => r.notification_id)).toEqual([recent]);
    const data = await sql<{ id: string; data: unknown }[]>`select id, data from notifications where id in (${old}, ${recent}) order by created_at`;
    expect(data[0]).toMatchObject({ id: old, data: {} });
    expect(data[1]!.data).toMatchObject({ merchant: expect.any(String) });

    // The old month is gone, the chain now starts at its anchor and still verifies.
    const steps = await sql<{ step: string; seq: string }[]>`select step, seq from audit_events where tenant_id = ${chain} order by seq`;
    expect(steps.map((s) => s.step)).toEqual(['new.1', 'new.2']);
    const [anchor] = await sql`select seq, dropped_partition from audit_chain_anchors where tenant_id = ${chain}`;
    expect(anchor).toMatchObject({ seq: '2', dropped_partition: monthPartition(15) });
    expect(await verifyAuditChain(engine.database.db, chain)).toMatchObject({ ok: true, events: 2 });

    const [run] = await sql<
      { detail: RetentionReport }[]
    >`select detail from audit_events where tenant_id = '*' and step = 'retention.applied' order by at desc limit 1`;
    expect(run?.detail).toMatchObject({ auditPartitionsDropped: report.auditPartitionsDropped, renderedRemoved: report.renderedRemoved });
  });
});
