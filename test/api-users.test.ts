// Users and preferences through the public API: profile create/update and validation, device
// tokens replacing the set, personal data kept out of the audit trail, preference defaults,
// mandatory and opt-in categories, and what those rules mean for delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { expectProblem } from './helpers/problem.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

interface UserView {
  userId: string;
  email: string | null;
  locale: string;
  timezone: string;
  pushDevices: number;
}
interface CategoryView {
  channels: string[];
  source: 'user' | 'default';
  mandatory: boolean;
  requiresOptIn: boolean;
  optedInAt: string | null;
}
type PreferencesView = { categories: Record<string, CategoryView> };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const putUser = (id: string, body: unknown) => engine.request('PUT', `/v1/users/${id}`, { body });
const getUser = async (id: string) => (await (await engine.request('GET', `/v1/users/${id}`)).json()) as UserView;
const putPrefs = (id: string, categories: Record<string, string[]>) => engine.request('PUT', `/v1/users/${id}/preferences`, { body: { categories } });
const getPrefs = async (id: string) => (await (await engine.request('GET', `/v1/users/${id}/preferences`)).json()) as PreferencesView;

async function auditCount(): Promise<number> {
  const [row] = await engine.database.sql<{ n: number }[]>`select count(*)::int as n from audit_events where tenant_id = ${engine.tenantId}`;
  return row!.n;
}
async function tokensOf(externalId: string): Promise<string[]> {
  const rows = await engine.database.sql<{ token: string }[]>`
    select d.token from push_devices d join users u on u.id = d.user_id
    where u.tenant_id = ${engine.tenantId} and u.external_id = ${externalId} order by d.token`;
  return rows.map((r) => r.token);
}

describe('PUT /v1/users/{userId}', () => {
  it('creates (201), then updates (200)', async () => {
    const created = await putUser('erin', { email: 'erin@erin-mail.test', locale: 'de', timezone: 'Europe/Berlin', pushTokens: [] });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      userId: 'erin',
      email: 'erin@erin-mail.test',
      locale: 'de',
      timezone: 'Europe/Berlin',
      pushDevices: 0,
      quietHours: null,
    });

    const updated = await putUser('erin', { email: 'erin@new-mail.test', locale: 'nl', timezone: 'Europe/Amsterdam' });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toEqual({
      userId: 'erin',
      email: 'erin@new-mail.test',
      locale: 'nl',
      timezone: 'Europe/Amsterdam',
      pushDevices: 0,
      quietHours: null,
    });
    expect(await getUser('erin')).toMatchObject({ email: 'erin@new-mail.test', locale: 'nl' });

    // PUT replaces the profile: what is left out takes its default, a null e-mail removes it.
    const replaced = await putUser('erin', { email: null });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toEqual({ userId: 'erin', email: null, locale: 'en', timezone: 'Europe/Paris', pushDevices: 0, quietHours: null });
  });

  it.each([
    ['email', { email: 'not-an-address' }, /body\.email/],
    ['locale', { email: 'x@x.test', locale: 'xx' }, /body\.locale/],
    ['timezone', { email: 'x@x.test', timezone: 'Mars/Olympus_Mons' }, /body\.timezone: must be an IANA time zone/],
    ['pushTokens', { email: 'x@x.test', pushTokens: Array.from({ length: 21 }, (_, i) => `tok-${i}`) }, /body\.pushTokens/],
    ['pushTokens', { email: 'x@x.test', pushTokens: [''] }, /body\.pushTokens\.0/],
    ['an unknown field', { email: 'x@x.test', phone: '+33123456789' }, /phone/],
  ])('invalid %s → 422 naming it, and no user is created', async (_what, body, detail) => {
    const before = await auditCount();
    const p = await expectProblem(await putUser('frank', body), 422, detail);
    expect(p.errors?.length).toBeGreaterThan(0);
    await expectProblem(await engine.request('GET', '/v1/users/frank'), 404, /User 'frank' does not exist/);
    expect(await auditCount()).toBe(before);
  });

  it('an invalid update leaves the existing profile as it was', async () => {
    await putUser('gina', { email: 'gina@gina.test', locale: 'fr', pushTokens: ['tok-gina-1'] });
    const before = await getUser('gina');
    await expectProblem(
      await putUser('gina', { email: 'gina@gina.test', locale: 'fr', timezone: 'Nowhere/Land', pushTokens: [] }),
      422,
      /body\.timezone/,
    );
    expect(await getUser('gina')).toEqual(before);
    expect(await tokensOf('gina')).toEqual(['tok-gina-1']);
  });

  it('an invalid user id in the path → 422; malformed JSON → 400; wrong content type → 415', async () => {
    const before = await auditCount();
    await expectProblem(await putUser('has%20space', { email: 'x@x.test' }), 422, /path\.userId/);
    await expectProblem(await putUser('x'.repeat(129), { email: 'x@x.test' }), 422, /path\.userId/);
    await expectProblem(await engine.request('PUT', '/v1/users/hal', { rawBody: '{"email":' }), 400, /not valid JSON/);
    await expectProblem(
      await engine.request('PUT', '/v1/users/hal', { rawBody: '{}', headers: { 'content-type': 'text/plain' } }),
      415,
      /application\/json/,
    );
    expect(await auditCount()).toBe(before);
  });

  it('GET of an unknown user → 404', async () => {
    await expectProblem(await engine.request('GET', '/v1/users/nobody'), 404, /User 'nobody' does not exist/);
  });

  it('push tokens replace the set', async () => {
    const first = await putUser('ivan', { email: 'ivan@ivan.test', pushTokens: ['tok-a', 'tok-b', 'tok-c'] });
    expect(((await first.json()) as UserView).pushDevices).toBe(3);
    expect(await tokensOf('ivan')).toEqual(['tok-a', 'tok-b', 'tok-c']);

    await putUser('ivan', { email: 'ivan@ivan.test', pushTokens: ['tok-c', 'tok-d', 'tok-d'] });
    expect((await getUser('ivan')).pushDevices).toBe(2);
    expect(await tokensOf('ivan')).toEqual(['tok-c', 'tok-d']);

    await putUser('ivan', { email: 'ivan@ivan.test' });
    expect((await getUser('ivan')).pushDevices).toBe(0);
    expect(await tokensOf('ivan')).toEqual([]);
  });
});

