import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from './helpers/dovecot.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { expectProblem } from './helpers/problem.js';
import type { PlacementReport } from '../domain/placement/run.js';

// Inbox placement against a real IMAP server: Dovecot on loopback, fed over LMTP by the engine's
// SMTP receiver, with a Sieve rule that files mail from one of the pool's IPs in Junk (as a
// provider's filter would). A run sends a marked message from each IP to the seed through the
// normal sending path and reads the seed back over IMAP (imapflow).

const ADMIN_KEY = `nf_admin_${randomBytes(24).toString('hex')}`;
const SEED = 'seed@gmail-seeds.test';
const SEED_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
// IPs of this file only: reputation follows an address across tenants in the shared database.
const net = randomInt(1, 255);
const GOOD_IP = `127.${net}.77.2`;
const SPAM_IP = `127.${net}.77.3`;

let dovecot: Dovecot;
let seedId: string;
let engine: TestEngine;

const admin = (method: string, path: string, body?: unknown) => engine.request(method, path, { body, key: ADMIN_KEY });
const poolId = () => `${engine.tenantId}-pool`;

interface Cell {
  ip: string;
  provider: string;
  inbox: number;
  spam: number;
  missing: number;
  notSent: number;
  score: number;
}

async function runPlacement(): Promise<{ report: PlacementReport; cells: Cell[] }> {
  // Seeds and pools are the engine's, shared by every test file: this run names its own.
  const res = await admin('POST', '/v1/admin/placement/runs', { pools: [poolId()], seeds: [seedId], waitSeconds: 1 });
  expect(res.status, await res.clone().text()).toBe(202);
  const { workflowId, runId } = (await res.json()) as { workflowId: string; runId: string };
  const report = (await engine.client.workflow.getHandle(workflowId).result()) as PlacementReport;
  expect(report.runId).toBe(runId);
  const latest = (await (await admin('GET', '/v1/admin/placement/latest')).json()) as { run: { id: string }; results: Cell[] };
  expect(latest.run.id).toBe(runId);
  return { report, cells: latest.results };
}

/** The console's placement page, as a signed-in operator sees it. */
async function consolePlacementPage(): Promise<string> {
  const signIn = await engine.app.request('/console/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key: ADMIN_KEY }).toString(),
  });
  expect(signIn.status).toBe(303);
  const cookie = /^(nf_console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
  const res = await engine.app.request('/console/placement', { headers: { cookie } });
  expect(res.status).toBe(200);
  return res.text();
}

const gmailScore = async (ip: string) => {
  const { ips } = (await (await admin('GET', `/v1/admin/ips?pool=${poolId()}`)).json()) as {
    ips: { ip: string; providers: Record<string, { score: { score: number } }> }[];
  };
  return ips.find((i) => i.ip === ip)?.providers.gmail?.score.score ?? 100;
};

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ user: SEED, password: SEED_PASSWORD }], junkFromIps: [SPAM_IP] });
  engine = await startTestEngine({
    ips: [GOOD_IP, SPAM_IP],
    api: { adminKey: ADMIN_KEY },
    // The receiver stands in for the provider's MX: mail for the seed goes on to its mailbox.
    inbox: {
      onData: async ({ remoteAddress, rcptTo, raw }) => {
        if (rcptTo.includes(SEED)) await dovecot.deliver(remoteAddress, rcptTo, raw);
        return undefined;
      },
    },
  });
}, 120_000);
afterAll(async () => {
  await engine?.stop();
  await dovecot?.stop();
});

