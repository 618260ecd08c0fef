import type { temporal } from '@temporalio/proto';
import { afterAll, expect, it, describe, onTestFinished } from 'vitest';
import { expectProblem } from './helpers/problem.js';
import { auditSteps, getNotification, putUser, settled, transactionData, trigger } from './helpers/notify.js';
import { startTimeSkippingEngine, type TimeSkippingEngine } from './helpers/time-skipping.js';
import { waitUntil } from './helpers/wait.js';

// sendAt, quiet hours and the retry backoff of a transient SMTP refusal hold a notification on
// durable timers. On Temporal's time-skipping test server the tests skip the clock past them
// instead of waiting: the hold is seen in the history (a timer, the send scheduled no earlier
// than the hold's end) and at the SMTP receiver (nothing before the skip, one message after).
// A skip moves the workflow clock ahead of the wall clock that activities (quiet hours) and the
// API (sendAt) read, for the rest of the server's life: a test that relates the two has a server
// of its own; the others share one.

const MINUTE = 60_000;

let shared: Promise<TimeSkippingEngine> | undefined;
/** One engine for the tests that compare no workflow time with the wall clock (its RCPT answers 451 to `greylisted`). */
const greylisted = new Set<string>();
const sharedEngine = () =>
  (shared ??= startTimeSkippingEngine({
    inbox: { onRcpt: ({ rcpt }) => (greylisted.has(rcpt) ? { code: 451, message: '4.7.1 Greylisted, try again later' } : undefined) },
  }));
afterAll(async () => (await shared)?.stop());

/** An engine on a fresh time-skipping server, stopped when the test ends. */
async function freshEngine(): Promise<TimeSkippingEngine> {
  const engine = await startTimeSkippingEngine();
  onTestFinished(() => engine.stop());
  return engine;
}

const post = (
  engine: TimeSkippingEngine,
  userId: string,
  key: string,
  extra: Record<string, unknown> = {},
  type = 'account.transaction',
  data: Record<string, unknown> = transactionData,
) => engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { userId, type, data, ...extra } });
const mailsOf = (engine: TimeSkippingEngine, id: string) => engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === id);
const view = async (engine: TimeSkippingEngine, id: string) =>
  (await getNotification(engine, id)) as Awaited<ReturnType<typeof getNotification>> & { sendAt: string | null };
/** Waits until the API shows the notification scheduled and its workflow holds on the timer (skipping sooner would skip nothing). */
const scheduled = (engine: TimeSkippingEngine, id: string, label: string) =>
  waitUntil(
    async () => {
      const v = await view(engine, id);
      return v.status === 'scheduled' && (await holdInHistory(engine, v.workflowId)).timerMs !== undefined ? v : undefined;
    },
    15_000,
    label,
  );
/** "HH:MM" in a timezone, `offsetMinutes` from now. */
const localTime = (timeZone: string, offsetMinutes: number) =>
  new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(Date.now() + offsetMinutes * MINUTE),
  );

