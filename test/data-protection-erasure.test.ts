// Export and erasure of one user (GDPR arts. 15, 17, 20) with the consent ledger behind their
// preferences: a user with ten notifications over both channels is exported in full, then erased;
// afterwards a dump of every table holds no trace of the address, the tokens or the event data,
// the audit chain still verifies, a running notification ends without sending, and the
// hard-bounced address stays suppressed (as a keyed hash) when it comes back.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suppress } from '../domain/feedback/suppression.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { getNotification, putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

const run = promisify(execFile);
const tag = randomUUID().slice(0, 8);
const USER = `zoe-${tag}`;
const ADDRESS = `zoe.${tag}@example.fr`;
const TOKENS = [`tok-zoe-${tag}-alpha-device`, `tok-zoe-${tag}-beta-device`];
const MERCHANT = `Boulangerie ${tag}`;
let holdZoe = false;
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    inbox: { onRcpt: ({ rcpt }) => (holdZoe && rcpt === ADDRESS ? { code: 451, message: '4.7.1 Try again later' } : undefined) },
  });
});
afterAll(async () => engine?.stop());

/**
 * The database as text: pg_dump when its version can read the server, else every row of every
 * table (partitions included) through COPY-like text output. The Debian pg_dump here is 15 and
 * the embedded server 18, which pg_dump refuses.
 */
async function dumpDatabase(): Promise<string> {
  try {
    const { stdout } = await run('pg_dump', ['--data-only', engine.databaseUrl], { maxBuffer: 256 << 20 });
    return stdout;
  } catch {
    const tables = await engine.database.sql<{ name: string }[]>`
      select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`;
    const parts: string[] = [];
    for (const { name } of tables) {
      const rows = await engine.database.sql.unsafe(`select t::text as row from ${name} t`);
      parts.push(`-- ${name}`, ...rows.map((r) => String(r.row)));
    }
    return parts.join('\n');
  }
}

