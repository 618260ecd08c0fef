// Providers' own data imported by the operator: Microsoft SNDS per IP (its CSV) and Google Postmaster
// traffic stats (JSON) through the admin API, read back beside our per-provider scores in the
// admin API and the console; bad files refused with nothing stored.
import { readFileSync } from 'node:fs';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postmasterDomainDays, sndsIpDays } from '../db/schema.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { expectProblem } from './helpers/problem.js';

const ADMIN_KEY = 'nf_admin_provider-data-test-key-0123456789';
let engine: TestEngine;
let domain: string;
let ourIp: string;
let otherIp: string;

const dayBefore = (n: number) => new Date(Date.now() - n * 86_400_000);
const iso = (d: Date) => d.toISOString().slice(0, 10);
const mdy = (d: Date) => `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
const [first, second] = [dayBefore(2), dayBefore(1)];

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, ips: [`127.0.63.${Math.floor(Math.random() * 250) + 2}`], api: { adminKey: ADMIN_KEY } });
  domain = `${engine.tenantId}.bank.test`;
  ourIp = engine.ips[0]!;
  // An address no pool has (TEST-NET-2, random so reruns on one database do not share rows).
  otherIp = `198.51.100.${Math.floor(Math.random() * 250) + 2}`;
}, 120_000);
afterAll(() => engine?.stop());

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/provider-data/${name}`, import.meta.url), 'utf8')
    .replaceAll('bank.example', domain)
    .replaceAll('192.0.2.10', ourIp)
    .replaceAll('192.0.2.11', otherIp)
    .replaceAll('12/4/2026', mdy(first))
    .replaceAll('12/5/2026', mdy(second))
    .replaceAll('20261204', iso(first).replaceAll('-', ''))
    .replaceAll('20261205', iso(second).replaceAll('-', ''));
}

const admin = (method: string, path: string, body?: string, contentType = 'application/json') =>
  engine.app.request(path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': contentType } : {}) },
    body,
  });
/** SNDS data as an operator uploads it: the CSV file in a JSON string. */
const snds = (csv: string) => JSON.stringify({ csv });

