import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUnsubscribeToken } from '../domain/feedback/unsubscribe-token.js';
import { consentRecords, unsubscribeTokens, users } from '../db/schema.js';
import { dkimResolverFromDb } from '../dev/dkim-dns.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { auditSteps, putUser, settled, trigger } from './helpers/notify.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows(), ips: ['127.0.0.41'] });
});
afterAll(async () => engine?.stop());

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const oneClick = (path: string, body = 'List-Unsubscribe=One-Click') => engine.request('POST', path, { rawBody: body, headers: form, key: null });
const transactionPrefs = async (user: string) =>
  (
    (await (await engine.request('GET', `/v1/users/${user}/preferences`)).json()) as {
      categories: Record<string, { channels: string[]; source: string }>;
    }
  ).categories.transactions;

async function internalId(externalId: string): Promise<string> {
  const [user] = await engine.database.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, engine.tenantId), eq(users.externalId, externalId)));
  return user!.id;
}

/** The link of a delivered notification's List-Unsubscribe header, as a path. */
async function linkOf(id: string): Promise<string> {
  await settled(engine, id);
  const mail = engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)!;
  return new URL(/^<([^>]+)>$/.exec(mail.headers['list-unsubscribe']!)![1]!).pathname;
}

/** The header names in the h= tag of the message's DKIM-Signature, as the receiver got it. */
function signedHeaders(raw: string): string[] {
  const header = /^DKIM-Signature:(.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1] ?? '';
  const h = /\bh=([^;]+)/.exec(header.replace(/\r?\n[ \t]+/g, ''))?.[1] ?? '';
  return h
    .split(':')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
}

async function dkimVerdict(raw: string): Promise<string | undefined> {
  const resolver = dkimResolverFromDb(engine.database.db) as NonNullable<Parameters<typeof authenticate>[1]>['resolver'];
  const { dkim } = await authenticate(raw, { ip: '127.0.0.41', helo: 'mta.test', mta: 'check.test', resolver, disableArc: true, disableBimi: true });
  return dkim.results[0]?.status.result;
}

