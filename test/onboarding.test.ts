// A new tenant from nothing to mail from its own authenticated domain, as a new user would do it
// through the API: the operator creates a pool and the tenant, the tenant's keys add a domain,
// its records go into a real DNS server on loopback that the engine resolves through, and the
// SMTP receiver checks DKIM, SPF and DMARC alignment with mailauth through that same server.
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { Resolver } from 'node:dns/promises';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { createLogger } from '../config/logger.js';
import { createSecretBox } from '../config/secrets.js';
import { domainChecks } from '../domain/monitor/domain-check.js';
import { monitorDeliveryRates } from '../domain/monitor/delivery-rates.js';
import { defaultMonitoring } from '../domain/monitor/settings.js';
import { connectDatabase, type Database } from '../db/client.js';
import { publishRecord, startDnsServer, unpublishRecord, type DnsServer } from '../dev/dns-server.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { waitUntil } from './helpers/wait.js';

const ADMIN = 'nf_admin_test_onboarding_key_0123456789';
const BOUNCE_HOST = 'bounce.engine.test';
const TENANT = 'acme-pay';
const DOMAIN = 'acme-pay.test';

let engine: TestEngine;
let dns: DnsServer;
let resolver: Resolver;
let refuseMail = false;
const sourceIp = `127.0.${randomInt(1, 255)}.${randomInt(2, 255)}`;

