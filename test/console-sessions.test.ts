import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

// Operator console sessions live in the database: sign-out ends one for good, an operator can end
// them all, and every sign-in is audited (success and failure, never the key typed).

const ADMIN_KEY = `nf_admin_${randomBytes(24).toString('hex')}`;
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, api: { adminKey: ADMIN_KEY } });
});
afterAll(async () => engine?.stop());

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const post = (path: string, fields: Record<string, string>, cookie?: string) =>
  engine.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: form(fields),
  });
const page = (path: string, cookie: string) => engine.app.request(path, { headers: { cookie } });

/** Signs in; the session cookie ("nf_console=...") and the CSRF token of its pages. */
async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await post('/console/sign-in', { key: ADMIN_KEY });
  expect(res.status).toBe(303);
  const cookie = /^(nf_console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  const overview = await page('/console', cookie);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await overview.text())![1]!;
  return { cookie, csrf };
}

/** Whether a cookie still opens a page behind the sign-in. */
const opens = async (cookie: string) => (await page('/console/suppressions', cookie)).status === 200;

const auditSince = async (since: Date) =>
  engine.database.sql<{ step: string; detail: Record<string, unknown> }[]>`
    select step, detail from audit_events where tenant_id = '*' and step like 'console.%' and at >= ${since.toISOString()} order by id`;

describe('console sessions', () => {
  it('audits sign-in failures and successes without the key', async () => {
    const since = new Date(Date.now() - 1000);
    const wrong = await post('/console/sign-in', { key: 'not-the-admin-key-at-all' });
    expect(wrong.status).toBe(401);
    const { cookie } = await signIn();
    expect(await opens(cookie)).toBe(true);
    const rows = await auditSince(since);
    expect(rows.map((r) => r.step)).toEqual(['console.sign_in_failed', 'console.signed_in']);
    expect(rows[1]!.detail.session).toMatch(/^[A-Za-z0-9_-]{12}$/);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('not-the-admin-key-at-all');
    expect(text).not.toContain(ADMIN_KEY);
  });

  it('sign-out ends the session on the server: the same cookie, replayed, no longer opens anything', async () => {
    const { cookie, csrf } = await signIn();
    expect(await opens(cookie)).toBe(true);
    const out = await post('/console/sign-out', { csrf }, cookie);
    expect(out.status).toBe(303);
    expect(await opens(cookie)).toBe(false);
    const replayed = await page('/console/suppressions', cookie);
    expect(replayed.status).toBe(401);
    expect(await replayed.text()).toContain('<h1>Sign in</h1>');
  });

  it('an operator ends every session at once (DELETE /v1/admin/console-sessions); tenant keys may not', async () => {
    const a = await signIn();
    const b = await signIn();
    expect((await engine.request('DELETE', '/v1/admin/console-sessions')).status).toBe(401);
    expect(await opens(a.cookie)).toBe(true);

    const res = await engine.request('DELETE', '/v1/admin/console-sessions', { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { revoked: number }).revoked).toBeGreaterThanOrEqual(2);
    expect(await opens(a.cookie)).toBe(false);
    expect(await opens(b.cookie)).toBe(false);
    const [row] = await engine.database.sql<{ n: number }[]>`select count(*)::int as n from console_sessions`;
    expect(row!.n).toBe(0);
    // Signing in again works.
    expect(await opens((await signIn()).cookie)).toBe(true);
  });
});