describe('one-click unsubscribe (RFC 8058)', () => {
  it('transaction alerts carry the headers and a footer link; a POST turns that e-mail off at once', async () => {
    await putUser(engine, 'ulla', { email: 'ulla@example.de', pushTokens: ['tok-ulla'] }, { transactions: ['email'] });
    const id = await trigger(engine, 'ulla', 'ulla-1');
    await settled(engine, id);
    const mail = engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)!;
    const url = /^<(https?:\/\/[^>]+)>$/.exec(mail.headers['list-unsubscribe'] ?? '')?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:3000\/v1\/unsubscribe\/[\w-]{43}$/);
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.dkim.result).toBe('pass');
    // RFC 8058 section 4: both headers are under the DKIM signature, or providers ignore the one-click
    // POST; the Feedback-ID (tenant and type, for Gmail's feedback loop) is signed too.
    expect(signedHeaders(mail.raw)).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'feedback-id']));
    expect(mail.headers['feedback-id']).toBe(`account.transaction:transactions:${engine.tenantId}:notiflow`);
    // mailauth on the raw message: changing the one-click header breaks the signature.
    expect(await dkimVerdict(mail.raw)).toBe('pass');
    expect(
      await dkimVerdict(mail.raw.replace('List-Unsubscribe-Post: List-Unsubscribe=One-Click', 'List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks')),
    ).toBe('fail');
    // The footer carries the same link as the header.
    expect(mail.text).toContain(url);
    const path = new URL(url!).pathname;
    const token = path.split('/').pop()!;
    const userId = await internalId('ulla');
    // Opaque: 32 random-looking bytes, no id, category or JSON inside (today's tokens were base64url JSON).
    const decoded = Buffer.from(token, 'base64url');
    expect(decoded).toHaveLength(32);
    for (const text of [decoded.toString('utf8'), decoded.toString('latin1'), decoded.toString('hex')]) {
      for (const needle of [engine.tenantId, userId, userId.replace(/-/g, ''), 'transactions', id, id.replace(/-/g, '')])
        expect(text).not.toContain(needle);
      expect(text).not.toMatch(/^\s*[[{]/);
    }
    // Postgres keeps only its hash.
    const stored = await engine.database.db.select().from(unsubscribeTokens).where(eq(unsubscribeTokens.userId, userId));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ tenantId: engine.tenantId, categoryKey: 'transactions', revokedAt: null });
    expect(stored[0]!.tokenHash).not.toContain(token);

    // Refused, and nothing changes: an unknown link, an expired one, a wrong body.
    const forged = await oneClick(path.slice(0, -3) + (path.endsWith('AAA') ? 'BBB' : 'AAA'));
    expect(forged.status).toBe(404);
    expect(forged.headers.get('content-type')).toContain('application/problem+json');
    expect(((await forged.json()) as { detail: string }).detail).toMatch(/not valid/);
    expect((await oneClick('/v1/unsubscribe/abc.def')).status).toBe(400);
    const expired = await issueUnsubscribeToken(engine.database.db, { tenantId: engine.tenantId, userId, category: 'transactions' });
    await engine.database
      .sql`update unsubscribe_tokens set expires_at = now() - interval '1 minute' where token_hash = ${createHash('sha256').update(expired).digest('hex')}`;
    const late = await oneClick(`/v1/unsubscribe/${expired}`);
    expect(late.status).toBe(410);
    expect(((await late.json()) as { type: string }).type).toMatch(/unsubscribe-link-expired/);
    expect((await oneClick(path, 'something=else')).status).toBe(400);
    // A link scanner's GET shows a confirmation form and changes nothing.
    expect((await engine.request('GET', path, { key: null })).status).toBe(200);
    expect(await transactionPrefs('ulla')).toEqual({
      channels: ['email'],
      source: 'user',
      mandatory: false,
      requiresOptIn: false,
      optedInAt: null,
      frequency: null,
    });

    // The real one-click POST: no API key, the signed link is the credential.
    const ok = await oneClick(path);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ unsubscribed: true, category: 'transactions', channels: [] });
    expect((await transactionPrefs('ulla'))?.channels).toEqual([]);
    // It works once: the same link again is no longer valid, for the POST and the page.
    const again = await oneClick(path);
    expect(again.status).toBe(410);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(((await again.json()) as { detail: string }).detail).toMatch(/no longer valid/);
    expect((await engine.request('GET', path, { key: null })).status).toBe(410);

    const next = await trigger(engine, 'ulla', 'ulla-2');
    const done = await settled(engine, next);
    expect(done.status).toBe('skipped');
    expect(engine.inbox.messages.filter((m) => m.rcptTo.includes('ulla@example.de'))).toHaveLength(1);
    expect(await auditSteps(engine, next)).toContain('skipped');
  });

  it('security alerts carry no unsubscribe, and a link for a mandatory category is refused', async () => {
    await putUser(engine, 'sven', { email: 'sven@example.se' });
    const id = await trigger(engine, 'sven', 'sven-1', 'security.new_device', { device: 'Pixel 9', city: 'Lyon', at: '2026-06-01T10:00:00Z' });
    await settled(engine, id);
    const mail = engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)!;
    expect(mail.headers['list-unsubscribe']).toBeUndefined();
    expect(mail.headers['list-unsubscribe-post']).toBeUndefined();
    expect(mail.text).not.toContain('/v1/unsubscribe/');

    const token = await issueUnsubscribeToken(engine.database.db, {
      tenantId: engine.tenantId,
      userId: await internalId('sven'),
      category: 'security',
    });
    expect((await oneClick(`/v1/unsubscribe/${token}`)).status).toBe(409);
  });

  it("a tenant revokes a user's links; the page then says the link is no longer valid", async () => {
    await putUser(engine, 'rita', { email: 'rita@example.it' }, { transactions: ['email'] });
    const path = await linkOf(await trigger(engine, 'rita', 'rita-1'));
    expect((await engine.request('GET', path, { key: null })).status).toBe(200);
    const revoked = await engine.request('DELETE', '/v1/users/rita/unsubscribe-links');
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: 1 });
    const page = await engine.request('GET', path, { key: null });
    expect(page.status).toBe(410);
    expect(((await page.json()) as { detail: string }).detail).toMatch(/no longer valid/);
    const post = await oneClick(path);
    expect(post.status).toBe(410);
    expect(post.headers.get('content-type')).toContain('application/problem+json');
    expect((await transactionPrefs('rita'))?.channels).toEqual(['email']);
    expect((await engine.request('DELETE', '/v1/users/nobody-here/unsubscribe-links')).status).toBe(404);
  });

  it('subscribing again voids the links of earlier mails; a new mail brings a working one; erasure deletes them', async () => {
    await putUser(engine, 'remy', { email: 'remy@example.fr' }, { transactions: ['email'] });
    const first = await linkOf(await trigger(engine, 'remy', 'remy-1'));
    const second = await linkOf(await trigger(engine, 'remy', 'remy-2'));
    expect(first).not.toBe(second);
    expect((await oneClick(first)).status).toBe(200);
    expect((await transactionPrefs('remy'))?.channels).toEqual([]);
    // The user subscribes again (preferences API): the second mail's link must not undo that.
    expect((await engine.request('PUT', '/v1/users/remy/preferences', { body: { categories: { transactions: ['email'] } } })).status).toBe(200);
    const stale = await oneClick(second);
    expect(stale.status).toBe(410);
    expect(((await stale.json()) as { detail: string }).detail).toMatch(/subscribed again/);
    expect((await transactionPrefs('remy'))?.channels).toEqual(['email']);
    // A later mail's link works.
    const third = await linkOf(await trigger(engine, 'remy', 'remy-3'));
    expect((await engine.request('GET', third, { key: null })).status).toBe(200);
    // Erasure removes the user's links.
    const userId = await internalId('remy');
    expect((await engine.request('DELETE', '/v1/users/remy')).status).toBe(200);
    expect(await engine.database.db.select().from(unsubscribeTokens).where(eq(unsubscribeTokens.userId, userId))).toEqual([]);
    expect((await engine.request('GET', third, { key: null })).status).toBe(404);
  });
});

