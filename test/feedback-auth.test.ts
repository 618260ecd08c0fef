// Complaints change who gets mail and which IP loses reputation, so only configured feedback
// loops are believed: a reporter domain whose DKIM signature verifies (keys served by a real DNS
// server on loopback) or a known source address; the JSON webhook needs each provider's secret
// and a request is accepted once.
import { generateKeyPairSync } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { dkimSign } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader, signWebhook } from '../domain/webhooks/sign.js';
import { createSecretBox } from '../config/secrets.js';
import { dkimTxtRecord } from '../db/provision.js';
import { feedbackEvents, feedbackRejects, suppressions } from '../db/schema.js';
import { startDnsServer, type DnsServer } from '../dev/dns-server.js';
import { txtResolver } from '../inbound/feedback-sources.js';
import { startInboundListener, type InboundListener } from '../inbound/server.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { arfReport, headersOf, mailReport } from './helpers/feedback-mail.js';
import { putUser, settled, trigger } from './helpers/notify.js';

const reporter = 'isp.remote.test';
const fblIp = '127.0.0.50';
const ourIp = '127.0.0.33';
const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });
let engine: TestEngine;
let dns: DnsServer;
let listener: InboundListener;

beforeAll(async () => {
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    ips: [ourIp],
    api: { feedbackWebhookSecrets: { gmail: 'gmail-feedback-secret-1', yahoo: 'yahoo-feedback-secret-1' } },
  });
  dns = await startDnsServer({
    zone: { txt: { [`fbl._domainkey.${reporter}`]: [dkimTxtRecord(key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'))] } },
  });
  listener = await startInboundListener({
    db: engine.database.db,
    secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')),
    loops: { domains: [reporter], ips: [fblIp] },
    resolver: txtResolver([dns.address]),
  });
  await deliverAll();
});
afterAll(async () => {
  await listener?.close();
  await dns?.close();
  await engine?.stop();
});

const db = () => engine.database.db;
const suppressionOf = async (email: string) =>
  (
    await db()
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, engine.tenantId), eq(suppressions.email, email)))
  )[0];
const lastReject = async () => (await db().select().from(feedbackRejects).orderBy(feedbackRejects.id)).at(-1)?.reason;

const delivered = new Map<string, { id: string; mail: TestEngine['inbox']['messages'][number] }>();
// All alerts go out first: the complaints below rightly lower the sending IP's standing.
async function deliverAll() {
  for (const user of ['una', 'vic', 'wes', 'xia', 'yve', 'zed']) {
    await putUser(engine, user, { email: `${user}@example.fr` }, { transactions: ['email'] });
    const id = await trigger(engine, user, `${user}-1`);
    expect((await settled(engine, id)).deliveredChannels).toEqual(['email']);
    delivered.set(user, { id, mail: engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)! });
  }
}

const signed = async (raw: string, privateKey = key.privateKey) => {
  // mailauth's typings show the signer fields at the top level; it reads them from signatureData.
  const signatureData = [{ signingDomain: reporter, selector: 'fbl', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }];
  const { signatures } = await dkimSign(raw, { signatureData } as never);
  expect(signatures).toMatch(/^DKIM-Signature: /);
  return signatures + raw;
};

/** Mails a report from a chosen source address (loopback aliases stand in for the loop's servers). */
async function mailFrom(localAddress: string, raw: string) {
  const transport = nodemailer.createTransport({ host: listener.host, port: listener.port, ignoreTLS: true, localAddress });
  try {
    return (await transport.sendMail({ envelope: { from: `fbl@${reporter}`, to: ['fbl@bank.test'] }, raw })).response;
  } finally {
    transport.close();
  }
}