describe('seed mailboxes', () => {
  it('stores the IMAP password sealed and never shows it; refuses an unknown provider, a duplicate and an unknown id', async () => {
    await expectProblem(
      await admin('POST', '/v1/admin/seed-mailboxes', {
        provider: 'hotmail-ish',
        address: 'x@seeds.test',
        imap: { host: '127.0.0.1', port: 143, tls: false, username: 'x', password: 'y' },
      }),
      422,
      /provider must be one of/,
    );
    await expectProblem(
      await admin('POST', '/v1/admin/seed-mailboxes', {
        provider: 'gmail',
        address: 'not an address',
        imap: { host: '127.0.0.1', username: 'x', password: 'y' },
      }),
      422,
    );

    const body = {
      provider: 'gmail',
      address: SEED,
      imap: { host: '127.0.0.1', port: dovecot.imapPort, tls: false, username: SEED, password: SEED_PASSWORD },
    };
    const created = await admin('POST', '/v1/admin/seed-mailboxes', body);
    const text = await created.text();
    expect(created.status, text).toBe(201);
    expect(text).not.toContain(SEED_PASSWORD);
    seedId = (JSON.parse(text) as { id: string }).id;
    await expectProblem(await admin('POST', '/v1/admin/seed-mailboxes', body), 409, /exists already/);
    const listed = await (await admin('GET', '/v1/admin/seed-mailboxes')).text();
    expect(listed).toContain(SEED);
    expect(listed).not.toContain(SEED_PASSWORD);
    const [row] = await engine.database.sql<{ password_enc: string }[]>`select password_enc from seed_mailboxes where address = ${SEED}`;
    expect(row!.password_enc).toMatch(/^v2\./);
    expect(row!.password_enc).not.toContain(SEED_PASSWORD);
    await expectProblem(await admin('DELETE', '/v1/admin/seed-mailboxes/6f1c3a52-54a4-4c44-9a51-0b7a3b2a2d11'), 404);
    const refused = await expectProblem(
      await admin('POST', '/v1/admin/placement/runs', { pools: [poolId(), 'no-such-pool'], seeds: ['6f1c3a52-54a4-4c44-9a51-0b7a3b2a2d11'] }),
      422,
      /Unknown pool: no-such-pool; seed mailbox: 6f1c3a52/,
    );
    expect(refused.errors?.map((e) => e.path)).toEqual(['pools/1', 'seeds/0']);
    await expectProblem(await admin('POST', '/v1/admin/placement/runs', { waitSeconds: 1 }), 422);
    expect(
      await engine.database.sql`select 1 from placement_probes p join egress_sources s on s.id = p.ip_id where s.pool_id = ${poolId()}`,
    ).toHaveLength(0);
  });
});

