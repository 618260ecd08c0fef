import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../config/secrets.js';
import { auditEvents, sendingDomains, tenants, testRecipients, testSends } from '../db/schema.js';
import { attemptFromReturnPath } from '../domain/email/return-path.js';
import { setTenantLimits, takeRateTokens } from '../domain/tenancy/limits.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { expectProblem } from './helpers/problem.js';
import { waitUntil } from './helpers/wait.js';

// A template test send is mail like any other: it leaves only from a DKIM-verified domain, only to
// an address whose reader confirmed it, never while the tenant is on hold or to a suppressed
// address, with the VERP return path, charged as a notification and under a daily cap, and a
// likely-spam version needs force as publishing does.

const PER_DAY = 4;
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows(), api: { testSendsPerDay: PER_DAY } });
});
afterAll(async () => engine?.stop());

const data = { device: 'Pixel 9', city: 'Lyon', at: '2026-12-01T10:00:00Z' };
const testSend = (body: Record<string, unknown>, key?: string, type = 'security.new_device') =>
  engine.request('POST', `/v1/notification-types/${type}/test-send`, { body: { locale: 'en', data, ...body }, key });

const testSendsOf = async (tenantId: string) =>
  (await engine.database.db.select({ n: count() }).from(testSends).where(eq(testSends.tenantId, tenantId)))[0]!.n;

/** A tenant of its own with one address already confirmed (state set up in Postgres; the confirmation itself is tested below). */
async function tenantWithRecipient(email: string) {
  const t = await engine.addTenant();
  await engine.database.db.insert(testRecipients).values({ tenantId: t.tenantId, email, confirmedAt: new Date() });
  return t;
}

