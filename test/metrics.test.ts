import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, users } from '../db/schema.js';
import { freePort } from '../dev/ports.js';
import { databaseGauges } from '../domain/metrics/db-gauges.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';

let engine: TestEngine;
let temporalMetricsUrl: string;
let refuse = '';
const METRICS_TOKEN = randomBytes(24).toString('hex');

beforeAll(async () => {
  // Before startTestEngine installs the runtime without metrics: the SDK's exporter on a free port.
  const address = `127.0.0.1:${await freePort()}`;
  installTemporalRuntime('ERROR', address);
  temporalMetricsUrl = `http://${address}/metrics`;
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    inbox: { onRcpt: ({ rcpt }) => (rcpt === refuse ? { code: 550, message: '5.1.1 No such user' } : undefined) },
    api: { metricsToken: METRICS_TOKEN },
  });
});
afterAll(async () => engine?.stop());

/** `promtool check metrics` reads the exposition on stdin; it exits non-zero on a format or lint error. */
function promtool(text: string) {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The value of one series, matched on the labels given (others ignored). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('after one notification shows it delivered, its delivery and latency, and passes promtool', async () => {
    await putUser(engine, 'mia', { email: 'mia.private@example.org', locale: 'en', timezone: 'Europe/London' }, { transactions: ['email'] });
    const id = await trigger(engine, 'mia', 'metrics-1');
    expect((await settled(engine, id)).status).toBe('delivered');

    const res = await engine.request('GET', '/metrics', { key: METRICS_TOKEN });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();

    expect(
      sample(text, 'notiflow_notifications', { type: 'account.transaction', category: 'transactions', status: 'delivered' }),
    ).toBeGreaterThanOrEqual(1);
    const ip = engine.ips[0]!;
    expect(sample(text, 'notiflow_deliveries_total', { channel: 'email', pool: `${engine.tenantId}-pool`, ip, outcome: 'accepted' })).toBe(1);
    expect(sample(text, 'notiflow_trigger_to_accepted_seconds_count', { channel: 'email' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'notiflow_smtp_replies_total', { class: '2xx' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'notiflow_activity_schedule_to_start_seconds_count', { activity: 'sendEmail' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'notiflow_postgres_connections', {})).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'notiflow_postgres_pool_max', {})).toBe(10);
    // No personal data, no ids in labels.
    expect(text).not.toContain('mia');
    expect(text).not.toContain(id);

    const check = promtool(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('answers an activity failure by its type', async () => {
    // The receiver refuses this recipient for good: sendEmail fails with SmtpPermanent.
    refuse = 'nomail@example.org';
    await putUser(engine, 'nomail', { email: refuse, locale: 'en', timezone: 'Europe/London' }, { transactions: ['email'] });
    const id = await trigger(engine, 'nomail', 'metrics-2');
    await settled(engine, id);
    const text = await (await engine.request('GET', '/metrics', { key: METRICS_TOKEN })).text();
    expect(sample(text, 'notiflow_activity_failures_total', { activity: 'sendEmail', type: 'SmtpPermanent' })).toBeGreaterThanOrEqual(1);
  });

  it('on the API port it needs METRICS_TOKEN: without it, or with a tenant key, 401 problem+json', async () => {
    for (const key of [null, 'wrong-token', engine.apiKey]) {
      const res = await engine.request('GET', '/metrics', { key });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await res.text()).not.toContain('notiflow_');
    }
  });

  it('tenant-chosen type and category labels are capped: past the limit they count as "other", and no notification is lost', async () => {
    // Types and categories no other test uses, so the database holds more distinct ones than the limit.
    const [mia] = await engine.database.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, engine.tenantId), eq(users.externalId, 'mia')));
    await engine.database.db.insert(notifications).values(
      ['a', 'b', 'c'].map((x) => ({
        tenantId: engine.tenantId,
        userId: mia!.id,
        type: `flood.${x}.${randomUUID()}`,
        categoryKey: `flood-${x}-${randomUUID()}`,
        idempotencyKey: randomUUID(),
        requestHash: 'x',
        workflowId: `flood-${randomUUID()}`,
        data: {},
      })),
    );
    const text = await databaseGauges(engine.database.db, { types: 2, categories: 1 }).metrics();
    const series = text.split('\n').filter((l) => l.startsWith('notiflow_notifications{'));
    const label = (name: string) => new Set(series.map((l) => new RegExp(`${name}="([^"]*)"`).exec(l)![1]));
    expect(label('type').size).toBeLessThanOrEqual(3);
    expect(label('type').has('other')).toBe(true);
    expect(label('category').size).toBeLessThanOrEqual(2);
    expect(text).not.toContain('flood.c.');
    const counted = series.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const [total] = await engine.database.sql<{ n: number }[]>`select count(*)::int as n from notifications`;
    expect(counted).toBe(total!.n);
  });

  it("exports the Temporal SDK's own metrics, which pass promtool too", async () => {
    const text = await (await fetch(temporalMetricsUrl)).text();
    expect(text).toMatch(/temporal_workflow_task_schedule_to_start_latency_seconds_bucket/);
    expect(text).toMatch(/temporal_activity_execution_latency_seconds_count/);
    const check = promtool(text);
    expect(check.status, check.output).toBe(0);
  });
});