describe('a placement run', () => {
  it('finds one IP in the inbox and the other in Junk; the second IP loses score at that provider and an alarm is raised', async () => {
    const before = await gmailScore(SPAM_IP);
    const { report, cells } = await runPlacement();
    expect(report.errors).toEqual([]);
    const good = cells.find((c) => c.ip === GOOD_IP)!;
    const spam = cells.find((c) => c.ip === SPAM_IP)!;
    expect(good).toMatchObject({ provider: 'gmail', inbox: 1, spam: 0, missing: 0, notSent: 0 });
    expect(spam).toMatchObject({ provider: 'gmail', inbox: 0, spam: 1, missing: 0, notSent: 0 });
    expect(spam.score).toBeLessThan(good.score);
    const after = await gmailScore(SPAM_IP);
    expect(after).toBeLessThan(before);
    expect(after).toBe(spam.score);

    // Sent through the normal path: from each IP, DKIM-signed by the pool tenant's domain, marked.
    const copies = engine.inbox.messages.filter((m) => m.rcptTo.includes(SEED));
    expect(copies.map((m) => m.remoteAddress).sort()).toEqual([GOOD_IP, SPAM_IP].sort());
    for (const m of copies) {
      expect(m.dkim.result).toBe('pass');
      expect(m.headers['x-notiflow-placement']).toMatch(/^nfp-[0-9a-f]{24}$/);
    }

    const alarms = (await (await admin('GET', '/v1/admin/alarms?kind=placement&state=open')).json()) as {
      alarms: { scope: string; severity: string; message: string }[];
    };
    const mine = alarms.alarms.filter((a) => a.scope.startsWith(`ip:127.${net}.77.`));
    expect(mine).toEqual([expect.objectContaining({ scope: `ip:${SPAM_IP}|provider:gmail`, severity: 'alarm' })]);
    expect(mine[0]!.message).toMatch(/spam folder at gmail/);
    expect(report.newAlarms).toHaveLength(1);

    // The console shows both, with the score beside each.
    const page = await consolePlacementPage();
    const row = (ip: string) =>
      new RegExp(
        `<td><a href="/console#ip-[^"]+">${ip.replace(/\./g, '\\.')}</a></td>\\s*<td>gmail</td>\\s*<td><strong class="placement">([^<]+)</strong>[\\s\\S]*?<td class="score">(\\d+)</td>`,
      );
    expect(row(GOOD_IP).exec(page)?.slice(1)).toEqual(['inbox', String(good.score)]);
    expect(row(SPAM_IP).exec(page)?.slice(1)).toEqual(['spam folder', String(spam.score)]);
  }, 120_000);

  it('when the provider files the IP in the inbox again, its score recovers and the alarm is resolved', async () => {
    const low = await gmailScore(SPAM_IP);
    dovecot.setJunkFromIps([]);
    const { cells } = await runPlacement();
    expect(cells.find((c) => c.ip === SPAM_IP)).toMatchObject({ inbox: 1, spam: 0 });
    expect(await gmailScore(SPAM_IP)).toBeGreaterThan(low);
    const open = (await (await admin('GET', '/v1/admin/alarms?kind=placement&state=open')).json()) as { alarms: { scope: string }[] };
    expect(open.alarms.filter((a) => a.scope === `ip:${SPAM_IP}|provider:gmail`)).toEqual([]);
  }, 120_000);

  it('a seed that cannot be read leaves its messages unchecked, not missing, and says why', async () => {
    const [seed] = ((await (await admin('GET', '/v1/admin/seed-mailboxes')).json()) as { seeds: { id: string }[] }).seeds;
    // A wrong password, sealed as the API seals it.
    const { createSecretBox, sealedFor } = await import('../config/secrets.js');
    const box = createSecretBox(Buffer.from(engine.secretKey, 'base64'));
    await engine.database
      .sql`update seed_mailboxes set password_enc = ${box.encrypt('seed-mailbox', sealedFor.seedMailbox(seed!.id, SEED), 'wrong')} where id = ${seed!.id}`;
    const low = await gmailScore(GOOD_IP);
    const { report, cells } = await runPlacement();
    expect(report.errors).toEqual([expect.objectContaining({ seedId: seed!.id, error: expect.stringMatching(/^IMAP: /) })]);
    expect(cells.find((c) => c.ip === GOOD_IP)).toMatchObject({ inbox: 0, spam: 0, missing: 0 });
    expect(await gmailScore(GOOD_IP)).toBe(low);
    const rows = await engine.database.sql<{ outcome: string }[]>`select outcome from placement_probes where run_id = ${report.runId}`;
    expect(rows.map((r) => r.outcome)).toEqual(['unchecked', 'unchecked']);
  }, 120_000);
});

describe('seed mailbox passwords at rest', () => {
  it('are sealed again under the newest key of the ring by a full reseal pass, bound to their row', async () => {
    // Last in this file: the pass also reseals this engine's tenant's DKIM key, which its worker could then not open.
    const { createSecretBox, sealedFor } = await import('../config/secrets.js');
    const { resealSecrets } = await import('../domain/reseal-secrets.js');
    const newKey = randomBytes(32);
    const rotated = createSecretBox([
      { id: 'k9', key: newKey },
      { id: 'k0', key: Buffer.from(engine.secretKey, 'base64') },
    ]);
    await resealSecrets(engine.database.db, rotated);
    const [row] = await engine.database.sql<{ id: string; password_enc: string }[]>`select id, password_enc from seed_mailboxes where id = ${seedId}`;
    expect(row!.password_enc).toMatch(/^v2\.k9\./);
    const onlyNew = createSecretBox([{ id: 'k9', key: newKey }]);
    // The previous test left the wrong password in place.
    expect(onlyNew.decrypt('seed-mailbox', sealedFor.seedMailbox(seedId, SEED), row!.password_enc)).toBe('wrong');
    expect(() => onlyNew.decrypt('seed-mailbox', sealedFor.seedMailbox(seedId, 'other@seeds.test'), row!.password_enc)).toThrow();
  });
});