describe("the unsubscribe page's link to the preference centre", () => {
  /** The preference-centre path the unsubscribe page (as a browser gets it) links to. */
  async function centreLinkOf(token: string): Promise<string> {
    const page = await engine.request('GET', `/v1/unsubscribe/${token}`, { key: null, headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const href = /href="([^"]*\/preferences\/[^"]+)"/.exec(await page.text())?.[1];
    expect(href).toBeDefined();
    return new URL(href!.replace(/&amp;/g, '&')).pathname;
  }
  /** Opens the centre: status, page, and the CSRF cookie and field for a save. */
  async function open(path: string) {
    const res = await engine.request('GET', path, { key: null, headers: { accept: 'text/html' } });
    const html = await res.text();
    return {
      status: res.status,
      html,
      cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!,
      csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '',
    };
  }
  const save = (path: string, page: { cookie: string; csrf: string }, fields: string) =>
    engine.request('POST', path, {
      key: null,
      rawBody: `csrf=${encodeURIComponent(page.csrf)}&${fields}`,
      headers: { ...form, cookie: page.cookie },
    });
  const prefsOf = async (user: string) =>
    (
      (await (await engine.request('GET', `/v1/users/${user}/preferences`)).json()) as {
        categories: Record<string, { channels: string[]; optedInAt: string | null }>;
      }
    ).categories;
  const consentRows = async (user: string) =>
    engine.database.db
      .select()
      .from(consentRecords)
      .where(eq(consentRecords.userId, await internalId(user)));

  it('only turns channels off: opting in to marketing is refused and recorded nowhere; a removal is saved as the link did it', async () => {
    await putUser(engine, 'opal', { email: 'opal@example.be' }, { transactions: ['email', 'push'] });
    const token = await issueUnsubscribeToken(engine.database.db, {
      tenantId: engine.tenantId,
      userId: await internalId('opal'),
      category: 'transactions',
    });
    const path = await centreLinkOf(token);
    const page = await open(path);
    expect(page.status).toBe(200);
    expect(page.html).toContain('can only turn notifications off');
    // Marketing is off: its switches are disabled and there is no consent box to tick.
    expect(page.html).not.toContain('name="consent"');
    expect(page.html).toMatch(/id="c-marketing-email"[^>]*disabled/);
    const ledger = (await consentRows('opal')).length;

    const optIn = await save(path, page, 'c:transactions=email&c:transactions=push&c:marketing=email&consent=marketing');
    expect(optIn.status).toBe(422);
    expect(await optIn.text()).toContain('can only be turned off');
    expect((await prefsOf('opal')).marketing!.optedInAt).toBeNull();
    expect(await consentRows('opal')).toHaveLength(ledger);
    // Turning a channel on elsewhere is refused the same way.
    expect((await save(path, page, 'c:transactions=email&c:transactions=push&c:balance=email&c:balance=push')).status).toBe(422);

    // The form as a browser sends it, with transactions' e-mail switched off.
    const checked = [...page.html.matchAll(/name="(c:[^"]+)"\s+value="([^"]+)"\s+checked/g)].map((m) => `${m[1]}=${m[2]}`);
    expect(checked).toContain('c:transactions=email');
    const off = await save(path, page, checked.filter((f) => f !== 'c:transactions=email').join('&'));
    expect(off.status).toBe(303);
    expect((await prefsOf('opal')).transactions!.channels).toEqual(['push']);
    const rows = await consentRows('opal');
    expect(rows.slice(ledger).map((r) => [r.categoryKey, r.channels, r.source, r.actor])).toEqual([
      ['transactions', ['push'], 'unsubscribe-link', 'link'],
    ]);
  });

  it('stops working with its unsubscribe link: once used, revoked, voided by subscribing again, or erased', async () => {
    await putUser(engine, 'pia', { email: 'pia@example.be' }, { transactions: ['email', 'push'], balance: ['email'] });
    const userId = await internalId('pia');
    const issue = (category: string) => issueUnsubscribeToken(engine.database.db, { tenantId: engine.tenantId, userId, category });

    // Used: the one-click POST spends the token, and the centre link with it.
    const used = await issue('transactions');
    const usedPath = await centreLinkOf(used);
    expect((await open(usedPath)).status).toBe(200);
    expect((await oneClick(`/v1/unsubscribe/${used}`)).status).toBe(200);
    expect((await open(usedPath)).status).toBe(410);

    // Voided by subscribing again: transactions e-mail back on through the API.
    const resubscribed = await issue('transactions');
    const resubscribedPath = await centreLinkOf(resubscribed);
    expect((await engine.request('PUT', '/v1/users/pia/preferences', { body: { categories: { transactions: ['email'] } } })).status).toBe(200);
    expect((await open(resubscribedPath)).status).toBe(410);

    // Revoked by the tenant.
    const revoked = await issue('balance');
    const revokedPath = await centreLinkOf(revoked);
    const page = await open(revokedPath);
    expect(page.status).toBe(200);
    expect((await engine.request('DELETE', '/v1/users/pia/unsubscribe-links')).status).toBe(200);
    expect((await open(revokedPath)).status).toBe(410);
    // A save in flight on the page is refused too, and changes nothing.
    expect((await save(revokedPath, page, '')).status).toBe(410);
    expect((await prefsOf('pia')).balance!.channels).toEqual(['email']);

    // Erased: the user's tokens are deleted, and the link dies with them.
    const erased = await issue('balance');
    const erasedPath = await centreLinkOf(erased);
    expect((await engine.request('DELETE', '/v1/users/pia')).status).toBe(200);
    expect((await open(erasedPath)).status).toBe(410);
  });

  it('a link the tenant mints keeps full rights: it can give marketing consent', async () => {
    await putUser(engine, 'quinn', { email: 'quinn@example.be' }, { transactions: ['email'] });
    const { url } = (await (await engine.request('POST', '/v1/users/quinn/preference-link')).json()) as { url: string };
    const path = new URL(url).pathname;
    const page = await open(path);
    expect(page.html).toContain('name="consent"');
    expect((await save(path, page, 'c:transactions=email&c:marketing=email&consent=marketing')).status).toBe(303);
    expect((await prefsOf('quinn')).marketing!.channels).toEqual(['email']);
  });
});
