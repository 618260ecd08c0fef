import { randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMonitoring } from '../domain/monitor/settings.js';
import { signatureHeader, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { createSecretBox } from '../config/secrets.js';
import { alarms, deliveryAttempts, notifications, users } from '../db/schema.js';
import { startInboundListener, type InboundListener } from '../inbound/server.js';
import { deliveryMonitorWorkflow } from '../workflows/monitoring.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { arfReport, mailReport } from './helpers/feedback-mail.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { putUser } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

const adminKey = 'nf_admin_monitor_test';
const operatorSecret = 'operator-monitor-secret';
// A provider and an IP only this file uses: the database is shared by the whole run.
const provider = 'burstmail';
const ip = '127.0.0.77';
let engine: TestEngine;
let listener: InboundListener;
let operator: Awaited<ReturnType<typeof startHttpReceiver>>;

beforeAll(async () => {
  operator = await startHttpReceiver();
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    api: { adminKey },
    monitoring: {
      ...defaultMonitoring,
      window: { minutes: 60, minVolume: 100 },
      operatorWebhook: { url: `${operator.url}/ops`, secret: operatorSecret },
    },
  });
  listener = await startInboundListener({
    db: engine.database.db,
    secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
    loops: { domains: [], ips: ['127.0.0.1'] },
  });
});
afterAll(async () => {
  await listener?.close();
  await engine?.stop();
  await operator?.close();
});

/** 400 alerts accepted by the provider from one IP in the last minutes (what a busy hour leaves in Postgres). */
async function seedDeliveries(n: number): Promise<string[]> {
  const db = engine.database.db;
  await putUser(engine, 'many', { email: 'many@burstmail.test' });
  const [user] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, engine.tenantId), eq(users.externalId, 'many')));
  const ids = Array.from({ length: n }, () => randomUUID());
  await db.insert(notifications).values(
    ids.map((id, i) => ({
      id,
      tenantId: engine.tenantId,
      userId: user!.id,
      type: 'account.transaction',
      categoryKey: 'transactions',
      idempotencyKey: `seed-${i}`,
      requestHash: 'seed',
      workflowId: `seed-${id}`,
      data: {},
      status: 'delivered' as const,
    })),
  );
  await db.insert(deliveryAttempts).values(
    ids.map((id) => ({
      notificationId: id,
      channel: 'email' as const,
      attempt: 1,
      outcome: 'accepted' as const,
      sourceIp: ip,
      provider,
      target: 'burstmail.test',
      responseCode: 250,
      response: '250 OK',
      startedAt: new Date(),
    })),
  );
  return ids;
}

const complain = (notificationId: string) =>
  mailReport(
    listener,
    arfReport({
      to: 'fbl@bank.test',
      sourceIp: ip,
      originalHeaders: `Message-ID: <${notificationId}@${engine.tenantId}.bank.test>\r\nX-Notification-Id: ${notificationId}\r\nTo: many@burstmail.test\r\nSubject: Payment`,
    }),
    { from: 'fbl@burstmail.test', to: 'fbl@bank.test' },
  );
const monitor = () => engine.client.workflow.execute(deliveryMonitorWorkflow, { taskQueue: engine.taskQueue, workflowId: `monitor-${randomUUID()}` });
const openComplaintAlarm = async (scope: string) =>
  (
    await engine.database.db
      .select()
      .from(alarms)
      .where(and(eq(alarms.kind, 'rate.complaint'), eq(alarms.scope, scope), isNull(alarms.resolvedAt)))
  )[0];

describe('delivery monitoring', () => {
  it('complaints crossing 0.1% warn and 0.3% alarm per provider and IP; the operator webhook gets each, signed', async () => {
    const ids = await seedDeliveries(400);

    await complain(ids[0]!); // 1 / 400 = 0.25%: a warning
    let report = await monitor();
    const row = report.rows.find((r) => r.scope === `provider:${provider}`);
    expect(row).toMatchObject({ delivered: 400, complaints: 1 });
    expect(row!.rates.complaint).toBeCloseTo(0.0025);
    expect(await openComplaintAlarm(`provider:${provider}`)).toMatchObject({ severity: 'warn' });
    expect(await openComplaintAlarm(`ip:${ip}`)).toMatchObject({ severity: 'warn' });

    await complain(ids[1]!); // 2 / 400 = 0.5%: over Gmail's 0.3% ceiling, an alarm
    report = await monitor();
    const alarm = await openComplaintAlarm(`provider:${provider}`);
    expect(alarm).toMatchObject({ severity: 'alarm' });
    expect(report.newAlarms).toContain(alarm!.id);

    // Listed for operators...
    const listed = (await (await engine.request('GET', '/v1/admin/alarms', { key: adminKey })).json()) as {
      alarms: { id: string; severity: string; message: string }[];
    };
    expect(listed.alarms.find((a) => a.id === alarm!.id)).toMatchObject({
      severity: 'alarm',
      message: expect.stringMatching(/complaint rate 0\.50%/),
    });
    expect((await engine.request('GET', '/v1/admin/alarms', { key: engine.apiKey })).status).toBe(401);

    // ...and posted to the operator's webhook, signed, once as a warning and again as an alarm.
    const posts = await waitUntil(
      async () => {
        const mine = operator.requests.filter((r) => r.body.includes(`"scope":"provider:${provider}"`));
        return mine.length >= 2 ? mine : undefined;
      },
      30_000,
      'operator webhooks',
    );
    for (const p of posts) expect(verifyWebhookSignature(operatorSecret, p.headers[signatureHeader.toLowerCase()] as string, p.body)).toBe(true);
    expect(posts.map((p) => (JSON.parse(p.body) as { severity: string }).severity)).toEqual(['warn', 'alarm']);

    // Nothing new on the next run while the rate stays up.
    expect((await monitor()).newAlarms.filter((id) => id === alarm!.id)).toEqual([]);
  });
});
