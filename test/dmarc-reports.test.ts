// DMARC aggregate reports mailed to the rua address the engine asks tenants to publish, through
// the inbound listener run as its own process (bin/inbound.ts, as in production): reports shaped
// like Google's (zip), Microsoft's and Yahoo's (gzip), plain XML and RFC 9990, read back through
// the tenant API, the operator alarms, the console and /metrics; bad ones refused with nothing kept.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { count, eq } from 'drizzle-orm';
import { Gzip, Zip, ZipDeflate, zipSync } from 'fflate';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOf, resetPeakRss, startChild, type Child } from '../bench/children.js';
import { dmarcRecords, dmarcReports } from '../db/schema.js';
import { freePort } from '../dev/ports.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

const ADMIN_KEY = 'nf_admin_dmarc-test-key-0123456789abcdef';
const METRICS_TOKEN = 'dmarc-test-metrics-token';
let engine: TestEngine;
let child: Child;
let port: number;
let domain: string;
let ourIp: string;

const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const begin = Date.parse(`${yesterday}T00:00:00Z`) / 1000;

beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, ips: ['127.0.0.62'], api: { adminKey: ADMIN_KEY, metricsToken: METRICS_TOKEN } });
  domain = `${engine.tenantId}.bank.test`;
  ourIp = engine.ips[0]!;
  port = await freePort();
  child = await startChild(
    'bin/inbound.ts',
    {
      DATABASE_URL: engine.databaseUrl,
      TEMPORAL_ADDRESS: engine.temporalAddress,
      TEMPORAL_TASK_QUEUE: engine.taskQueue,
      SECRET_KEY: engine.secretKey,
      TEMPORAL_PAYLOAD_KEYS: engine.payloadKeys,
      INBOUND_SMTP_PORT: String(port),
      DMARC_FORGED_ALARM_MESSAGES: '20',
      LOG_LEVEL: 'info',
    },
    { ready: /feedback listener started/, label: 'inbound listener', timeoutMs: 60_000 },
  );
}, 120_000);
afterAll(async () => {
  await child?.stop();
  await engine?.stop();
});

/** A fixture about this test's tenant domain, pool IP and yesterday. */
function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/dmarc/${name}`, import.meta.url), 'utf8')
    .replaceAll('bank.example', domain)
    .replaceAll('192.0.2.10', ourIp)
    .replace(/<((?:\w+:)?begin)>\d+</, `<$1>${begin}<`)
    .replace(/<((?:\w+:)?end)>\d+</, `<$1>${begin + 86_399}<`);
}

const rua = () => `dmarc@nfbounce.${domain}`;
type Attachment = { filename: string; content: Buffer | string; contentType: string };

/** Mails a report to the rua address as its reporter would; resolves with the server's answer, or rejects with its refusal. */
async function mailReport(reporter: string, attachment: Attachment | undefined, raw?: string): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  try {
    const envelope = { from: `dmarc-reports@${reporter}`, to: [rua()] };
    if (raw) return (await transport.sendMail({ envelope, raw })).response;
    return (
      await transport.sendMail({
        envelope,
        from: `DMARC Aggregate Report <dmarc-reports@${reporter}>`,
        to: rua(),
        subject: `Report Domain: ${domain} Submitter: ${reporter} Report-ID: <${begin}>`,
        text: `This is an aggregate report from ${reporter}.`,
        attachments: attachment ? [attachment] : [],
      })
    ).response;
  } finally {
    transport.close();
  }
}

const googleZip = (xml: string): Attachment => ({
  filename: `google.com!${domain}!${begin}!${begin + 86_399}.zip`,
  content: Buffer.from(zipSync({ [`google.com!${domain}!${begin}!${begin + 86_399}.xml`]: Buffer.from(xml) })),
  contentType: 'application/zip',
});
const gzipped = (reporter: string, xml: string): Attachment => ({
  filename: `${reporter}!${domain}!${begin}!${begin + 86_400}.xml.gz`,
  content: gzipSync(xml),
  contentType: 'application/gzip',
});
/** A plain-XML report as the whole message body (Content-Type: text/xml), as small reporters send it. */
const plainMessage = (reporter: string, xml: string) =>
  [
    `From: dmarc@${reporter}`,
    `To: ${rua()}`,
    `Subject: Report Domain: ${domain} Submitter: ${reporter}`,
    'MIME-Version: 1.0',
    'Content-Type: text/xml; charset=utf-8',
    '',
    xml,
  ].join('\r\n');

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: 250, text: 'accepted' }),
    (err: { responseCode?: number; response?: string }) => ({ code: err.responseCode ?? 0, text: err.response ?? '' }),
  );

const summary = async () => {
  const res = await engine.request('GET', `/v1/sending-domains/${domain}/dmarc?from=${yesterday}&to=${yesterday}`);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    reports: number;
    reporters: string[];
    days: { day: string; messages: number; dmarcPass: number; sources: Record<string, unknown>[] }[];
  };
};
const admin = (path: string) => engine.app.request(path, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
const openAlarms = async (kind: string) =>
  ((await (await admin(`/v1/admin/alarms?state=open&kind=${kind}`)).json()) as { alarms: Record<string, unknown>[] }).alarms.filter(
    (a) => a.scope === `domain:${domain}`,
  );
const stored = async () => {
  const [reports] = await engine.database.db.select({ n: count() }).from(dmarcReports);
  const [records] = await engine.database.db.select({ n: count() }).from(dmarcRecords);
  return { reports: reports!.n, records: records!.n };
};
const metric = async (outcome: string) => {
  const res = await engine.app.request('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = new RegExp(`^notiflow_dmarc_reports_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(await res.text());
  return Number(line?.[1] ?? 0);
};