describe('a template test send', () => {
  it('goes only to a confirmed test recipient: any other address gets 422 and nothing is recorded or sent', async () => {
    const p = await expectProblem(await testSend({ to: 'victim@elsewhere.example' }), 422);
    expect(p.detail).toContain('not a confirmed test recipient');
    expect(p.errors?.[0]?.path).toBe('body.to');
    expect(p.detail).not.toContain('victim@');
    expect(await testSendsOf(engine.tenantId)).toBe(0);
  });

  it('reaches a recipient confirmed by the code mailed to it, from the verified domain with the VERP return path; removed, it gets no more', async () => {
    const secrets = createSecretBox(Buffer.from(engine.secretKey, 'base64'));
    const domain = `${engine.tenantId}.bank.test`;
    // A wrong code is refused and counted; the right one confirms.
    const added = await engine.request('POST', '/v1/test-recipients', { body: { email: 'QA@Bank.example' } });
    expect(added.status).toBe(201);
    const pending = (await added.json()) as { id: string; email: string; status: string };
    expect(pending).toMatchObject({ email: 'qa@bank.example', status: 'pending' });
    const codeMail = await waitUntil(async () => engine.inbox.messages.find((m) => m.rcptTo.includes('qa@bank.example')));
    expect(codeMail.headers['x-notiflow-test']).toBe('recipient confirmation');
    expect(codeMail.from).toContain(`@${domain}`);
    expect(codeMail.dkim.result).toBe('pass');
    expect(attemptFromReturnPath(secrets, codeMail.mailFrom)).not.toBeNull();
    const code = /code: (\d{8})/.exec(codeMail.text)![1]!;
    const wrong = code === '00000000' ? '11111111' : '00000000';
    expect(
      (await expectProblem(await engine.request('POST', `/v1/test-recipients/${pending.id}/confirm`, { body: { code: wrong } }), 422)).detail,
    ).toContain('does not match');
    const confirmed = await engine.request('POST', `/v1/test-recipients/${pending.id}/confirm`, { body: { code } });
    expect(confirmed.status).toBe(200);
    const list = (await (await engine.request('GET', '/v1/test-recipients')).json()) as { recipients: { email: string; status: string }[] };
    expect(list.recipients).toEqual([expect.objectContaining({ email: 'qa@bank.example', status: 'confirmed' })]);

    const res = await testSend({ to: 'qa@bank.example' });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const mail = await waitUntil(async () => engine.inbox.messages.find((m) => m.headers['message-id']?.includes(`test-${id}@`)));
    expect(mail.subject.startsWith('[TEST] ')).toBe(true);
    expect(mail.from).toContain(`@${domain}`);
    expect(mail.dkim.result).toBe('pass');
    // The envelope sender names this test send, signed, on the return-path subdomain: bounces come back to the engine.
    expect(mail.mailFrom).toMatch(new RegExp(`^bounces\\+[0-9a-f]{32}\\.[0-9a-f]{16}@nfbounce\\.${domain.replace(/\./g, '\\.')}$`));
    expect(attemptFromReturnPath(secrets, mail.mailFrom)).toBe(id);

    expect((await engine.request('DELETE', `/v1/test-recipients/${pending.id}`)).status).toBe(204);
    expect((await expectProblem(await testSend({ to: 'qa@bank.example' }), 422)).detail).toContain('not a confirmed test recipient');
    expect(await testSendsOf(engine.tenantId)).toBe(2);
  });

  it('is refused with 409 while the tenant has no DKIM-verified domain (the test send and the recipient code alike), and nothing is sent', async () => {
    const t = await tenantWithRecipient('qa@unverified.example');
    // Its only domain has not verified (as one added through POST /v1/sending-domains would be).
    await engine.database.db
      .update(sendingDomains)
      .set({ dkimVerifiedAt: null, firstVerifiedAt: null, status: 'pending' })
      .where(eq(sendingDomains.tenantId, t.tenantId));
    expect((await expectProblem(await testSend({ to: 'qa@unverified.example' }, t.apiKey), 409)).detail).toContain('has not verified');
    const code = await engine.request('POST', '/v1/test-recipients', { body: { email: 'other@unverified.example' }, key: t.apiKey });
    expect((await expectProblem(code, 409)).detail).toContain('has not verified');
    expect(await testSendsOf(t.tenantId)).toBe(0);
    const rows = await engine.database.db.select().from(testRecipients).where(eq(testRecipients.tenantId, t.tenantId));
    expect(rows.map((r) => r.email)).toEqual(['qa@unverified.example']);
  });

  it('is refused for a tenant on hold (409) and to a suppressed address (422), and nothing is sent', async () => {
    const t = await tenantWithRecipient('qa@held.example');
    await engine.database.db.update(tenants).set({ status: 'held', statusReason: 'blocklisted IP' }).where(eq(tenants.id, t.tenantId));
    expect((await expectProblem(await testSend({ to: 'qa@held.example' }, t.apiKey), 409)).detail).toContain('on hold');
    await engine.database.db.update(tenants).set({ status: 'active', statusReason: null }).where(eq(tenants.id, t.tenantId));

    const suppressed = await engine.request('POST', '/v1/suppressions', { body: { email: 'qa@held.example', reason: 'complaint' }, key: t.apiKey });
    expect(suppressed.status).toBe(201);
    // A complaint does not stop a required alert, but a test is never one.
    const p = await expectProblem(await testSend({ to: 'qa@held.example' }, t.apiKey), 422);
    expect(p.detail).toContain('suppressed (complaint)');
    expect(await testSendsOf(t.tenantId)).toBe(0);
  });

  it("is charged to the tenant's notification bucket: an empty bucket answers 429", async () => {
    const t = await tenantWithRecipient('qa@quota.example');
    const limits = { requestsPerSecond: 1000, requestsBurst: 1000, notificationsPerSecond: 1, notificationsBurst: 1 };
    await setTenantLimits(engine.database.db, t.tenantId, { notificationsPerSecond: 1, notificationsBurst: 1 }, 'test', limits);
    // A big batch of notifications took the bucket an hour into debt.
    await takeRateTokens(engine.database.db, t.tenantId, 'notifications', 3_600, limits);
    const p = await expectProblem(await testSend({ to: 'qa@quota.example' }, t.apiKey), 429);
    expect(p.detail).toContain('notifications per second');
    expect(await testSendsOf(t.tenantId)).toBe(0);
  });

  it(`stops at ${PER_DAY} test messages a day with 429 and Retry-After`, async () => {
    const t = await tenantWithRecipient('qa@cap.example');
    for (let i = 0; i < PER_DAY; i++) expect((await testSend({ to: 'qa@cap.example' }, t.apiKey)).status).toBe(202);
    const refused = await testSend({ to: 'qa@cap.example' }, t.apiKey);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3_600);
    expect((await expectProblem(refused, 429)).detail).toContain(`${PER_DAY} test messages per 24 hours`);
    expect(await testSendsOf(t.tenantId)).toBe(PER_DAY);
  });

  it('of a version the spam check calls likely-spam needs force, as publishing does, and the force is audited', async () => {
    const t = await tenantWithRecipient('qa@spam.example');
    const put = await engine.request('PUT', '/v1/notification-types/promo.test', {
      key: t.apiKey,
      body: { category: 'transactions', variables: { reason: { type: 'string', required: true } } },
    });
    expect(put.status).toBe(201);
    const spammy = {
      subject: 'GRATUIT !!! Cliquez ici, offre limitée, URGENT',
      mjml: '<mj-text>GRATUIT !!! Cliquez ici pour gagnez de l’argent facile, sans risque, garanti. <a href="https://bit.ly/x">www.mabanque.fr</a> {{reason}}</mj-text>',
    };
    const created = await engine.request('POST', '/v1/notification-types/promo.test/versions', {
      key: t.apiKey,
      body: { email: { en: spammy, fr: spammy }, push: { en: { title: 'Offre', body: '{{reason}}' }, fr: { title: 'Offre', body: '{{reason}}' } } },
    });
    const version = (await created.json()) as { version: number; spam: { verdict: string } };
    expect(created.status).toBe(201);
    expect(version.spam.verdict).toBe('likely-spam');
    const body = { to: 'qa@spam.example', version: version.version, data: { reason: 'GRATUIT' } };
    expect((await expectProblem(await testSend(body, t.apiKey, 'promo.test'), 409)).detail).toContain('"force": true');
    expect(await testSendsOf(t.tenantId)).toBe(0);
    const forced = await testSend({ ...body, force: true }, t.apiKey, 'promo.test');
    expect(forced.status, await forced.clone().text()).toBe(202);
    const [requested] = await engine.database.db
      .select({ detail: auditEvents.detail })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, t.tenantId), eq(auditEvents.step, 'template.test_requested')));
    expect(requested!.detail).toMatchObject({ type: 'promo.test', version: version.version, forced: true });
  });
});