beforeAll(async () => {
  // The engine's own DNS: its bounce host, whose SPF lists the pool's IP.
  dns = await startDnsServer({ zone: { a: { [BOUNCE_HOST]: ['127.0.0.1'] }, txt: { [BOUNCE_HOST]: [`v=spf1 ip4:${sourceIp} -all`] } } });
  resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([dns.address]);
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    ips: [sourceIp],
    inbox: {
      resolver: (name: string, type: string) => resolver.resolve(name, type),
      onData: () => (refuseMail ? { code: 451, message: '4.3.0 try again later' } : undefined),
    },
    api: { adminKey: ADMIN, resolver, domainSettings: { bounceHost: BOUNCE_HOST, rotationGraceHours: 72 } },
  });
});
afterAll(async () => {
  await engine?.stop();
  await dns?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies read field by field in assertions
type Json = Record<string, any>;
const call = async (method: string, path: string, key: string, body?: unknown) => {
  const res = await engine.request(method, path, { key, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Json) : {} };
};

interface Rec {
  purpose: string;
  type: 'TXT' | 'CNAME';
  host: string;
  value: string;
  status?: string;
  message?: string;
}

let firstKey = '';
let sendKey = '';
let manageKey = '';

async function trigger(key: string, idem: string, userId = 'dora') {
  return engine.request('POST', '/v1/notifications', {
    key,
    headers: { 'idempotency-key': idem },
    body: { userId, type: 'account.transaction', data: { amount: 12, currency: 'EUR', merchant: 'Café', accountLast4: '4242' } },
  });
}

describe('a new tenant', () => {
  it('is created by the operator on a new shared pool, with a first key that makes send and manage keys', async () => {
    const pool = await call('PUT', '/v1/admin/pools/shared-eu', ADMIN, {
      name: 'Shared EU',
      kind: 'shared',
      relay: { host: engine.inbox.host, port: engine.inbox.port },
      ips: [{ id: 'eu-ip1', ip: sourceIp, ehloName: 'mta1.engine.test', weight: 100 }],
    });
    expect(pool.status).toBe(200);
    expect(pool.body).toEqual({ id: 'shared-eu', created: true, warming: ['eu-ip1'], draining: [] });

    const created = await call('POST', '/v1/admin/tenants', ADMIN, { id: TENANT, name: 'Acme Pay', poolId: 'shared-eu' });
    expect(created.status).toBe(201);
    expect(created.body.tenant).toMatchObject({ id: TENANT, status: 'active', poolId: 'shared-eu', keyCount: 1, domains: [] });
    firstKey = created.body.apiKey.key;
    expect(firstKey).toMatch(/^nf_live_/);
    expect((await call('POST', '/v1/admin/tenants', ADMIN, { id: TENANT, name: 'Again', poolId: 'shared-eu' })).status).toBe(409);
    expect((await call('POST', '/v1/admin/tenants', ADMIN, { id: 'nopool', name: 'No pool', poolId: 'missing' })).status).toBe(422);
    expect((await call('GET', '/v1/admin/tenants', firstKey)).status).toBe(401);

    const send = await call('POST', '/v1/api-keys', firstKey, { name: 'backend', scopes: ['send'] });
    const manage = await call('POST', '/v1/api-keys', firstKey, { name: 'ops', scopes: ['manage'] });
    expect([send.status, manage.status]).toEqual([201, 201]);
    sendKey = send.body.key;
    manageKey = manage.body.key;
    // A key makes keys within its own scopes only.
    const beyond = await call('POST', '/v1/api-keys', manageKey, { name: 'sneaky', scopes: ['send'] });
    expect(beyond.status).toBe(403);
    expect(beyond.type).toContain('application/problem+json');
    const listed = await call('GET', '/v1/api-keys', manageKey);
    expect(listed.body.keys.map((k: { name: string }) => k.name).sort()).toEqual(['backend', 'first key', 'ops']);
    expect(JSON.stringify(listed.body)).not.toContain(sendKey);

    const denied = await call('POST', '/v1/sending-domains', sendKey, { domain: DOMAIN });
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toMatch(/manage/);
    expect((await call('GET', '/v1/users/nobody', manageKey)).status).toBe(403);
  });

  it('adds its domain, gets the records, sees each missing, publishes them and sees each ok', async () => {
    const added = await call('POST', '/v1/sending-domains', manageKey, { domain: DOMAIN, fromName: 'Acme Pay' });
    expect(added.status).toBe(201);
    const records = added.body.records as Rec[];
    expect(records.map((r) => [r.purpose, r.type, r.host])).toEqual([
      ['dkim', 'TXT', `nf1._domainkey.${DOMAIN}`],
      ['return-path', 'CNAME', `nfbounce.${DOMAIN}`],
      ['spf', 'TXT', DOMAIN],
      ['dmarc', 'TXT', `_dmarc.${DOMAIN}`],
    ]);
    expect(records[0]!.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
    expect(records[1]!.value).toBe(BOUNCE_HOST);
    expect(records[2]!.value).toBe(`v=spf1 ip4:${sourceIp} ~all`);
    expect(records[3]!.value).toBe(`v=DMARC1; p=none; rua=mailto:dmarc@nfbounce.${DOMAIN}`);

    await call('PUT', '/v1/users/dora', sendKey, { email: 'dora@example.org', locale: 'en', timezone: 'Europe/Paris' });
    const early = await trigger(sendKey, 'before-verify');
    expect(early.status).toBe(409);
    expect(((await early.json()) as { detail: string }).detail).toMatch(/DKIM record of acme-pay\.test has not verified/);

    const missing = await call('POST', `/v1/sending-domains/${DOMAIN}/verify`, manageKey);
    expect(missing.status).toBe(200);
    expect(missing.body.records.map((r: Rec) => [r.purpose, r.status])).toEqual([
      ['dkim', 'missing'],
      ['return-path', 'missing'],
      ['spf', 'missing'],
      ['dmarc', 'missing'],
    ]);
    expect(missing.body.status).toBe('pending');

    for (const r of records) publishRecord(dns.zone, r);
    const ok = await call('POST', `/v1/sending-domains/${DOMAIN}/verify`, manageKey);
    expect(ok.body.records.map((r: Rec) => [r.purpose, r.status])).toEqual([
      ['dkim', 'ok'],
      ['return-path', 'ok'],
      ['spf', 'ok'],
      ['dmarc', 'ok'],
    ]);
    expect(ok.body.status).toBe('verified');
    const tenant = await call('GET', `/v1/admin/tenants/${TENANT}`, ADMIN);
    expect(tenant.body.domains).toEqual([expect.objectContaining({ domain: DOMAIN, status: 'verified', dkimVerified: true })]);
  });

  it('sends its users alerts signed d=acme-pay.test that mailauth accepts, with the bounce domain aligned', async () => {
    const res = await trigger(sendKey, 'first-alert');
    expect(res.status).toBe(202);
    const [mail] = await engine.inbox.waitFor(1, 30_000);
    expect(mail!.rcptTo).toEqual(['dora@example.org']);
    expect(mail!.from).toContain(`alerts@${DOMAIN}`);
    expect(mail!.dkim).toMatchObject({ result: 'pass', domain: DOMAIN, selector: 'nf1' });
    expect(mail!.mailFrom).toMatch(new RegExp(`^bounces\\+[0-9a-f.]+@nfbounce\\.${DOMAIN.replace('.', '\\.')}$`));
    expect(mail!.spf).toEqual({ result: 'pass', domain: `nfbounce.${DOMAIN}` });
    // Relaxed alignment: the SPF-checked return-path domain sits under the From domain.
    expect(mail!.dmarc).toMatchObject({ result: 'pass', spfAligned: `nfbounce.${DOMAIN}`, dkimAligned: DOMAIN });
  });

  it('rotates DKIM: the new selector signs once its record verifies, and mail still passes', async () => {
    const rotated = await call('POST', `/v1/sending-domains/${DOMAIN}/rotate-dkim`, manageKey);
    expect(rotated.status).toBe(200);
    const next = (rotated.body.records as Rec[]).find((r) => r.purpose === 'dkim-next')!;
    expect(next.host).toBe(`nf2._domainkey.${DOMAIN}`);
    expect((await call('POST', `/v1/sending-domains/${DOMAIN}/rotate-dkim`, manageKey)).status).toBe(409);

    // Not published yet: signing stays on nf1.
    const waiting = await call('POST', `/v1/sending-domains/${DOMAIN}/verify`, manageKey);
    expect(waiting.body.switchedTo).toBeUndefined();
    expect(waiting.body.records.find((r: Rec) => r.purpose === 'dkim-next').status).toBe('missing');

    publishRecord(dns.zone, next);
    const switched = await call('POST', `/v1/sending-domains/${DOMAIN}/verify`, manageKey);
    expect(switched.body).toMatchObject({ switchedTo: 'nf2', dkimSelector: 'nf2', status: 'verified' });
    const view = await call('GET', `/v1/sending-domains/${DOMAIN}`, manageKey);
    expect(view.body.rotation).toMatchObject({ pendingSelector: null, previousSelector: 'nf1', previousSafeToRemove: false });
    expect(Date.parse(view.body.rotation.previousSafeToRemoveAt) - Date.now()).toBeGreaterThan(71 * 3_600_000);

    expect((await trigger(sendKey, 'after-rotation')).status).toBe(202);
    const mails = await engine.inbox.waitFor(2, 30_000);
    expect(mails[1]!.dkim).toMatchObject({ result: 'pass', domain: DOMAIN, selector: 'nf2' });
  });

  it('explains the usual DNS mistakes in words', async () => {
    const beta = 'beta-pay.test';
    const added = await call('POST', '/v1/sending-domains', manageKey, { domain: beta });
    const [dkim, returnPath, spf] = added.body.records as Rec[];
    // The panel appended the domain; a CNAME where the DKIM TXT belongs; two SPF records.
    publishRecord(dns.zone, { type: 'CNAME', host: `${returnPath!.host}.${beta}`, value: BOUNCE_HOST });
    publishRecord(dns.zone, { type: 'CNAME', host: dkim!.host, value: 'dkim.elsewhere.test' });
    publishRecord(dns.zone, { type: 'TXT', host: spf!.host, value: spf!.value });
    publishRecord(dns.zone, { type: 'TXT', host: spf!.host, value: 'v=spf1 include:_spf.google.com ~all' });
    const checked = await call('POST', `/v1/sending-domains/${beta}/verify`, manageKey);
    const by = Object.fromEntries((checked.body.records as Rec[]).map((r) => [r.purpose, r]));
    expect(by['return-path']).toMatchObject({ status: 'missing', message: expect.stringMatching(/appends the domain.*"nfbounce"/) });
    expect(by.dkim).toMatchObject({ status: 'mismatch', message: expect.stringMatching(/CNAME to dkim\.elsewhere\.test.*TXT record/) });
    expect(by.spf).toMatchObject({ status: 'mismatch', message: expect.stringMatching(/2 SPF records.*Merge them/) });
    expect(by.dmarc).toMatchObject({ status: 'missing' });
    unpublishRecord(dns.zone, { type: 'CNAME', host: dkim!.host });
  });

  it('is re-checked by the daily domain check: a record removed raises an alarm, put back it clears', async () => {
    const checks = domainChecks({
      db: engine.database.db,
      secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
      domains: { settings: { bounceHost: BOUNCE_HOST, rotationGraceHours: 72 }, resolver },
    });
    const dmarc = { type: 'TXT' as const, host: `_dmarc.${DOMAIN}` };
    const published = [...dns.zone.txt![dmarc.host]!];
    unpublishRecord(dns.zone, dmarc);
    const report = await checks.checkSendingDomains();
    expect(report.regressed).toContainEqual({ tenantId: TENANT, domain: DOMAIN });
    const open = await call('GET', '/v1/admin/alarms?kind=domain-dns', ADMIN);
    expect(open.body.alarms).toContainEqual(
      expect.objectContaining({ scope: `domain:${DOMAIN}`, message: expect.stringMatching(/acme-pay\.test .* no longer verify: dmarc missing/) }),
    );
    expect((await call('GET', `/v1/sending-domains/${DOMAIN}`, manageKey)).body.status).toBe('failing');
    // Mail keeps going while only DMARC is missing: the DKIM record verified.
    for (const value of published) publishRecord(dns.zone, { ...dmarc, value });
    const again = await checks.checkSendingDomains();
    expect(again.regressed).not.toContainEqual({ tenantId: TENANT, domain: DOMAIN });
    expect((await call('GET', `/v1/sending-domains/${DOMAIN}`, manageKey)).body.status).toBe('verified');
    const closed = await call('GET', '/v1/admin/alarms?kind=domain-dns', ADMIN);
    expect(closed.body.alarms.filter((a: { scope: string; resolvedAt: string | null }) => a.scope === `domain:${DOMAIN}` && !a.resolvedAt)).toEqual(
      [],
    );
  });

  it('refuses a deleted key on the next request, in every API process', async () => {
    const extra = await call('POST', '/v1/api-keys', firstKey, { name: 'to-revoke', scopes: ['send'] });
    // A second API process: its own app, caches and database connections.
    const other: Database = connectDatabase(engine.databaseUrl);
    try {
      const otherApi = createApi({ db: other.db, temporal: engine.client, taskQueue: engine.taskQueue });
      const ask = (app: { request: (p: string, i: RequestInit) => Response | Promise<Response> }) =>
        app.request('/v1/users/dora', { headers: { authorization: `Bearer ${extra.body.key}` } });
      expect((await ask(otherApi)).status).toBe(200); // now cached there
      await new Promise((r) => setTimeout(r, 300)); // its LISTEN connection is up
      const deleted = await call('DELETE', `/v1/api-keys/${extra.body.id}`, manageKey);
      expect(deleted.status).toBe(204);
      expect((await call('GET', '/v1/users/dora', extra.body.key)).status).toBe(401);
      const started = Date.now();
      await waitUntil(async () => (await ask(otherApi)).status === 401, 1_000, 'the other process to refuse the key');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await call('DELETE', `/v1/api-keys/${extra.body.id}`, manageKey)).status).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('once suspended, gets 403 on every key and its queued notification is not sent', async () => {
    const before = engine.inbox.messages.length;
    refuseMail = true; // the receiver defers: the notification waits in its retries
    const res = await trigger(sendKey, 'queued-when-suspended');
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitUntil(async () => {
      const n = await call('GET', `/v1/notifications/${id}`, sendKey);
      return n.body.attempts?.some((a: { outcome: string }) => a.outcome === 'deferred');
    });

    const suspended = await call('POST', `/v1/admin/tenants/${TENANT}/suspend`, ADMIN, { reason: 'unpaid invoices' });
    expect(suspended.body).toMatchObject({ status: 'suspended', statusReason: 'unpaid invoices' });
    refuseMail = false;
    for (const key of [firstKey, sendKey, manageKey]) {
      const r = await call('GET', '/v1/users/dora', key);
      expect(r.status).toBe(403);
      expect(r.type).toContain('application/problem+json');
      expect(r.body.detail).toMatch(/suspended: unpaid invoices/);
    }
    // The next retry meets the suspension before it sends; the reason is recorded.
    const stopped = await waitUntil(
      async () => {
        const [row] = await engine.database.sql<{ status: string; error: string | null }[]>`select status, error from notifications where id = ${id}`;
        return row?.status === 'failed' ? row : undefined;
      },
      60_000,
      'the notification to stop',
    );
    expect(stopped.error).toMatch(/suspended \(unpaid invoices\)/);
    const steps = await engine.database.sql<{ step: string }[]>`select step from audit_events where notification_id = ${id} order by id`;
    expect(steps.map((s) => s.step)).toContain('email.stopped');
    expect(engine.inbox.messages.length).toBe(before);
    const trail = await engine.database.sql<
      { step: string }[]
    >`select step from audit_events where tenant_id = ${TENANT} and notification_id is null order by id`;
    expect(trail.map((s) => s.step)).toEqual(
      expect.arrayContaining(['tenant.created', 'api_key.created', 'api_key.revoked', 'domain.added', 'domain.dkim_switched', 'tenant.suspended']),
    );

    const back = await call('POST', `/v1/admin/tenants/${TENANT}/reinstate`, ADMIN, {});
    expect(back.body.status).toBe('active');
    expect((await call('GET', '/v1/users/dora', sendKey)).status).toBe(200);
  });

  it('is put on hold when its complaint rate reaches the alarm threshold: triggers are taken, nothing leaves, the alarm says why', async () => {
    const [delivered] = await engine.database.sql<
      { id: string }[]
    >`select id from notifications where tenant_id = ${TENANT} and status = 'delivered' limit 1`;
    // One complaint (as the inbound listener records an ARF report) against a handful of deliveries.
    await engine.database
      .sql`insert into feedback_events (kind, tenant_id, notification_id, class, source_ip, provider, source) values ('complaint', ${TENANT}, ${delivered!.id}, 'abuse', ${sourceIp}, 'other', 'arf')`;
    const report = await monitorDeliveryRates({
      db: engine.database.db,
      monitoring: { ...defaultMonitoring, window: { minutes: 60, minVolume: 1 } },
      logger: createLogger('silent'),
    });
    expect(report.rows.find((r) => r.scope === `tenant:${TENANT}`)?.complaints).toBe(1);

    const held = await call('GET', `/v1/admin/tenants/${TENANT}`, ADMIN);
    expect(held.body).toMatchObject({ status: 'held', statusReason: expect.stringMatching(/complaint rate .* reached the alarm threshold/) });
    const alarms = await call('GET', '/v1/admin/alarms', ADMIN);
    expect(JSON.stringify(alarms.body)).toMatch(/Tenant acme-pay is on hold: complaint rate/);

    const before = engine.inbox.messages.length;
    const res = await trigger(sendKey, 'while-held');
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // The send waits in its activity's retries: Temporal shows the last failure on the pending activity.
    const waiting = await waitUntil(
      async () => {
        const d = await engine.client.workflow.getHandle(`notification:${TENANT}:${id}`).describe();
        const last = d.raw.pendingActivities?.[0]?.lastFailure;
        if (last?.applicationFailureInfo?.type !== 'TenantHeld') return undefined;
        // Failure messages are encrypted in Temporal (the payload codec): read it with the client's key.
        return (await decodeOptionalFailureToOptionalError(engine.client.options.loadedDataConverter, last))?.message;
      },
      20_000,
      'the send to meet the hold',
    );
    expect(waiting).toMatch(/on hold \(complaint rate/);
    expect(engine.inbox.messages.length).toBe(before);

    const back = await call('POST', `/v1/admin/tenants/${TENANT}/reinstate`, ADMIN, { reason: 'list cleaned' });
    expect(back.body.status).toBe('active');
    const after = await call('GET', '/v1/admin/alarms?kind=tenant-held&state=all', ADMIN);
    const holds = (after.body as { alarms: { scope: string; message: string; resolvedAt: string | null }[] }).alarms.filter(
      (a) => a.scope === `tenant:${TENANT}`,
    );
    expect(holds).toEqual([expect.objectContaining({ message: expect.stringMatching(/^Tenant acme-pay is on hold: complaint rate/) })]);
    expect(holds[0]!.resolvedAt, 'the hold alarm is resolved on reinstate').not.toBeNull();
  });
});
