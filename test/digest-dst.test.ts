import type { temporal } from '@temporalio/proto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getNotification, putUser, transactionData, trigger } from './helpers/notify.js';
import { startTimeSkippingEngine, type TimeSkippingEngine } from './helpers/time-skipping.js';
import { waitUntil } from './helpers/wait.js';

// "daily 19:00" for a user in Europe/Paris, on Temporal's time-skipping test server: the digest
// workflow's durable timer fires at 19:00 Paris time in winter (18:00 UTC) and across the change
// to summer time on Sunday 28 March 2027 (17:00 UTC), and the digest arrives after each skip.
// Times compared are workflow times (history events), never the wall clock. Each test has a
// server of its own: once workflows have run on it, a later skip was seen to go at the wall
// clock's pace, so each test makes one jump to its date before anything runs.

let engine: TimeSkippingEngine;

/** A fresh time-skipping server, its clock moved to `iso`, a Paris user and the type's daily 19:00 digest. */
async function parisAt(iso: string): Promise<void> {
  engine = await startTimeSkippingEngine();
  onTestFinished(() => engine.stop());
  await engine.skip(Date.parse(iso) - (await engine.now()));
  const type = (await (await engine.request('GET', '/v1/notification-types/account.transaction')).json()) as { category: string; variables: unknown };
  const put = await engine.request('PUT', '/v1/notification-types/account.transaction', {
    body: { category: type.category, variables: type.variables, digest: { schedule: { every: 'day', at: '19:00' } } },
  });
  expect(put.status, await put.clone().text()).toBe(200);
  await putUser(engine, 'paula', { email: 'paula@example.fr', locale: 'en', timezone: 'Europe/Paris' }, { transactions: ['email'] });
}

const at = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/** The open digest run's timer: when it started and when it is due, in workflow time. */
async function digestTimer(workflowId: string) {
  const events = (await engine.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const started = events.find((e) => e.timerStartedEventAttributes);
  const fired = events.find((e) => e.timerFiredEventAttributes);
  if (!started) return undefined;
  const timeout = started.timerStartedEventAttributes!.startToFireTimeout!;
  return { dueAt: at(started) + Number(timeout.seconds) * 1000 + Math.floor((timeout.nanos ?? 0) / 1e6), firedAt: fired && at(fired) };
}

async function digestOnce(key: string, expectedFire: string) {
  const before = engine.inbox.messages.length;
  const id = await trigger(engine, 'paula', key, 'account.transaction', transactionData);
  const workflowId = ((await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as { workflowId: string }).workflowId;
  const timer = await waitUntil(() => digestTimer(workflowId), 30_000, 'the digest timer');
  // Due at 19:00 Paris, to the second (the timer's length is computed when the window opens).
  expect(Math.abs(timer.dueAt - Date.parse(expectedFire))).toBeLessThan(5_000);
  expect(engine.inbox.messages.length).toBe(before);
  await engine.skip(timer.dueAt - (await engine.now()) + 1_000);
  const fired = await waitUntil(async () => (await digestTimer(workflowId))?.firedAt, 30_000, 'the timer to fire');
  expect(Math.abs(fired - Date.parse(expectedFire))).toBeLessThan(5_000);
  const mails = await engine.inbox.waitFor(before + 1, 60_000);
  expect(mails[before]!.subject).toBe(`1 updates from Bank ${engine.tenantId}`);
  expect(mails[before]!.dkim.result).toBe('pass');
  expect((await getNotification(engine, id)).status).toBe('digested');
}

describe('a daily 19:00 digest in Europe/Paris', () => {
  it('fires at 19:00 Paris time in winter: 18:00 UTC', { timeout: 300_000 }, async () => {
    // Friday 26 March 2027, 11:00 in Paris (UTC+1).
    await parisAt('2027-03-26T10:00:00Z');
    await digestOnce('p-1', '2027-03-26T18:00:00Z');
  });

  it('fires at 19:00 Paris time across the change to summer time: 17:00 UTC', { timeout: 300_000 }, async () => {
    // Saturday 27 March 2027, 19:30 in Paris, after that day's digest time: the next is Sunday
    // 19:00, summer time since 02:00 (UTC+2), i.e. 17:00 UTC, a timer of 21.5 hours, not 22.5.
    await parisAt('2027-03-27T18:30:00Z');
    await digestOnce('p-2', '2027-03-28T17:00:00Z');
  });
});