describe('mailed complaints', () => {
  it('are believed only from a configured loop: unsigned or falsely signed reports change nothing', async () => {
    const { mail } = delivered.get('una')!;
    const arf = arfReport({ to: 'fbl@bank.test', sourceIp: ourIp, originalHeaders: headersOf(mail.raw), recipient: 'una@example.fr' });
    expect(await mailReport(listener, arf, { from: `fbl@${reporter}`, to: 'fbl@bank.test' })).toMatch(/^250/);
    expect(await lastReject()).toMatch(/not from a configured feedback loop/);
    expect(await mailReport(listener, await signed(arf, impostor.privateKey), { from: `fbl@${reporter}`, to: 'fbl@bank.test' })).toMatch(/^250/);
    expect(await lastReject()).toMatch(/not from a configured feedback loop/);
    expect(await suppressionOf('una@example.fr')).toBeUndefined();
    expect(dns.queries).toContain(`TXT fbl._domainkey.${reporter}`);
  });

  it('a DKIM-verified report about the right recipient is recorded, charged to the IP we sent from, not the one it names', async () => {
    const { id, mail } = delivered.get('vic')!;
    const arf = arfReport({ to: 'fbl@bank.test', sourceIp: '127.0.0.99', originalHeaders: headersOf(mail.raw), recipient: 'vic@example.fr' });
    expect(await mailReport(listener, await signed(arf), { from: `fbl@${reporter}`, to: 'fbl@bank.test' })).toMatch(/^250/);
    expect(await suppressionOf('vic@example.fr')).toMatchObject({ reason: 'complaint', notificationId: id });
    const [event] = await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id));
    expect(event).toMatchObject({ kind: 'complaint', sourceIp: ourIp });
  });

  it('a report naming another recipient than the notification was sent to is rejected', async () => {
    const { mail } = delivered.get('wes')!;
    const arf = arfReport({
      to: 'fbl@bank.test',
      sourceIp: ourIp,
      originalHeaders: headersOf(mail.raw).replace(/^To: .*$/im, 'To: someone@else.test'),
      recipient: 'someone@else.test',
    });
    expect(await mailReport(listener, await signed(arf), { from: `fbl@${reporter}`, to: 'fbl@bank.test' })).toMatch(/^250/);
    expect(await lastReject()).toMatch(/reported recipient is not the one/);
    expect(await suppressionOf('wes@example.fr')).toBeUndefined();
  });

  it('an unsigned report from a configured source address is believed', async () => {
    const { id, mail } = delivered.get('xia')!;
    const arf = arfReport({ to: 'fbl@bank.test', sourceIp: ourIp, originalHeaders: headersOf(mail.raw), recipient: 'xia@example.fr' });
    expect(await mailFrom(fblIp, arf)).toMatch(/^250/);
    expect(await suppressionOf('xia@example.fr')).toMatchObject({ reason: 'complaint', notificationId: id });
  });

  it('reports are rate-limited per source address (451, try later)', async () => {
    const limited = await startInboundListener(
      { db: engine.database.db, secrets: createSecretBox(Buffer.from(engine.secretKey, 'base64')), loops: { domains: [], ips: [] } },
      { reportsPerMinute: 3 },
    );
    try {
      const replies: string[] = [];
      for (let i = 0; i < 4; i++) {
        replies.push(
          await mailReport(limited, 'Subject: x\r\n\r\nnot a report\r\n', { to: 'fbl@bank.test' }).catch(
            (e: { response?: string }) => e.response ?? String(e),
          ),
        );
      }
      expect(replies.slice(0, 3)).toEqual([expect.stringMatching(/^250/), expect.stringMatching(/^250/), expect.stringMatching(/^250/)]);
      expect(replies[3]).toMatch(/^451 4\.7\.1 Too many reports/);
    } finally {
      await limited.close();
    }
  });
});

describe('provider JSON webhook', () => {
  const post = (body: string, headers: Record<string, string>) =>
    engine.request('POST', '/v1/feedback/reports', { rawBody: body, key: null, headers });

  it("takes each provider's own secret, refuses a replay of the same signed request, and wants the recipient", async () => {
    const { id } = delivered.get('yve')!;
    const body = JSON.stringify({ type: 'complaint', notificationId: id, recipient: 'yve@example.fr' });
    const wrong = await post(body, { 'Notiflow-Provider': 'yahoo', [signatureHeader]: signWebhook('gmail-feedback-secret-1', body) });
    expect(wrong.status).toBe(401);
    const unknown = await post(body, { 'Notiflow-Provider': 'nobody', [signatureHeader]: signWebhook('gmail-feedback-secret-1', body) });
    expect(unknown.status).toBe(401);

    const signature = signWebhook('gmail-feedback-secret-1', body);
    const first = await post(body, { 'Notiflow-Provider': 'gmail', [signatureHeader]: signature });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ status: 'recorded', kind: 'complaint' });
    const replay = await post(body, { 'Notiflow-Provider': 'gmail', [signatureHeader]: signature });
    expect(replay.status).toBe(409);
    expect(replay.headers.get('content-type')).toContain('application/problem+json');
    expect(await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id))).toHaveLength(1);

    const { id: other } = delivered.get('zed')!;
    const noRecipient = JSON.stringify({ type: 'complaint', notificationId: other });
    const res = await post(noRecipient, { 'Notiflow-Provider': 'yahoo', [signatureHeader]: signWebhook('yahoo-feedback-secret-1', noRecipient) });
    expect(await res.json()).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/names no recipient/) });
    expect(await suppressionOf('zed@example.fr')).toBeUndefined();
  });
});
