// The feedback listener faces the internet. It runs here as its own process (bin/inbound.ts,
// as in production) so its memory can be read from /proc while strangers misbehave at it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, inArray, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOf, resetPeakRss, startChild, type Child } from '../bench/children.js';
import { feedbackEvents, feedbackRejects } from '../db/schema.js';
import { freePort } from '../dev/ports.js';
import { createTestTls } from '../dev/test-ca.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { dsnReport, headersOf } from './helpers/feedback-mail.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { openData, rawSmtp } from './helpers/smtp-client.js';

const maxBytes = 2 * 1024 * 1024;
const perIp = 4;
let engine: TestEngine;
let child: Child;
let port: number;
const tls = createTestTls(['localhost'], ['127.0.0.1']);

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows(), ips: ['127.0.0.31'] });
  port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'inbound-tls-'));
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  writeFileSync(join(dir, 'key.pem'), tls.key);
  child = await startChild(
    'bin/inbound.ts',
    {
      DATABASE_URL: engine.databaseUrl,
      TEMPORAL_ADDRESS: engine.temporalAddress,
      TEMPORAL_TASK_QUEUE: engine.taskQueue,
      SECRET_KEY: engine.secretKey,
      TEMPORAL_PAYLOAD_KEYS: engine.payloadKeys,
      INBOUND_SMTP_PORT: String(port),
      INBOUND_MAX_BYTES: String(maxBytes),
      INBOUND_MAX_CONNECTIONS_PER_IP: String(perIp),
      INBOUND_COMMAND_TIMEOUT_MS: '4000',
      INBOUND_MESSAGE_TIMEOUT_MS: '8000',
      INBOUND_TLS_CERT_PATH: join(dir, 'cert.pem'),
      INBOUND_TLS_KEY_PATH: join(dir, 'key.pem'),
      LOG_LEVEL: 'info',
    },
    { ready: /feedback listener started/, label: 'inbound listener', timeoutMs: 60_000 },
  );
}, 120_000);
afterAll(async () => {
  if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null))
    console.log(`inbound listener exited early:\n${child.output().slice(-2000)}`);
  await child?.stop();
  await engine?.stop();
});

const db = () => engine.database.db;

/** Mails a report as an honest MTA would: STARTTLS (trusting the listener's CA), and again later on a 4xx. */
async function mailHonestly(raw: string, to: string): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { ca: tls.caPem, servername: 'localhost' } });
  try {
    for (let i = 0; ; i++) {
      try {
        return (await transport.sendMail({ envelope: { from: '', to: [to] }, raw })).response;
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode ?? 0;
        if (i >= 20 || code >= 500) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    transport.close();
  }
}

/** Delivers alerts by e-mail and returns, per alert, a soft-bounce DSN addressed to its signed return path. */
async function honestBounces(n: number, prefix: string) {
  await putUser(engine, `${prefix}-user`, { email: `${prefix}@example.org` }, { transactions: ['email'] });
  const out: { id: string; to: string; raw: string }[] = [];
  for (let i = 0; i < n; i++) {
    const id = await trigger(engine, `${prefix}-user`, `${prefix}-${i}`);
    expect((await settled(engine, id)).deliveredChannels).toEqual(['email']);
    const mail = engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)!;
    const raw = dsnReport({
      to: mail.mailFrom,
      recipient: `${prefix}@example.org`,
      action: 'delayed',
      status: '4.2.2',
      diagnostic: '452 4.2.2 Mailbox full',
      originalHeaders: headersOf(mail.raw),
    });
    out.push({ id, to: mail.mailFrom, raw });
  }
  return out;
}