describe('preferences', () => {
  beforeAll(async () => {
    expect((await putUser('lea', { email: 'lea@lea.test', locale: 'fr' })).status).toBe(201);
  });

  it('GET shows the category defaults with source "default"', async () => {
    expect(await getPrefs('lea')).toEqual({
      categories: {
        security: { channels: ['email', 'push'], source: 'default', mandatory: true, requiresOptIn: false, optedInAt: null, frequency: null },
        transactions: { channels: ['email'], source: 'default', mandatory: false, requiresOptIn: false, optedInAt: null, frequency: null },
        balance: { channels: ['email'], source: 'default', mandatory: false, requiresOptIn: false, optedInAt: null, frequency: null },
        marketing: { channels: ['email'], source: 'default', mandatory: false, requiresOptIn: true, optedInAt: null, frequency: null },
      },
    });
  });

  it('PUT sets channels per category and leaves the others at their default', async () => {
    const res = await putPrefs('lea', { transactions: ['push', 'email'], balance: [] });
    expect(res.status).toBe(200);
    const view = (await res.json()) as PreferencesView;
    expect(view.categories.transactions).toMatchObject({ channels: ['push', 'email'], source: 'user' });
    expect(view.categories.balance).toMatchObject({ channels: [], source: 'user' });
    expect(view.categories.security).toMatchObject({ source: 'default' });
    expect(await getPrefs('lea')).toEqual(view);
  });

  it.each([
    ['an unknown category', { transactions: ['email'], lottery: ['email'] }, /body\.categories\.lottery: unknown category/],
    ['no channel for the mandatory security category', { security: [] }, /body\.categories\.security: security alerts are mandatory/],
    ['an unknown channel', { transactions: ['sms'] }, /body\.categories\.transactions\.0/],
    ['a repeated channel', { transactions: ['email', 'email'] }, /channels must be unique/],
  ])('%s → 422, and nothing is changed', async (_what, categories, detail) => {
    const before = await getPrefs('lea');
    const audit = await auditCount();
    await expectProblem(await putPrefs('lea', categories), 422, detail);
    expect(await getPrefs('lea')).toEqual(before);
    expect(await auditCount()).toBe(audit);
  });

  it('an unknown user → 404', async () => {
    await expectProblem(await putPrefs('nobody', { transactions: ['email'] }), 404, /User 'nobody' does not exist/);
    await expectProblem(await engine.request('GET', '/v1/users/nobody/preferences'), 404, /User 'nobody' does not exist/);
  });

  it('marketing: choosing a channel records the opt-in, choosing none withdraws it', async () => {
    const optIn = (await (await putPrefs('lea', { marketing: ['email'] })).json()) as PreferencesView;
    const at = optIn.categories.marketing!.optedInAt;
    expect(at).not.toBeNull();
    expect(Date.now() - Date.parse(at!)).toBeLessThan(60_000);

    // Changing channels keeps the original opt-in time.
    const changed = (await (await putPrefs('lea', { marketing: ['email', 'push'] })).json()) as PreferencesView;
    expect(changed.categories.marketing).toMatchObject({ channels: ['email', 'push'], optedInAt: at });

    const optOut = (await (await putPrefs('lea', { marketing: [] })).json()) as PreferencesView;
    expect(optOut.categories.marketing).toMatchObject({ channels: [], source: 'user', optedInAt: null });

    // Opting in again is a new opt-in.
    const again = (await (await putPrefs('lea', { marketing: ['email'] })).json()) as PreferencesView;
    expect(again.categories.marketing!.optedInAt).not.toBeNull();
    expect(Date.parse(again.categories.marketing!.optedInAt!)).toBeGreaterThan(Date.parse(at!));
    await putPrefs('lea', { marketing: [] });
  });
});