describe('export and erasure of a user', () => {
  const ids: string[] = [];
  let running: string;

  it('exports the profile, masked devices, preferences with their consent history, and ten notifications in full', async () => {
    await putUser(engine, USER, { email: ADDRESS, locale: 'fr', pushTokens: TOKENS });
    const prefs = await engine.request('PUT', `/v1/users/${USER}/preferences`, {
      body: { categories: { transactions: ['email', 'push'], balance: ['push'], marketing: ['email'] }, actor: 'user', textVersion: 'prefs-2026-11' },
    });
    expect(prefs.status, await prefs.clone().text()).toBe(200);
    for (let i = 0; i < 10; i++) {
      const type = i < 6 ? 'account.transaction' : i < 9 ? 'account.low_balance' : 'security.new_device';
      const data =
        type === 'account.transaction'
          ? { amount: 10 + i, currency: 'EUR', merchant: MERCHANT, accountLast4: '4321' }
          : type === 'account.low_balance'
            ? { balance: 5 + i, currency: 'EUR', threshold: 50 }
            : { device: `Pixel ${tag}`, city: 'Lyon', at: new Date().toISOString() };
      ids.push(await trigger(engine, USER, `k-${tag}-${i}`, type, data));
    }
    for (const id of ids) expect((await settled(engine, id)).status).toBe('delivered');

    // One-click unsubscribe from transaction e-mails: a consent-ledger record with source unsubscribe-link.
    const mail = engine.inbox.messages.find((m) => m.rcptTo.includes(ADDRESS) && m.headers['list-unsubscribe'])!;
    const path = new URL(/^<([^>]+)>$/.exec(mail.headers['list-unsubscribe']!)![1]!).pathname;
    const unsub = await engine.request('POST', path, {
      rawBody: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      key: null,
    });
    expect(unsub.status).toBe(200);

    const res = await engine.request('GET', `/v1/users/${USER}/export`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      user: { userId: string; email: string };
      devices: { token: string }[];
      preferences: { category: string; channels: string[]; optedInAt: string | null }[];
      consentHistory: { category: string; action: string; source: string; actor: string; textVersion: string | null }[];
      notifications: {
        id: string;
        data: Record<string, unknown>;
        channels: string[];
        rendered: { channel: string; subject: string; text: string }[];
        attempts: { outcome: string }[];
        audit: { step: string }[];
      }[];
      audit: { step: string }[];
    };
    expect(doc.user).toMatchObject({ userId: USER, email: ADDRESS });
    expect(doc.devices).toHaveLength(2);
    for (const d of doc.devices)
      expect(TOKENS.some((t) => d.token.length < t.length && t.startsWith(d.token.slice(0, 4)) && t.endsWith(d.token.slice(-4)))).toBe(true);
    expect(JSON.stringify(doc)).not.toContain(TOKENS[0]);
    expect(doc.preferences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ category: 'marketing', channels: ['email'], optedInAt: expect.any(String) }),
        expect.objectContaining({ category: 'transactions', channels: ['push'] }),
      ]),
    );
    expect(doc.consentHistory).toEqual([
      expect.objectContaining({ category: 'transactions', action: 'preference', source: 'api', actor: 'user', textVersion: 'prefs-2026-11' }),
      expect.objectContaining({ category: 'balance', action: 'preference', source: 'api' }),
      expect.objectContaining({ category: 'marketing', action: 'opt_in', source: 'api', actor: 'user', textVersion: 'prefs-2026-11' }),
      expect.objectContaining({ category: 'transactions', action: 'preference', source: 'unsubscribe-link', actor: 'link' }),
    ]);
    expect(doc.notifications.map((n) => n.id).sort()).toEqual([...ids].sort());
    const both = doc.notifications.filter((n) => n.channels.length === 2);
    expect(both.length).toBeGreaterThan(0);
    for (const n of doc.notifications) {
      expect(n.rendered.length).toBe(n.channels.length);
      expect(n.attempts.filter((a) => a.outcome === 'accepted').length).toBeGreaterThanOrEqual(n.channels.length);
      expect(n.audit.map((e) => e.step)).toEqual(expect.arrayContaining(['notification.accepted', 'notification.delivered']));
    }
    expect(doc.notifications.find((n) => n.id === ids[0])!.data).toMatchObject({ merchant: MERCHANT });
    expect(doc.audit.map((e) => e.step)).toEqual(['user.created', 'preferences.updated', 'preferences.unsubscribed']);
  });

  it('erases the user: no trace of address, tokens or event data in a dump, the running notification ends unsent, and the audit chain verifies', async () => {
    // A notification still running when the erasure comes: its e-mail is deferred by the receiver.
    holdZoe = true;
    running = await trigger(engine, USER, `k-${tag}-running`, 'security.new_device', {
      device: `Pixel ${tag}`,
      city: 'Lyon',
      at: new Date().toISOString(),
    });
    await waitUntil(
      async () => (await getNotification(engine, running)).attempts.some((a) => a.outcome === 'deferred'),
      30_000,
      'a deferred attempt',
    );
    // The address hard-bounced once (as the inbound listener records it).
    await suppress(engine.database.db, {
      tenantId: engine.tenantId,
      email: ADDRESS,
      reason: 'hard_bounce',
      source: 'dsn',
      detail: `550 5.1.1 <${ADDRESS}>: unknown user`,
    });
    const before = (await dumpDatabase()).toLowerCase();
    expect(before).toContain(ADDRESS);

    const res = await engine.request('DELETE', `/v1/users/${USER}`);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ erased: true, notifications: 11, cancelled: 1, suppressionsKeptAsHash: 1 });
    const arrived = engine.inbox.messages.length;
    holdZoe = false;

    const dump = (await dumpDatabase()).toLowerCase();
    for (const trace of [ADDRESS, ...TOKENS, MERCHANT, USER, `pixel ${tag}`]) expect(dump, trace).not.toContain(trace.toLowerCase());

    // Notifications stay as pseudonymous facts.
    const facts = await engine.database.sql<{ status: string; type: string; data: unknown }[]>`
      select status, type, data from notifications where id in ${engine.database.sql([...ids, running])}`;
    expect(facts).toHaveLength(11);
    expect(facts.filter((f) => f.status === 'delivered')).toHaveLength(10);
    expect(facts.filter((f) => f.status === 'cancelled')).toHaveLength(1);
    expect(facts.every((f) => JSON.stringify(f.data) === '{}')).toBe(true);
    const wf = await engine.client.workflow.getHandle((await getNotification(engine, running)).workflowId).describe();
    expect(wf.status.name).toBe('TERMINATED');
    await new Promise((r) => setTimeout(r, 1500));
    expect(engine.inbox.messages.length).toBe(arrived);
    expect(engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === running)).toHaveLength(0);

    // The erasure is audited without the data, and every chain in the database verifies.
    const [erased] = await engine.database.sql<{ detail: Record<string, unknown> }[]>`
      select detail from audit_events where tenant_id = ${engine.tenantId} and step = 'user.erased'`;
    expect(erased?.detail).toMatchObject({ notifications: 11, cancelled: 1 });
    const { stdout } = await run('npm', ['run', '--silent', 'audit:verify'], { env: { ...process.env, DATABASE_URL: engine.databaseUrl } });
    expect(stdout).toMatch(/audit chain verified/);

    expect((await engine.request('GET', `/v1/users/${USER}/export`)).status).toBe(404);
    expect((await engine.request('DELETE', `/v1/users/${USER}`)).status).toBe(404);
  });

  it('keeps the hard-bounced address suppressed when it is registered again', async () => {
    await putUser(engine, `${USER}-again`, { email: ADDRESS.toUpperCase(), locale: 'fr' }, { security: ['email'] });
    const id = await trigger(engine, `${USER}-again`, `k-${tag}-again`, 'security.new_device', {
      device: 'Phone',
      city: 'Paris',
      at: new Date().toISOString(),
    });
    const done = await settled(engine, id);
    expect(done.status).toBe('suppressed');
    expect(engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === id)).toHaveLength(0);
    const res = await engine.request('GET', `/v1/suppressions/${encodeURIComponent(ADDRESS)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ reason: 'hard_bounce' });
  });
});