/** From the workflow history, in workflow time: the hold's timer, when it fired, and when the e-mail send was scheduled. */
async function holdInHistory(engine: TimeSkippingEngine, workflowId: string) {
  const events = (await engine.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const at = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
  const started = events.find((e) => e.timerStartedEventAttributes);
  const fired = events.find((e) => e.timerFiredEventAttributes);
  const send = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendEmail');
  return {
    timerMs: started ? Number(started.timerStartedEventAttributes!.startToFireTimeout!.seconds) * 1000 : undefined,
    firedAt: fired && at(fired),
    sendScheduledAt: send && at(send),
  };
}

describe('sendAt', () => {
  it('holds the notification as scheduled, with its send time, and sends it then (29 days later)', async () => {
    const engine = await freshEngine();
    await putUser(engine, 'sara', { email: 'sara@example.fr' }, { transactions: ['email'] });
    const sendAt = new Date(Date.now() + 29 * 24 * 60 * MINUTE).toISOString();
    const res = await post(engine, 'sara', 'sara-1', { sendAt });
    expect(res.status).toBe(202);
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(status).toBe('scheduled');
    const held = await scheduled(engine, id, 'held until sendAt');
    expect(held).toMatchObject({ status: 'scheduled', sendAt });
    const before = await holdInHistory(engine, held.workflowId);
    expect(before.timerMs).toBeGreaterThan(29 * 24 * 60 * MINUTE - 5 * MINUTE);
    expect(before.firedAt).toBeUndefined();
    expect(mailsOf(engine, id)).toHaveLength(0);

    await engine.skip(29 * 24 * 60 * MINUTE + MINUTE);
    const done = await settled(engine, id, 30_000);
    expect(done.status).toBe('delivered');
    expect(mailsOf(engine, id)).toHaveLength(1);
    const after = await holdInHistory(engine, held.workflowId);
    expect(after.firedAt).toBeGreaterThanOrEqual(Date.parse(sendAt));
    expect(after.sendScheduledAt).toBeGreaterThanOrEqual(Date.parse(sendAt));
  });

  it('can be cancelled while scheduled: nothing is sent, not even once its time has passed', async () => {
    const engine = await freshEngine();
    await putUser(engine, 'carl', { email: 'carl@example.fr' }, { transactions: ['email'] });
    const res = await post(engine, 'carl', 'carl-1', { sendAt: new Date(Date.now() + 60 * MINUTE).toISOString() });
    const { id } = (await res.json()) as { id: string };
    await scheduled(engine, id, 'held until sendAt');
    const cancel = await engine.request('POST', `/v1/notifications/${id}/cancel`);
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    expect(await cancel.json()).toMatchObject({ cancelled: true, status: 'cancelled' });
    expect((await view(engine, id)).status).toBe('cancelled');

    await engine.skip(2 * 60 * MINUTE);
    expect((await view(engine, id)).status).toBe('cancelled');
    expect(mailsOf(engine, id)).toHaveLength(0);
    expect((await holdInHistory(engine, (await view(engine, id)).workflowId)).sendScheduledAt).toBeUndefined();
  });

  it('is refused when malformed or more than 30 days ahead, and nothing is written', async () => {
    const engine = await sharedEngine();
    await putUser(engine, 'rita', { email: 'rita@example.fr' });
    for (const sendAt of ['tomorrow', '2026-13-01T00:00:00Z', new Date(Date.now() + 31 * 86_400_000).toISOString()]) {
      const res = await post(engine, 'rita', `rita-${sendAt}`, { sendAt });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const [row] = await engine.database.sql<
      { n: number }[]
    >`select count(*)::int as n from notifications where tenant_id = ${engine.tenantId} and idempotency_key like 'rita-%'`;
    expect(row!.n).toBe(0);
  });
});

describe('quiet hours', () => {
  it("hold service alerts until the user's window ends, in the user's timezone, and send them then; mandatory ones go at once", async () => {
    const engine = await freshEngine();
    const tz = 'Asia/Tokyo';
    const quietHours = { starts: localTime(tz, -60), ends: localTime(tz, 120) };
    await putUser(engine, 'quinn', { email: 'quinn@example.jp', timezone: tz, quietHours }, { transactions: ['email'] });
    expect(((await (await engine.request('GET', '/v1/users/quinn')).json()) as { quietHours: unknown }).quietHours).toEqual(quietHours);

    const held = ((await (await post(engine, 'quinn', 'quinn-1')).json()) as { id: string }).id;
    const waiting = await scheduled(engine, held, 'scheduled by quiet hours');
    // The end of the window, about two hours from now.
    const wait = Date.parse(waiting.sendAt!) - Date.now();
    expect(wait).toBeGreaterThan(118 * MINUTE);
    expect(wait).toBeLessThanOrEqual(120 * MINUTE);
    expect(await auditSteps(engine, held)).toContain('scheduled');

    const security = (
      (await (
        await post(engine, 'quinn', 'quinn-2', {}, 'security.new_device', { device: 'Pixel 9', city: 'Osaka', at: '2026-06-01T10:00:00Z' })
      ).json()) as { id: string }
    ).id;
    expect((await settled(engine, security)).status).toBe('delivered');
    expect(mailsOf(engine, held)).toHaveLength(0);

    // The window ends: the held alert goes out, no earlier than its end on the workflow's clock.
    await engine.skip(121 * MINUTE);
    expect((await settled(engine, held, 30_000)).status).toBe('delivered');
    expect(mailsOf(engine, held)).toHaveLength(1);
    const { firedAt, sendScheduledAt } = await holdInHistory(engine, waiting.workflowId);
    expect(firedAt).toBeGreaterThanOrEqual(Date.parse(waiting.sendAt!));
    expect(sendScheduledAt).toBeGreaterThanOrEqual(Date.parse(waiting.sendAt!));
  });

  it('can be cancelled while held: nothing is sent, not even once the window has ended', async () => {
    const engine = await freshEngine();
    const tz = 'Asia/Tokyo';
    await putUser(
      engine,
      'quentin',
      { email: 'quentin@example.jp', timezone: tz, quietHours: { starts: localTime(tz, -60), ends: localTime(tz, 120) } },
      {
        transactions: ['email'],
      },
    );
    const held = ((await (await post(engine, 'quentin', 'quentin-1')).json()) as { id: string }).id;
    await scheduled(engine, held, 'scheduled by quiet hours');
    const cancel = await engine.request('POST', `/v1/notifications/${held}/cancel`);
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ cancelled: true, status: 'cancelled' });

    await engine.skip(3 * 60 * MINUTE);
    expect((await view(engine, held)).status).toBe('cancelled');
    expect(mailsOf(engine, held)).toHaveLength(0);
  });

  it("use the tenant's default for users without their own, and send when the window ends", async () => {
    const engine = await freshEngine();
    await engine.database
      .sql`insert into quiet_hours (tenant_id, user_id, starts, ends) values (${engine.tenantId}, null, ${localTime('UTC', -60)}, ${localTime('UTC', 90)})`;
    await putUser(engine, 'ugo', { email: 'ugo@example.fr', timezone: 'UTC' }, { transactions: ['email'] });
    const id = ((await (await post(engine, 'ugo', 'ugo-1')).json()) as { id: string }).id;
    const waiting = await scheduled(engine, id, 'scheduled by the tenant default');
    expect(Date.parse(waiting.sendAt!) - Date.now()).toBeGreaterThan(88 * MINUTE);
    expect(mailsOf(engine, id)).toHaveLength(0);

    await engine.skip(91 * MINUTE);
    const done = await settled(engine, id, 30_000);
    expect(done.status).toBe('delivered');
    expect(mailsOf(engine, id)).toHaveLength(1);
    const { firedAt, sendScheduledAt } = await holdInHistory(engine, waiting.workflowId);
    expect(firedAt).toBeGreaterThanOrEqual(Date.parse(waiting.sendAt!));
    expect(sendScheduledAt).toBeGreaterThanOrEqual(Date.parse(waiting.sendAt!));
  });
});