describe('what preferences mean for delivery', () => {
  async function trigger(userId: string, type: string, data: Record<string, string | number>, key: string) {
    const res = await engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { userId, type, data } });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }
  async function finished(id: string) {
    return waitUntil(async () => {
      const n = (await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as {
        status: string;
        channels: string[];
        deliveredChannels: string[];
        attempts: unknown[];
      };
      return ['delivered', 'failed', 'skipped', 'cancelled'].includes(n.status) ? n : undefined;
    });
  }

  it('a security alert reaches a push-only user without a device by e-mail (mandatory)', async () => {
    engine.inbox.clear();
    await putUser('max', { email: 'max@max-mail.test', locale: 'en' });
    expect((await putPrefs('max', { security: ['push'] })).status).toBe(200);
    const id = await trigger('max', 'security.new_device', { device: 'Pixel 9', city: 'Lyon', at: '2025-01-01T10:00:00Z' }, 'sec-max');
    const [mail] = await engine.inbox.waitFor(1, 30_000);
    expect(mail!.rcptTo).toEqual(['max@max-mail.test']);
    const n = await finished(id);
    expect(n).toMatchObject({ status: 'delivered', channels: ['email'], deliveredChannels: ['email'] });
    expect(engine.fcm.received).toHaveLength(0);
  });

  it('a newsletter for a user without opt-in is skipped and nothing is sent', async () => {
    engine.inbox.clear();
    await putUser('noor', { email: 'noor@noor-mail.test', pushTokens: ['tok-noor'] });
    const id = await trigger('noor', 'marketing.newsletter', newsletterData(), 'news-noor');
    const n = await finished(id);
    expect(n).toMatchObject({ status: 'skipped', channels: [], deliveredChannels: [], attempts: [] });
    const audit = (await (await engine.request('GET', `/v1/notifications/${id}/audit`)).json()) as {
      events: { step: string; detail: Record<string, unknown> }[];
    };
    expect(audit.events.map((e) => e.step)).toEqual(['notification.accepted', 'skipped', 'notification.skipped']);
    expect(audit.events[1]!.detail).toMatchObject({ reason: 'no_opt_in' });
    await sleep(1000);
    expect(engine.inbox.messages).toHaveLength(0);
    expect(engine.fcm.received).toHaveLength(0);

    // Opted out after opting in is the same.
    await putPrefs('noor', { marketing: ['email'] });
    await putPrefs('noor', { marketing: [] });
    const n2 = await finished(await trigger('noor', 'marketing.newsletter', newsletterData(), 'news-noor-2'));
    expect(n2.status).toBe('skipped');
    expect(engine.inbox.messages).toHaveLength(0);
  });

  // The template requires an unsubscribe link: render passes one for non-mandatory categories.
  it('a newsletter for an opted-in user is sent on the chosen channel', async () => {
    engine.inbox.clear();
    await putUser('olga', { email: 'olga@olga-mail.test', pushTokens: ['tok-olga'] });
    await putPrefs('olga', { marketing: ['email'] });
    const id = await trigger('olga', 'marketing.newsletter', newsletterData(), 'news-olga');
    const n = await finished(id);
    expect(n).toMatchObject({ status: 'delivered', deliveredChannels: ['email'] });
    const [mail] = await engine.inbox.waitFor(1, 5_000);
    expect(mail!.rcptTo).toEqual(['olga@olga-mail.test']);
    expect(engine.fcm.received).toHaveLength(0);
  });

  it('no e-mail address or push token ever appears in the audit trail', async () => {
    const details = await engine.database.sql<{ step: string; detail: string }[]>`
      select step, detail::text as detail from audit_events where tenant_id = ${engine.tenantId}`;
    expect(details.length).toBeGreaterThan(10);
    const secrets = await engine.database.sql<{ v: string }[]>`
      select u.email as v from users u where u.tenant_id = ${engine.tenantId} and u.email is not null
      union all
      select d.token from push_devices d join users u on u.id = d.user_id where u.tenant_id = ${engine.tenantId}`;
    const known = [...secrets.map((s) => s.v), 'erin@erin-mail.test', 'erin@new-mail.test', 'tok-a', 'tok-b', 'tok-gina-1'];
    for (const { step, detail } of details) {
      for (const v of known) expect(detail, `${step} leaks ${v}`).not.toContain(v);
      expect(detail, step).not.toMatch(/[^\s"]+@[^\s"]+\.test/);
      expect(detail, step).not.toMatch(/"tok-/);
    }
  });
});

function newsletterData(): Record<string, string | number> {
  return { headline: 'Our new savings account', body: 'Now with 3% interest.' };
}
