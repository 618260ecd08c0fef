import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { auditSteps, getNotification, putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

// Digests end to end on the real engine: the type declares a digest, triggers wait in Postgres,
// the digest workflow closes its window on a durable timer, and one DKIM-signed e-mail lists the items.

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

async function declareDigest(type: string, digest: Record<string, unknown> | null) {
  const current = (await (await engine.request('GET', `/v1/notification-types/${type}`)).json()) as { category: string; variables: unknown };
  const res = await engine.request('PUT', `/v1/notification-types/${type}`, {
    body: { category: current.category, variables: current.variables, digest },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { digest: unknown };
}

const tx = (amount: number, currency: string, merchant: string) => ({ amount, currency, merchant, accountLast4: '1234' });

describe('a notification type with a digest', () => {
  it('collects a window into one e-mail with the items and totals per currency; a cancelled item stays out; a security alert goes at once', async () => {
    const declared = await declareDigest('account.transaction', { window: { mode: 'fixed', seconds: 15 } });
    expect(declared.digest).toEqual({ window: { mode: 'fixed', seconds: 15 } });
    await putUser(engine, 'dora', { email: 'dora@example.com', locale: 'en', timezone: 'Europe/Paris' }, { transactions: ['email'] });

    const ids = [
      await trigger(engine, 'dora', 'd-1', 'account.transaction', tx(10, 'EUR', 'Bakery')),
      await trigger(engine, 'dora', 'd-2', 'account.transaction', tx(100, 'EUR', 'Cancelled Shop')),
      await trigger(engine, 'dora', 'd-3', 'account.transaction', tx(5.25, 'EUR', 'Kiosk')),
      await trigger(engine, 'dora', 'd-4', 'account.transaction', tx(7, 'USD', 'Diner')),
    ];
    const first = await getNotification(engine, ids[0]!);
    expect(first.status).toBe('batched');
    expect(first.workflowId).toMatch(new RegExp(`^digest:${engine.tenantId}:dora:account\\.transaction:`));

    const cancel = await engine.request('POST', `/v1/notifications/${ids[1]}/cancel`);
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    expect((await getNotification(engine, ids[1]!)).status).toBe('cancelled');

    // A mandatory category never waits: the security alert arrives while the window is open.
    const alert = await trigger(engine, 'dora', 'd-alert', 'security.new_device', { device: 'Pixel 9', city: 'Lyon', at: '2026-03-29T10:00:00Z' });
    const [alertMail] = await engine.inbox.waitFor(1, 30_000);
    expect(alertMail!.subject).not.toMatch(/updates/);
    expect((await settled(engine, alert)).status).toBe('delivered');
    expect((await getNotification(engine, ids[0]!)).status).toBe('batched');

    const mails = await engine.inbox.waitFor(2, 60_000);
    const digest = mails[1]!;
    expect(digest.rcptTo).toEqual(['dora@example.com']);
    expect(digest.dkim.result).toBe('pass');
    expect(digest.subject).toBe(`3 updates from Bank ${engine.tenantId}`);
    for (const merchant of ['Bakery', 'Kiosk', 'Diner']) expect(digest.text).toContain(merchant);
    expect(digest.text).not.toContain('Cancelled Shop');
    expect(digest.text).toContain('€15.25');
    expect(digest.text).toContain('$7.00');

    // The audit links each item to the digest that carried it, and the digest went the ordinary way.
    const included = await waitUntil(async () => {
      const n = await getNotification(engine, ids[0]!);
      return n.status === 'digested' ? n : undefined;
    });
    expect(included.status).toBe('digested');
    const audit = (await (await engine.request('GET', `/v1/notifications/${ids[2]}/audit`)).json()) as {
      events: { step: string; detail: { digestId?: string } }[];
    };
    expect(audit.events.map((e) => e.step)).toEqual(['notification.accepted', 'digest.batched', 'digest.included']);
    const digestId = audit.events[2]!.detail.digestId!;
    const sent = await settled(engine, digestId);
    expect(sent.status).toBe('delivered');
    expect(await auditSteps(engine, digestId)).toEqual([
      'digest.closed',
      'channels.decided',
      'email.rendered',
      'email.accepted',
      'notification.delivered',
    ]);
    expect(await auditSteps(engine, ids[1]!)).toContain('notification.cancelled');
    const late = await engine.request('POST', `/v1/notifications/${ids[0]}/cancel`);
    expect(late.status).toBe(409);
  });

  it('firstImmediately sends the first item at once; maxItems sends the digest early, long before its window ends', async () => {
    engine.inbox.clear();
    await declareDigest('account.low_balance', { window: { mode: 'fixed', seconds: 3600 }, maxItems: 3, firstImmediately: true });
    await putUser(engine, 'emil', { email: 'emil@example.com', locale: 'en', timezone: 'UTC' }, { balance: ['email'] });
    const before = engine.inbox.messages.length;
    const low = (balance: number) => ({ balance, currency: 'EUR', threshold: 50 });
    const firstId = await trigger(engine, 'emil', 'e-1', 'account.low_balance', low(40));
    expect((await settled(engine, firstId)).status).toBe('delivered');
    expect(await auditSteps(engine, firstId)).toContain('digest.released');
    for (const [i, b] of [30, 20, 10].entries()) await trigger(engine, 'emil', `e-${i + 2}`, 'account.low_balance', low(b));
    const mails = await engine.inbox.waitFor(before + 2, 60_000);
    expect(mails[before + 1]!.subject).toBe(`3 updates from Bank ${engine.tenantId}`);
  });

  it('refuses a digest on a mandatory category, a bad window and an unknown key, naming what is wrong', async () => {
    const security = await engine.request('PUT', '/v1/notification-types/security.new_device', {
      body: { category: 'security', variables: {}, digest: { window: { mode: 'fixed', seconds: 60 } } },
    });
    expect(security.status).toBe(422);
    expect(((await security.json()) as { detail: string }).detail).toMatch(/mandatory/);
    const both = await engine.request('PUT', '/v1/notification-types/account.transaction', {
      body: { category: 'transactions', variables: {}, digest: { window: { mode: 'fixed', seconds: 60 }, schedule: { every: 'day', at: '19:00' } } },
    });
    expect(both.status).toBe(422);
    expect(((await both.json()) as { detail: string }).detail).toMatch(/exactly one of window and schedule/);
    const key = await engine.request('PUT', '/v1/notification-types/account.transaction', {
      body: { category: 'transactions', variables: {}, digest: { key: 'merchant', schedule: { every: 'day', at: '19:00' } } },
    });
    expect(key.status).toBe(422);
    expect(((await key.json()) as { detail: string }).detail).toMatch(/digest.key 'merchant'/);
  });

  it('previews a digest from sample items, and a user may choose "each time" per category', async () => {
    const preview = await engine.request('POST', '/v1/notification-types/account.transaction/preview', {
      body: { locale: 'fr', data: {}, digestItems: [tx(1.5, 'EUR', 'A'), tx(2, 'EUR', 'B'), tx(3, 'CHF', 'C')] },
    });
    expect(preview.status, await preview.clone().text()).toBe(200);
    const p = (await preview.json()) as { email: { subject: string; text: string }; push: { title: string } };
    expect(p.email.subject).toBe(`3 nouveautés de Bank ${engine.tenantId}`);
    expect(p.email.text).toMatch(/3,50\s€/);
    expect(p.push.title).toBe('3 nouveautés');

    await putUser(engine, 'fred', { email: 'fred@example.com', locale: 'en', timezone: 'UTC' });
    const prefs = await engine.request('PUT', '/v1/users/fred/preferences', { body: { categories: {}, frequency: { transactions: 'each' } } });
    expect(prefs.status, await prefs.clone().text()).toBe(200);
    expect(((await prefs.json()) as { categories: Record<string, { frequency: string | null }> }).categories.transactions!.frequency).toBe('each');
    const id = await trigger(engine, 'fred', 'f-1', 'account.transaction', tx(1, 'EUR', 'Now'));
    expect((await settled(engine, id)).status).toBe('delivered');
    const mandatory = await engine.request('PUT', '/v1/users/fred/preferences', { body: { categories: {}, frequency: { security: 'digest' } } });
    expect(mandatory.status).toBe(422);
  });

  it('the preference page offers "each time" or "daily digest" per category (not for security alerts) and saves the choice', async () => {
    await putUser(engine, 'gina', { email: 'gina@example.com', locale: 'en', timezone: 'UTC' }, { transactions: ['email'] });
    const { url } = (await (await engine.request('POST', '/v1/users/gina/preference-link')).json()) as { url: string };
    const path = new URL(url).pathname;
    const page = await engine.request('GET', path, { key: null, headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('name="f:transactions" value="digest"');
    expect(html).not.toContain('name="f:security"');
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const saved = await engine.request('POST', path, {
      key: null,
      rawBody: `csrf=${encodeURIComponent(csrf)}&c:transactions=email&f:transactions=digest&f:security=digest`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: (page.headers.get('set-cookie') ?? '').split(';')[0]! },
    });
    expect(saved.status).toBe(303);
    const prefs = (await (await engine.request('GET', '/v1/users/gina/preferences')).json()) as {
      categories: Record<string, { frequency: string | null; channels: string[] }>;
    };
    expect(prefs.categories.transactions).toMatchObject({ frequency: 'digest', channels: ['email'] });
    expect(prefs.categories.security!.frequency).toBeNull();
  });

  it('erasing a user removes their waiting items: the window closes empty and sends nothing', async () => {
    await declareDigest('account.transaction', { window: { mode: 'fixed', seconds: 5 } });
    await putUser(engine, 'ivan', { email: 'ivan@example.com', locale: 'en', timezone: 'UTC' }, { transactions: ['email'] });
    const id = await trigger(engine, 'ivan', 'i-1', 'account.transaction', tx(9, 'EUR', 'Erased'));
    const { workflowId } = await getNotification(engine, id);
    expect((await engine.request('DELETE', '/v1/users/ivan')).status).toBe(200);
    expect((await getNotification(engine, id)).status).toBe('cancelled');
    const done = await waitUntil(async () => {
      const d = await engine.client.workflow.getHandle(workflowId).describe();
      return d.status.name === 'COMPLETED' ? d : undefined;
    }, 60_000);
    expect(done.searchAttributes.DeliveryStatus).toEqual(['empty']);
    expect(engine.inbox.messages.filter((m) => m.rcptTo.includes('ivan@example.com'))).toHaveLength(0);
  });
});