// A transient SMTP refusal (4xx) is retried with backoff: 10 attempts, 1 s doubling to 5 min
// (workflows/notification.ts SEND), about nine minutes of workflow time.
describe('SMTP 4xx retry backoff', () => {
  const deferred = (engine: TimeSkippingEngine, id: string) =>
    waitUntil(async () => (await getNotification(engine, id)).attempts.some((a) => a.outcome === 'deferred'), 30_000, 'a deferred attempt');

  it('uses all 10 attempts over the backoff, then falls back to push', async () => {
    const engine = await sharedEngine();
    greylisted.add('rex@example.com');
    await putUser(engine, 'rex', { email: 'rex@example.com', locale: 'en', pushTokens: ['tok-rex'] }, { transactions: ['email'] });
    const id = await trigger(engine, 'rex', 'rex-1');
    await deferred(engine, id);

    await engine.skip(60 * MINUTE);
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    expect(done.deliveredChannels).toEqual(['push']);
    expect(done.attempts.map((a) => [a.channel, a.attempt, a.outcome])).toEqual([
      ...Array.from({ length: 10 }, (_, i) => ['email', i + 1, 'deferred']),
      ['push', 1, 'accepted'],
    ]);
    expect(engine.inbox.messages.filter((m) => m.rcptTo.includes('rex@example.com'))).toHaveLength(0);
    expect(engine.fcm.received.filter((m) => m.token === 'tok-rex')).toHaveLength(1);
    expect(await auditSteps(engine, id)).toContain('fallback');
  });

  // Moved from test/api-validation.test.ts, where a 5 s sleep stood for the retries' backoff.
  it('while the e-mail is held in retry backoff → 200, cancelled, and the message never arrives, however long after', async () => {
    const engine = await sharedEngine();
    greylisted.add('dora@example.nl');
    await putUser(engine, 'dora', { email: 'dora@example.nl', locale: 'nl' });
    const id = await trigger(engine, 'dora', 'cancel-held');
    // The first try was deferred by the 451: the workflow is now waiting to retry.
    await deferred(engine, id);

    const cancel = await engine.request('POST', `/v1/notifications/${id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({ id, cancelled: true, status: 'cancelled' });
    expect((await view(engine, id)).status).toBe('cancelled');

    // The server accepts mail again and the whole retry budget goes by: a retry, if one were left, would get through.
    greylisted.delete('dora@example.nl');
    await engine.skip(60 * MINUTE);
    expect(mailsOf(engine, id)).toHaveLength(0);
    expect((await view(engine, id)).status).toBe('cancelled');

    const steps = await auditSteps(engine, id);
    expect(steps).toContain('email.deferred');
    expect(steps).not.toContain('email.accepted');
    expect(steps.slice(-2)).toEqual(['cancel.requested', 'notification.cancelled']);

    // A second cancel is refused: it is over.
    await expectProblem(await engine.request('POST', `/v1/notifications/${id}/cancel`), 409, /already cancelled/);
  });
});