describe('rejected reports', () => {
  it('are kept cut to 64 KiB a row, and for a limited number of days', async () => {
    await db()
      .insert(feedbackRejects)
      .values({
        source: 'smtp',
        reason: 'old',
        raw: 'old',
        receivedAt: sql`now() - interval '40 days'`,
        lastReceivedAt: sql`now() - interval '40 days'`,
      });
    // 1 MB of two-byte characters in one header line: within the message cap, far beyond a row's.
    const raw = `Subject: ${'é'.repeat(512 * 1024)}\r\nFrom: x@y.test\r\n\r\nnot a report\r\n`;
    const c = await openData(port);
    await c.write(Buffer.from(raw.replace(/\r\n\./g, '\r\n..') + '\r\n.\r\n', 'utf8'));
    expect(await c.expect(/^\d{3} /)).toMatch(/^250/);
    c.send('QUIT');
    const rows = await db()
      .select({ reason: feedbackRejects.reason, bytes: sql<number>`octet_length(${feedbackRejects.raw})` })
      .from(feedbackRejects)
      .where(sql`${feedbackRejects.raw} like 'Subject: é%' or ${feedbackRejects.reason} = 'old'`);
    expect(rows.map((r) => r.reason)).not.toContain('old');
    expect(rows).toHaveLength(1);
    expect(Math.max(...rows.map((r) => Number(r.bytes)))).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('limits', () => {
  it('a message over the cap is cut at the cap: 552 and the connection closed, not read to its end', async () => {
    const c = await openData(port);
    const line = Buffer.from('x'.repeat(998) + '\r\n');
    const chunk = Buffer.concat(Array.from({ length: 64 }, () => line));
    let sent = 0;
    while (sent < 200 * 1024 * 1024 && (await c.write(chunk))) sent += chunk.length;
    await c.closed;
    expect(c.lines.some((l) => /^552 5\.3\.4/.test(l))).toBe(true);
    // The sender met a closed connection long before its 200 MB were out.
    expect(sent).toBeLessThan(50 * 1024 * 1024);
  });

  it('connections from one source address are capped (421), other addresses still served', async () => {
    const held = await Promise.all(Array.from({ length: perIp }, () => rawSmtp(port, { localAddress: '127.0.0.40' })));
    await Promise.all(held.map((c) => c.expect(/^220 /)));
    const extra = await rawSmtp(port, { localAddress: '127.0.0.40' });
    expect(await extra.expect(/^\d{3} /)).toMatch(/^421 4\.7\.0 Too many connections/);
    await extra.closed;
    const other = await rawSmtp(port, { localAddress: '127.0.0.41' });
    expect(await other.expect(/^\d{3} /)).toMatch(/^220 /);
    for (const c of [...held, other]) c.socket.destroy();
  });

  it('a slow sender is cut: a command trickled a byte at a time, and a message trickled a line at a time', async () => {
    const c = await rawSmtp(port, { localAddress: '127.0.0.42' });
    await c.expect(/^220 /);
    const trickle = (async () => {
      for (const ch of 'EHLO slow.test'.repeat(20))
        if (!(await c.write(ch))) break;
        else await new Promise((r) => setTimeout(r, 200));
    })();
    expect(await c.expect(/^421 /, 20_000)).toMatch(/^421 4\.4\.2 Command not completed in time/);
    await c.closed;
    await trickle;

    const d = await openData(port, { localAddress: '127.0.0.42' });
    const lines = (async () => {
      for (let i = 0; i < 200; i++)
        if (!(await d.write('a line of a slow message\r\n'))) break;
        else await new Promise((r) => setTimeout(r, 200));
    })();
    expect(await d.expect(/^421 /, 20_000)).toMatch(/^421 4\.4\.2 Message not received in time/);
    await d.closed;
    await lines;
  });

  it('offers STARTTLS; a report mailed over it is recorded', async () => {
    const c = await rawSmtp(port);
    await c.expect(/^220 /);
    c.send('EHLO check.test');
    await c.expect(/^250 /);
    expect(c.lines).toContain('250-STARTTLS');
    c.socket.destroy();
    const [bounce] = await honestBounces(1, 'tls');
    expect(await mailHonestly(bounce!.raw, bounce!.to)).toMatch(/^250/);
    const events = await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, bounce!.id));
    expect(events).toMatchObject([{ kind: 'bounce', bounceType: 'soft' }]);
  });
});

describe('fuzz pass', () => {
  it('malformed MIME, 1 MB headers, 10,000 recipients, a slow sender and 20 parallel 200 MB DATA: memory stays bounded, honest reports are all recorded', async () => {
    const honest = await honestBounces(5, 'fuzz');
    await new Promise((r) => setTimeout(r, 500));
    const before = memoryOf(child.pid)!;
    resetPeakRss(child.pid);

    const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n') + '\r\n.\r\n', 'utf8');
    const malformed = [
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1',
      'Content-Type: multipart/mixed; boundary=""\n\n' + '--\n'.repeat(10_000),
      Array.from({ length: 300 }, (_, i) => `Content-Type: multipart/mixed; boundary="n${i}"\n\n--n${i}`).join('\n') + '\n',
      Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251))
        .toString('latin1')
        .replace(/\r|\n|\./g, 'x'),
      `X-Big: ${'h'.repeat(1024 * 1024)}\nContent-Type: multipart/report; report-type=feedback-report; boundary="q"\n\n--q--`,
      `Subject: =?utf-8?B?${'/'.repeat(100_000)}?=\nContent-Type: text/plain; charset=x-unknown\n\n\u0000\u0000`,
    ];
    const malformedRuns = malformed.map(async (m, i) => {
      const c = await openData(port, { localAddress: `127.0.2.${i + 1}` });
      await c.write(crlf(m));
      const reply = await c.expect(/^\d{3} /);
      c.send('QUIT');
      return reply;
    });

    const recipients = (async () => {
      const c = await rawSmtp(port, { localAddress: '127.0.3.1' });
      await c.expect(/^220 /);
      c.send('EHLO many.test');
      await c.expect(/^250 /);
      c.send('MAIL FROM:<>');
      await c.expect(/^250/);
      for (let i = 0; i < 10_000; i++) if (!(await c.write(`RCPT TO:<r${i}@bank.test>\r\n`))) break;
      const refused = await c.expect(/^452 /);
      c.socket.destroy();
      return refused;
    })();

    const slow = (async () => {
      const c = await rawSmtp(port, { localAddress: '127.0.3.2' });
      await c.expect(/^220 /);
      for (const ch of 'EHLO slow.test\r'.repeat(10))
        if (!(await c.write(ch))) break;
        else await new Promise((r) => setTimeout(r, 300));
      await c.closed;
      return c.lines.at(-1);
    })();

    const floods = Array.from({ length: 20 }, async (_, i) => {
      const c = await openData(port, { localAddress: `127.0.1.${i + 1}` });
      const chunk = Buffer.from(('y'.repeat(998) + '\r\n').repeat(64));
      for (let sent = 0; sent < 200 * 1024 * 1024 && (await c.write(chunk));) sent += chunk.length;
      await c.closed;
      return c.lines.at(-1) ?? '';
    });

    // Honest senders keep reporting while all this goes on.
    const honestRuns = honest.map((b) => mailHonestly(b.raw, b.to));

    const floodReplies = await Promise.all(floods);
    expect(floodReplies.every((l) => /^(552 5\.3\.4|452 4\.3\.1)/.test(l))).toBe(true);
    // Each is kept as rejected and answered 250, so its sender does not send it again.
    expect(await Promise.all(malformedRuns)).toEqual(malformed.map(() => expect.stringMatching(/^250 /)));
    expect(await recipients).toMatch(/^452/);
    expect(await slow).toMatch(/^421 4\.4\.2/);
    expect((await Promise.all(honestRuns)).every((r) => /^250/.test(r))).toBe(true);

    const after = memoryOf(child.pid)!;
    const growthMb = after.peakRssMb - before.rssMb;
    console.log(
      `inbound listener RSS ${before.rssMb.toFixed(0)} MB before, peak ${after.peakRssMb.toFixed(0)} MB during the fuzz pass (+${growthMb.toFixed(0)} MB)`,
    );
    expect(growthMb).toBeLessThan(150);

    const recorded = await db()
      .select({ id: feedbackEvents.notificationId })
      .from(feedbackEvents)
      .where(
        inArray(
          feedbackEvents.notificationId,
          honest.map((b) => b.id),
        ),
      );
    expect(new Set(recorded.map((r) => r.id))).toEqual(new Set(honest.map((b) => b.id)));
    // And it still answers.
    const c = await rawSmtp(port);
    expect(await c.expect(/^\d{3} /)).toMatch(/^220 /);
    c.socket.destroy();
  }, 300_000);
});
