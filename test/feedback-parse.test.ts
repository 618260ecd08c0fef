import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attemptFromReturnPath, returnPathFor } from '../domain/email/return-path.js';
import { notificationUnsubscribeToken } from '../domain/feedback/unsubscribe-token.js';
import { dnsblName } from '../domain/monitor/dnsbl.js';
import { signWebhook, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { createSecretBox } from '../config/secrets.js';
import { classifyBounce } from '../domain/feedback/bounce-class.js';
import { MalformedReport, parseReport } from '../inbound/parse-report.js';
import { arfReport, dsnReport, qmailBounce } from './helpers/feedback-mail.js';

const secrets = createSecretBox(randomBytes(32));
const original =
  'Message-ID: <0b7f3a52-8d5e-4c55-9d1e-7c1f0e6a1b2c@bank.test>\r\nX-Notification-Id: 0b7f3a52-8d5e-4c55-9d1e-7c1f0e6a1b2c\r\nSubject: Hello';

describe('bounce classification', () => {
  it.each([
    [{ status: '5.1.1', diagnostic: '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown' }, 'hard', 'unknown_user'],
    [{ status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full' }, 'soft', 'mailbox_full'],
    [{ status: '4.2.2', diagnostic: '452 4.2.2 The email account is over quota', action: 'delayed' }, 'soft', 'mailbox_full'],
    [{ status: '5.7.1', diagnostic: '554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using zen.spamhaus.org' }, 'hard', 'blocklisted'],
    [{ status: '5.7.1', diagnostic: '550 5.7.1 Our system has detected that this message is likely unsolicited mail' }, 'hard', 'spam_block'],
    [{ status: '5.7.26', diagnostic: '550 5.7.26 Unauthenticated email is not accepted due to DMARC policy' }, 'hard', 'auth_failed'],
    [{ status: '5.7.1', diagnostic: '550 5.7.1 Relaying denied' }, 'hard', 'policy'],
    [{ status: '4.7.0', diagnostic: '421 4.7.0 [TSS04] Messages temporarily deferred' }, 'soft', 'rate_limited'],
    [{ status: '5.1.2', diagnostic: '550 5.1.2 Host not found' }, 'hard', 'bad_domain'],
    // A local part that contains "spam" is not a spam block.
    [{ status: '5.1.1', diagnostic: '550 5.1.1 <nospam@example.com>: user unknown' }, 'hard', 'unknown_user'],
  ])('%o is %s / %s', (input, type, cls) => {
    expect(classifyBounce(input)).toEqual({ type, class: cls });
  });
});

describe('report parsing', () => {
  it('reads an RFC 3464 DSN: recipient fields and the original headers', async () => {
    const raw = dsnReport({
      to: 'x@bank.test',
      recipient: 'bob@example.com',
      status: '5.1.1',
      diagnostic: '550 5.1.1 User unknown',
      originalHeaders: original,
    });
    const r = await parseReport(raw);
    expect(r).toMatchObject({
      kind: 'dsn',
      recipients: [{ finalRecipient: 'bob@example.com', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 User unknown' }],
      original: { notificationId: '0b7f3a52-8d5e-4c55-9d1e-7c1f0e6a1b2c' },
    });
  });

  it('reads an RFC 5965 ARF report', async () => {
    const r = await parseReport(arfReport({ to: 'fbl@bank.test', sourceIp: '127.0.0.2', originalHeaders: original }));
    expect(r).toMatchObject({
      kind: 'arf',
      feedbackType: 'abuse',
      sourceIp: '127.0.0.2',
      original: { notificationId: '0b7f3a52-8d5e-4c55-9d1e-7c1f0e6a1b2c' },
    });
  });

  it('reads a non-standard qmail bounce from the null sender', async () => {
    const r = await parseReport(qmailBounce({ to: 'x@bank.test', recipient: 'bob@example.com', originalHeaders: original }), { mailFrom: '' });
    expect(r).toMatchObject({ kind: 'plain-bounce', diagnostic: 'Sorry, no mailbox here by that name. (#5.1.1)' });
    if (r.kind === 'plain-bounce') expect(classifyBounce({ diagnostic: r.diagnostic })).toEqual({ type: 'hard', class: 'unknown_user' });
  });

  it('refuses truncated MIME and unknown report types with a reason', async () => {
    const raw = dsnReport({ to: 'x@bank.test', recipient: 'bob@example.com', status: '5.1.1', diagnostic: '550', originalHeaders: original });
    await expect(parseReport(raw.slice(0, raw.indexOf('Action:')))).rejects.toThrow(/truncated MIME/);
    await expect(parseReport(raw.replace('report-type=delivery-status', 'report-type=disposition-notification'))).rejects.toThrow(
      /unknown report type: disposition-notification/,
    );
    await expect(parseReport('Subject: hello\r\n\r\njust a message', { mailFrom: 'someone@x.test' })).rejects.toBeInstanceOf(MalformedReport);
  });
});

describe('signed addresses and links', () => {
  it('VERP return paths name the attempt and refuse forgery', () => {
    const attemptId = randomUUID();
    const rp = returnPathFor(secrets, attemptId, 'bank.test');
    expect(rp).toMatch(/^bounces\+[0-9a-f]{32}\.[0-9a-f]{16}@bank\.test$/);
    expect(rp.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(attemptFromReturnPath(secrets, rp)).toBe(attemptId);
    expect(attemptFromReturnPath(secrets, rp.toUpperCase())).toBe(attemptId);
    const forged = rp.replace(/\.([0-9a-f])/, (_, c: string) => `.${c === '0' ? '1' : '0'}`);
    expect(attemptFromReturnPath(secrets, forged)).toBeNull();
    expect(attemptFromReturnPath(createSecretBox(randomBytes(32)), rp)).toBeNull();
  });

  it('unsubscribe tokens are opaque: 32 keyed-hash bytes, the same for one notification, different for another', () => {
    const id = randomUUID();
    const token = notificationUnsubscribeToken(secrets, id);
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(notificationUnsubscribeToken(secrets, id)).toBe(token);
    expect(notificationUnsubscribeToken(secrets, randomUUID())).not.toBe(token);
    expect(notificationUnsubscribeToken(createSecretBox(randomBytes(32)), id)).not.toBe(token);
    const bytes = Buffer.from(token, 'base64url');
    expect(bytes).toHaveLength(32);
    expect(bytes.toString('latin1')).not.toContain(id);
  });

  it('webhook signatures bind body and time', () => {
    const header = signWebhook('s3cret', '{"a":1}');
    expect(verifyWebhookSignature('s3cret', header, '{"a":1}')).toBe(true);
    expect(verifyWebhookSignature('s3cret', header, '{"a":2}')).toBe(false);
    expect(verifyWebhookSignature('other', header, '{"a":1}')).toBe(false);
    expect(verifyWebhookSignature('s3cret', signWebhook('s3cret', '{"a":1}', Date.now() - 3_600_000), '{"a":1}')).toBe(false);
  });

  it('DNSBL names reverse the address', () => {
    expect(dnsblName('127.0.0.3', 'bl.test')).toBe('3.0.0.127.bl.test');
    expect(dnsblName('2001:db8::1', 'bl.test')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test');
  });
});
