// Read latency of one notification (GET /v1/notifications/{id}) and of its audit trail, over HTTP,
// and the synthetic history that grows the tables to a million notifications for the same reads.
import type postgres from 'postgres';
import { percentiles } from './stats.js';

export interface ReadResult {
  notificationsInTable: number;
  auditEventsInTable: number;
  getMs: Record<string, number | null>;
  auditMs: Record<string, number | null>;
}

/** Reads `ids` for `rounds` rounds; past `deadline` it stops after the round under way (at least one). */
export async function measureReads(
  sql: postgres.Sql,
  api: { apiUrl: string; apiKey: string },
  ids: string[],
  deadline = Infinity,
  rounds = 3,
): Promise<ReadResult> {
  const headers = { authorization: `Bearer ${api.apiKey}` };
  const get: number[] = [];
  const audit: number[] = [];
  for (let r = 0; r < rounds && (r === 0 || Date.now() < deadline); r++) {
    for (const id of ids) {
      let t0 = performance.now();
      const a = await fetch(`${api.apiUrl}/v1/notifications/${id}`, { headers, signal: AbortSignal.timeout(10_000) });
      await a.arrayBuffer();
      if (a.status !== 200) throw new Error(`GET notification: ${a.status}`);
      get.push(performance.now() - t0);
      t0 = performance.now();
      const b = await fetch(`${api.apiUrl}/v1/notifications/${id}/audit`, { headers, signal: AbortSignal.timeout(10_000) });
      await b.arrayBuffer();
      if (b.status !== 200) throw new Error(`GET audit: ${b.status}`);
      audit.push(performance.now() - t0);
    }
  }
  const [counts] = await sql<{ n: string; a: string }[]>`select (select count(*) from notifications) as n, (select count(*) from audit_events) as a`;
  return {
    notificationsInTable: Number(counts!.n),
    auditEventsInTable: Number(counts!.a),
    getMs: percentiles(get, [50, 99]),
    auditMs: percentiles(audit, [50, 99]),
  };
}

/**
 * Bulk-inserts `n` delivered notifications with the rows a real one leaves (one rendered e-mail,
 * one delivery attempt, five audit events), in chunks so memory and WAL stay bounded. They go back
 * in time one a second from now (about 2.6M a month, a large sender's rate), and each row carries
 * its own time as a real one would, so the time-partitioned tables spread them over their months.
 */
export async function insertSyntheticHistory(
  sql: postgres.Sql,
  tenantId: string,
  n: number,
  log: (m: string) => void,
  deadline = Infinity,
): Promise<void> {
  // A million seconds reach back into last month, whose partitions a live database would have.
  const monthsBack = Math.ceil(n / (28 * 86_400));
  await sql`select ensure_monthly_partitions(3, ${monthsBack}::int)`;
  const chunk = 50_000;
  for (let from = 1; from <= n; from += chunk) {
    // Out of time: the reads then run at the size reached (the report shows the row count).
    if (Date.now() > deadline) {
      log(`  synthetic history stopped at ${from - 1} / ${n}: deadline`);
      break;
    }
    const to = Math.min(n, from + chunk - 1);
    await sql.begin(async (tx) => {
      await tx`
        create temp table syn on commit drop as
        with u as (select array_agg(id) as ids from users where tenant_id = ${tenantId})
        select gen_random_uuid() as id, g, u.ids[1 + g % array_length(u.ids, 1)] as user_id, now() - make_interval(secs => g) as t
        from generate_series(${from}::int, ${to}::int) g, u`;
      await tx`
        insert into notifications (id, tenant_id, user_id, type, category_key, idempotency_key, request_hash, workflow_id, data, status, channels, delivered_channels, created_at, updated_at)
        select id, ${tenantId}, user_id, 'account.transaction', 'transactions', 'syn-' || g, 'synthetic', 'syn/' || id,
               '{"amount": 1, "currency": "EUR", "merchant": "Synthetic", "accountLast4": "0000"}'::jsonb, 'delivered',
               '{email}', '{email}', t, t + interval '1 second'
        from syn`;
      await tx`
        insert into rendered_messages (notification_id, channel, locale, subject, html, text, created_at)
        select id, 'email', 'en', 'Card payment', repeat('<p>synthetic</p>', 200), 'synthetic', t + interval '100 ms' from syn`;
      await tx`
        insert into delivery_attempts (notification_id, channel, attempt, outcome, source_ip, target, response_code, response, started_at, finished_at)
        select id, 'email', 1, 'accepted', '127.0.0.2', 'bench.example', 250, '250 OK', t + interval '200 ms', t + interval '500 ms' from syn`;
      await tx`
        insert into audit_events (tenant_id, notification_id, step, detail, at)
        select ${tenantId}, id, s.step, '{}'::jsonb, t + make_interval(secs => s.k * 0.15)
        from syn cross join unnest(array['notification.accepted', 'channels.decided', 'email.rendered', 'email.accepted', 'notification.delivered']) with ordinality as s(step, k)`;
    });
    log(`  synthetic history: ${to} / ${n}`);
  }
  await sql`analyze`;
}
