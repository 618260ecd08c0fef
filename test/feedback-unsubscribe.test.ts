import { eq } from 'drizzle-orm';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUnsubscribeToken } from '../domain/feedback/unsubscribe-token.js';
import { createSecretBox } from '../config/secrets.js';
import { users } from '../db/schema.js';
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
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:3000\/v1\/unsubscribe\/[\w-]+\.[\w-]+$/);
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
    expect(mail.text).toContain('/v1/unsubscribe/');
    const path = new URL(url!).pathname;

    // Refused, and nothing changes: forged signature, expired link, wrong body.
    const forged = await oneClick(path.slice(0, -3) + (path.endsWith('AAA') ? 'BBB' : 'AAA'));
    expect(forged.status).toBe(403);
    expect(forged.headers.get('content-type')).toContain('application/problem+json');
    expect(((await forged.json()) as { detail: string }).detail).toMatch(/signature/);
    const secrets = createSecretBox(Buffer.from(engine.secretKey, 'base64'));
    const claim = JSON.parse(Buffer.from(path.split('/').pop()!.split('.')[0]!, 'base64url').toString()) as [string, string, string, number];
    const expired = signUnsubscribeToken(secrets, {
      tenantId: claim[0],
      userId: claim[1],
      category: claim[2],
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    const late = await oneClick(`/v1/unsubscribe/${expired}`);
    expect(late.status).toBe(410);
    expect(((await late.json()) as { type: string }).type).toMatch(/unsubscribe-link-expired/);
    expect((await oneClick(path, 'something=else')).status).toBe(400);
    // A link scanner's GET shows a confirmation form and changes nothing.
    expect((await engine.request('GET', path, { key: null })).status).toBe(200);
    expect(await transactionPrefs('ulla')).toEqual({ channels: ['email'], source: 'user', mandatory: false, requiresOptIn: false, optedInAt: null });

    // The real one-click POST: no API key, the signed link is the credential.
    const ok = await oneClick(path);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ unsubscribed: true, category: 'transactions', channels: [] });
    expect((await transactionPrefs('ulla'))?.channels).toEqual([]);

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

    const secrets = createSecretBox(Buffer.from(engine.secretKey, 'base64'));
    const [user] = await engine.database.db.select({ id: users.id }).from(users).where(eq(users.externalId, 'sven'));
    const token = signUnsubscribeToken(secrets, {
      tenantId: engine.tenantId,
      userId: user!.id,
      category: 'security',
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    expect((await oneClick(`/v1/unsubscribe/${token}`)).status).toBe(409);
  });
});
