// Each tenant pushes through its own Firebase service account (PUT /v1/push-credentials), so its
// pushes reach its own Firebase project; the local FCM endpoint records the project of each send.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPushCredentials } from '../db/schema.js';
import { bundleWorkflows, startTestEngine, testServiceAccount, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';

let engine: TestEngine;
let other: { tenantId: string; apiKey: string };

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  other = await engine.addTenant();
});
afterAll(async () => engine?.stop());

const as = (key: string) => ({ key });
const pushTo = (token: string) => engine.fcm.received.filter((p) => p.token === token);

async function pushTenant(key: string, userId: string, token: string, idem: string) {
  const res = await engine.request('PUT', `/v1/users/${userId}`, { body: { pushTokens: [token] }, ...as(key) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  const prefs = await engine.request('PUT', `/v1/users/${userId}/preferences`, { body: { categories: { transactions: ['push'] } }, ...as(key) });
  expect(prefs.status).toBe(200);
  const sent = await engine.request('POST', '/v1/notifications', {
    headers: { 'idempotency-key': idem },
    body: { userId, type: 'account.transaction', data: { amount: 5, currency: 'EUR', merchant: 'Bakery', accountLast4: '1234' } },
    ...as(key),
  });
  expect(sent.status, await sent.clone().text()).toBe(202);
  const id = ((await sent.json()) as { id: string }).id;
  return settled({ ...engine, request: (m, p, o = {}) => engine.request(m, p, { ...o, key }) }, id);
}

describe('push credentials per tenant', () => {
  it("sends tenant A's push to project A and tenant B's to project B", async () => {
    const a = await pushTenant(engine.apiKey, 'ana', 'tok-a-ana', 'a-1');
    const b = await pushTenant(other.apiKey, 'ben', 'tok-b-ben', 'b-1');
    expect([a.status, b.status]).toEqual(['delivered', 'delivered']);
    expect(pushTo('tok-a-ana').map((p) => p.projectId)).toEqual([`push-${engine.tenantId}`]);
    expect(pushTo('tok-b-ben').map((p) => p.projectId)).toEqual([`push-${other.tenantId}`]);
  });

  it('takes a service account through the API, shows its project but never its key, and pushes with it from then on', async () => {
    const account = testServiceAccount('bank-b-production');
    const put = await engine.request('PUT', '/v1/push-credentials', { body: { ...account, private_key_id: 'abc123' }, ...as(other.apiKey) });
    expect(put.status, await put.clone().text()).toBe(200);
    const shown = await engine.request('GET', '/v1/push-credentials', as(other.apiKey));
    const text = await shown.text();
    expect(JSON.parse(text)).toEqual({
      projectId: 'bank-b-production',
      clientEmail: 'notiflow@bank-b-production.iam.gserviceaccount.com',
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(text).not.toContain('PRIVATE KEY');
    // Sealed at rest: the key is not in the row in clear.
    const [row] = await engine.database.db.select().from(tenantPushCredentials).where(eq(tenantPushCredentials.tenantId, other.tenantId));
    expect(row!.credentialEnc).not.toContain('PRIVATE KEY');
    expect(row!.credentialEnc).toMatch(/^v2\./);

    const b = await pushTenant(other.apiKey, 'ben', 'tok-b-ben', 'b-2');
    expect(b.status).toBe('delivered');
    expect(pushTo('tok-b-ben').map((p) => p.projectId)).toEqual([`push-${other.tenantId}`, 'bank-b-production']);
    // Tenant A is untouched.
    const a = await pushTenant(engine.apiKey, 'ana', 'tok-a-ana', 'a-2');
    expect(a.status).toBe('delivered');
    expect(pushTo('tok-a-ana').map((p) => p.projectId)).toEqual([`push-${engine.tenantId}`, `push-${engine.tenantId}`]);
  });

  it('refuses what is not a service account with a 422 naming the problem, and keeps the one it had', async () => {
    const wrongType = await engine.request('PUT', '/v1/push-credentials', {
      body: { ...testServiceAccount('bank-b-other'), type: 'user' },
      ...as(other.apiKey),
    });
    expect(wrongType.status).toBe(422);
    expect(wrongType.headers.get('content-type')).toContain('application/problem+json');
    const badKey = await engine.request('PUT', '/v1/push-credentials', {
      body: { ...testServiceAccount('bank-b-other'), private_key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n' },
      ...as(other.apiKey),
    });
    expect(badKey.status).toBe(422);
    expect(((await badKey.json()) as { detail: string }).detail).toMatch(/private_key/);
    const shown = (await (await engine.request('GET', '/v1/push-credentials', as(other.apiKey))).json()) as { projectId: string };
    expect(shown.projectId).toBe('bank-b-production');
  });

  it('a tenant without a service account gets no push: failed for good with the reason, e-mail serves instead', async () => {
    const del = await engine.request('DELETE', '/v1/push-credentials', as(other.apiKey));
    expect(del.status).toBe(204);
    expect((await engine.request('GET', '/v1/push-credentials', as(other.apiKey))).status).toBe(404);
    const before = engine.fcm.received.length;

    const pushOnly = await pushTenant(other.apiKey, 'ben', 'tok-b-ben', 'b-3');
    expect(pushOnly.status).toBe('failed');
    expect(pushOnly.error).toMatch(/Push is not set up for this tenant: upload its Firebase service account with PUT \/v1\/push-credentials/);

    const withEmail = {
      ...engine,
      apiKey: other.apiKey,
      request: (m: string, p: string, o = {}) => engine.request(m, p, { ...o, key: other.apiKey }),
    };
    await putUser(withEmail, 'cleo', { email: 'cleo@example.fr', pushTokens: ['tok-b-cleo'] }, { transactions: ['push'] });
    const fellBack = await settled(withEmail, await trigger(withEmail, 'cleo', 'b-4'));
    expect(fellBack.status).toBe('delivered');
    expect(fellBack.deliveredChannels).toEqual(['email']);
    expect(engine.fcm.received.length).toBe(before);
  });
});