type View = {
  ips: { ip: string; pool: string | null; ourOutlookScore: number | null; snds: Record<string, unknown>[] }[];
  domains: {
    domain: string;
    tenantId: string | null;
    ourGmailScores: { ip: string; score: number | null }[];
    postmaster: Record<string, unknown>[];
  }[];
};
const view = async (): Promise<View> => {
  const res = await admin('GET', `/v1/admin/provider-data?from=${iso(first)}&to=${iso(second)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as View;
};
const rows = async () => ({
  snds: (await engine.database.db.select({ n: count() }).from(sndsIpDays))[0]!.n,
  postmaster: (await engine.database.db.select({ n: count() }).from(postmasterDomainDays))[0]!.n,
});

describe('provider data beside our scores', () => {
  it('imports SNDS per-IP data and shows it beside our Outlook score of each IP; a day imported again replaces it', async () => {
    const res = await admin('POST', '/v1/admin/provider-data/snds', snds(fixture('snds.csv')));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ imported: 3 });

    const v = await view();
    const ours = v.ips.find((i) => i.ip === ourIp)!;
    expect(ours.pool).toBe(`${engine.tenantId}-pool`);
    expect(ours.ourOutlookScore).toEqual(expect.any(Number));
    expect(ours.snds).toEqual([
      {
        day: iso(first),
        rcptCommands: 1843,
        dataCommands: 1840,
        messageRecipients: 1843,
        filterResult: 'GREEN',
        complaintRate: '< 0.1%',
        trapHits: 0,
      },
      {
        day: iso(second),
        rcptCommands: 2210,
        dataCommands: 2204,
        messageRecipients: 2210,
        filterResult: 'YELLOW',
        complaintRate: '0.3%',
        trapHits: 2,
      },
    ]);
    expect(v.ips.find((i) => i.ip === otherIp)).toMatchObject({
      pool: null,
      ourOutlookScore: null,
      snds: [expect.objectContaining({ filterResult: 'RED' })],
    });

    // SNDS revises a day as its data completes: the later import wins.
    const again = fixture('snds.csv').split('\r\n')[1]!.replace('YELLOW', 'RED');
    expect((await admin('POST', '/v1/admin/provider-data/snds', snds(again))).status).toBe(200);
    const revised = (await view()).ips.find((i) => i.ip === ourIp)!;
    expect(revised.snds.map((d) => d.filterResult)).toEqual(['GREEN', 'RED']);
  });

  it("imports Postmaster traffic stats and shows them beside our Gmail scores of the domain's pool", async () => {
    const res = await admin('POST', '/v1/admin/provider-data/postmaster', fixture('postmaster-traffic-stats.json'), 'application/json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ imported: 2 });
    const d = (await view()).domains.find((x) => x.domain === domain)!;
    expect(d.tenantId).toBe(engine.tenantId);
    expect(d.ourGmailScores).toEqual([{ ip: ourIp, score: expect.any(Number) }]);
    expect(d.postmaster).toEqual([
      { day: iso(first), spamRate: 0.0008, spfSuccessRatio: 1, dkimSuccessRatio: 1, dmarcSuccessRatio: 1, domainReputation: 'HIGH' },
      { day: iso(second), spamRate: 0.0034, spfSuccessRatio: 0.998, dkimSuccessRatio: 1, dmarcSuccessRatio: 1, domainReputation: 'MEDIUM' },
    ]);
  });

  it('shows both on the console DMARC page', async () => {
    const signIn = await engine.app.request('/console/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN_KEY }).toString(),
    });
    const cookie = /^(nf_console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
    const text = await (await engine.app.request(`/console/dmarc?domain=${domain}`, { headers: { cookie } })).text();
    expect(text).toMatch(new RegExp(`data-snds="${ourIp.replaceAll('.', '\\.')}">\\s*<td>[^<]+\\(${engine.tenantId}-pool\\)</td>`));
    expect(text).toContain(`<td>${iso(second)}</td>`);
    expect(text).toContain('0.34%');
    expect(text).toContain('MEDIUM');
  });

  it('refuses what is not SNDS or Postmaster data, storing nothing', async () => {
    const before = await rows();
    const csv = `${fixture('snds.csv').split('\r\n')[0]}\r\n${otherIp},${mdy(second)} 7:00 AM,${mdy(second)} 8:00 PM,1,1,1,PURPLE,< 0.1%,,,0,x,y,\r\n`;
    await expectProblem(await admin('POST', '/v1/admin/provider-data/snds', snds(csv)), 422, /line 2: filter result "PURPLE"/);
    await expectProblem(await admin('POST', '/v1/admin/provider-data/snds', snds('ip,when\r\n')), 422, /line 1: 2 fields/);
    await expectProblem(await admin('POST', '/v1/admin/provider-data/snds', fixture('snds.csv'), 'text/csv'), 415);
    const badName = fixture('postmaster-traffic-stats.json').replace(`domains/${domain}/trafficStats/`, 'domains/x/stats/');
    await expectProblem(await admin('POST', '/v1/admin/provider-data/postmaster', badName, 'application/json'), 422);
    const badRatio = fixture('postmaster-traffic-stats.json').replace('0.0034', '3.4');
    await expectProblem(await admin('POST', '/v1/admin/provider-data/postmaster', badRatio, 'application/json'), 422);
    await expectProblem(await admin('GET', `/v1/admin/provider-data?from=${iso(second)}&to=${iso(first)}`), 422, /is after/);
    // Days that are no calendar day are refused by the contract (schemathesis found a 500 with 0000-00-00).
    for (const day of ['0000-00-00', '2026-02-30', '0000-01-01'])
      await expectProblem(await admin('GET', `/v1/admin/provider-data?from=${day}&to=${iso(first)}`), 422, /query\.from|from/);
    const dmarc = await engine.request('GET', `/v1/sending-domains/${domain}/dmarc?to=0000-00-00`);
    await expectProblem(dmarc, 422, /to/);
    expect(await rows()).toEqual(before);
  });
});