describe('DMARC aggregate reports at the rua address', () => {
  it('asks tenants to publish a rua address that reaches the listener', async () => {
    const res = await engine.request('GET', `/v1/sending-domains/${domain}`);
    const records = ((await res.json()) as { records: { purpose: string; value: string }[] }).records;
    expect(records.find((r) => r.purpose === 'dmarc')!.value).toBe(`v=DMARC1; p=none; rua=mailto:${rua()}`);
  });

  it("stores Google's zip, Microsoft's and Yahoo's gzip, plain RFC 7489 and RFC 9990 reports; the API, the console and an alarm show the forged source", async () => {
    expect(await mailReport('google.com', googleZip(fixture('google.xml')))).toMatch(/^250/);
    expect(await mailReport('enterprise.protection.outlook.com', gzipped('enterprise.protection.outlook.com', fixture('microsoft.xml')))).toMatch(
      /^250/,
    );
    expect(await mailReport('yahoo.com', gzipped('yahoo.com', fixture('yahoo.xml')))).toMatch(/^250/);
    expect(await mailReport('mx.example.net', undefined, plainMessage('mx.example.net', fixture('plain-rfc7489.xml')))).toMatch(/^250/);
    expect(await mailReport('example-reporter.com', { filename: 'report.xml', content: fixture('rfc9990.xml'), contentType: 'text/xml' })).toMatch(
      /^250/,
    );
    // The same report again (an SMTP retry) is stored once.
    expect(await mailReport('google.com', googleZip(fixture('google.xml')))).toMatch(/^250/);

    const s = await summary();
    expect(s.reports).toBe(5);
    expect(s.reporters).toEqual(['Enterprise Outlook', 'Sample Reporter', 'Yahoo', 'google.com', 'mx.example.net']);
    expect(s.days).toHaveLength(1);
    const [day] = s.days;
    const ours = 412 + 120 + 58 + 9 + 23;
    expect(day!.messages).toBe(ours + 37 + 4);
    expect(day!.dmarcPass).toBe(ours + 4);
    const by = Object.fromEntries(day!.sources.map((x) => [x.ip as string, x]));
    expect(by[ourIp]).toMatchObject({
      ours: true,
      pool: `${engine.tenantId}-pool`,
      messages: ours,
      dmarcPass: ours,
      dkimAligned: ours,
      forged: false,
    });
    expect(by['203.0.113.66']).toMatchObject({ ours: false, pool: null, messages: 37, dmarcPass: 0, spfAuthPass: 37, forged: true });
    expect(by['198.51.100.7']).toMatchObject({ ours: false, messages: 4, dkimAligned: 4, spfAligned: 0, forwarded: true, forged: false });

    const forged = await openAlarms('dmarc-forged-source');
    expect(forged).toHaveLength(1);
    expect(forged[0]).toMatchObject({ severity: 'alarm', message: expect.stringContaining(`37 messages as ${domain}`) });
    expect(forged[0]!.detail).toMatchObject({ sources: [{ ip: '203.0.113.66', count: 37 }] });
    expect(await openAlarms('dmarc-own-ip-unaligned')).toEqual([]);

    // The console: signed in with the admin key, the DMARC page lists the sources for the domain.
    const signIn = await engine.app.request('/console/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN_KEY }).toString(),
    });
    const cookie = /^(nf_console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
    const page = await engine.app.request(`/console/dmarc?domain=${domain}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('5 report(s)');
    expect(text).toMatch(
      new RegExp(`data-source="203\\.0\\.113\\.66">\\s*<td>203\\.0\\.113\\.66</td>\\s*<td>\\s*<strong class="alert">not ours: forged`),
    );
    expect(text).toMatch(new RegExp(`data-source="${ourIp.replaceAll('.', '\\.')}">\\s*<td>[^<]+</td>\\s*<td>\\s*our pool ${engine.tenantId}-pool`));
  }, 60_000);

  it('raises an alarm when our own IP fails DKIM alignment', async () => {
    expect(
      await mailReport('enterprise.protection.outlook.com', gzipped('enterprise.protection.outlook.com', fixture('microsoft-own-dkim-fail.xml'))),
    ).toMatch(/^250/);
    const own = await openAlarms('dmarc-own-ip-unaligned');
    expect(own).toHaveLength(1);
    // SPF still aligned: DMARC passed, so a warning, naming our IP.
    expect(own[0]).toMatchObject({ severity: 'warn', detail: expect.objectContaining({ sources: [{ ip: ourIp, count: 15 }] }) });
  });

  it('drops and counts a report for a domain no tenant owns', async () => {
    const before = { ...(await stored()), metric: await metric('unknown_domain') };
    expect(await mailReport('google.com', googleZip(fixture('unknown-domain.xml')))).toMatch(/^250/);
    expect(await stored()).toEqual({ reports: before.reports, records: before.records });
    expect(await metric('unknown_domain')).toBe(before.metric + 1);
    const [row] = await engine.database.db
      .select({ n: count() })
      .from(dmarcReports)
      .where(eq(dmarcReports.domain, `other-${domain}`));
    expect(row!.n).toBe(0);
  });

  it('refuses malformed, oversized and zip-bomb reports, keeps nothing, and stays within its memory', async () => {
    const before = await stored();
    const refusedBefore = await metric('refused');

    const truncated = await refusal(mailReport('google.com', googleZip(fixture('malformed-truncated.xml'))));
    expect(truncated).toMatchObject({ code: 550, text: expect.stringMatching(/Malformed DMARC report: not well-formed XML/) });
    const laughs = await refusal(mailReport('attacker.example', gzipped('attacker.example', fixture('malformed-entities.xml'))));
    expect(laughs).toMatchObject({ code: 550, text: expect.stringMatching(/DOCTYPE or ENTITY/) });
    const brokenGzip = await refusal(
      mailReport('yahoo.com', { filename: 'r.xml.gz', content: gzipSync(fixture('yahoo.xml')).subarray(0, 200), contentType: 'application/gzip' }),
    );
    expect(brokenGzip).toMatchObject({ code: 550, text: expect.stringMatching(/Broken gzip/) });
    const noReport = await refusal(mailReport('google.com', { filename: 'hello.txt', content: 'hello', contentType: 'text/plain' }));
    expect(noReport).toMatchObject({ code: 550, text: expect.stringMatching(/No aggregate report found/) });

    // Over the listener's message cap (INBOUND_MAX_BYTES, 2 MiB): cut at the cap.
    const oversized = await refusal(
      mailReport('google.com', { filename: 'big.xml', content: `<feedback>${'x'.repeat(3 * 1024 * 1024)}</feedback>`, contentType: 'text/xml' }),
    );
    expect(oversized.code).toBe(552);

    // Bombs: 128 MiB (eight times the 16 MiB cap) in about 130 KiB, zipped and gzipped.
    const bombBytes = 128 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    const zipParts: Uint8Array[] = [];
    const zip = new Zip((err, data) => {
      if (err) throw err;
      zipParts.push(data);
    });
    const entry = new ZipDeflate('report.xml', { level: 9 });
    zip.add(entry);
    for (let n = 0; n < bombBytes; n += chunk.length) entry.push(chunk, n + chunk.length >= bombBytes);
    zip.end();
    const gzParts: Uint8Array[] = [];
    const gz = new Gzip({ level: 9 }, (data) => gzParts.push(data));
    for (let n = 0; n < bombBytes; n += chunk.length) gz.push(chunk, n + chunk.length >= bombBytes);
    const zipBomb = Buffer.concat(zipParts);
    const gzipBomb = Buffer.concat(gzParts);
    expect(zipBomb.length).toBeLessThan(256 * 1024);

    const memBefore = memoryOf(child.pid)!;
    resetPeakRss(child.pid);
    const zipped = await refusal(mailReport('google.com', { filename: 'bomb.zip', content: zipBomb, contentType: 'application/zip' }));
    expect(zipped).toMatchObject({ code: 552, text: expect.stringMatching(/too large once decompressed, the limit is 16777216 bytes/) });
    const gzippedBomb = await refusal(mailReport('yahoo.com', { filename: 'bomb.xml.gz', content: gzipBomb, contentType: 'application/gzip' }));
    expect(gzippedBomb).toMatchObject({ code: 552, text: expect.stringMatching(/too large once decompressed/) });
    const memAfter = memoryOf(child.pid)!;
    console.log(`inbound listener RSS ${memBefore.rssMb.toFixed(0)} MB before the bombs, peak ${memAfter.peakRssMb.toFixed(0)} MB during`);
    // Inflating either in full would take 128 MiB and more; the cap (16 MiB) bounds it.
    expect(memAfter.peakRssMb - memBefore.rssMb).toBeLessThan(100);

    expect(await stored()).toEqual(before);
    // The oversized message is cut before it is read: the other six are counted as refused.
    expect(await metric('refused')).toBe(refusedBefore + 6);
  }, 180_000);
});
