// Real sockets end to end: createMailer (pooled, DKIM-signing) -> startSmtpInbox (smtp-server + mailauth).
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMailer, type Mailer, type OutgoingEmail } from '../domain/email/mailer.js';
import { startSmtpInbox, type SmtpInbox } from '../dev/smtp-inbox.js';

const DOMAIN = 'bank.example';
const SELECTOR = 'nf2025';

function rsaKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicB64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

/** Answers only `<selector>._domainkey.<domain>` TXT, split into 255-byte strings as DNS does. */
function dkimResolver(publicB64: string) {
  return async (name: string, rrtype: string) => {
    if (rrtype === 'TXT' && name === `${SELECTOR}._domainkey.${DOMAIN}`) {
      return [`v=DKIM1; k=rsa; p=${publicB64}`.match(/.{1,255}/g) ?? []];
    }
    throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}

const mail = (privateKey?: string): OutgoingEmail => ({
  from: `Bank <alerts@${DOMAIN}>`,
  to: 'customer@inbox.test',
  subject: 'New sign-in to your account',
  text: 'A new device signed in.',
  html: '<p>A new device signed in.</p>',
  headers: { 'X-Notiflow-Id': 'n-123' },
  ...(privateKey && { dkim: { domainName: DOMAIN, keySelector: SELECTOR, privateKey } }),
});

describe('wire: SMTP', () => {
  const key = rsaKey();
  let inbox: SmtpInbox | undefined;
  let mailer: Mailer | undefined;

  afterEach(async () => {
    await mailer?.close();
    await inbox?.close();
    mailer = inbox = undefined;
  });

  it('delivers a DKIM-signed message from the chosen source address, and it verifies', async () => {
    inbox = await startSmtpInbox({ resolver: dkimResolver(key.publicB64) });
    mailer = createMailer();
    const route = { host: inbox.host, port: inbox.port, localAddress: '127.0.0.2', ehloName: 'mta2.bank.example' };

    const outcome = await mailer.send(route, mail(key.privatePem));
    expect(outcome).toMatchObject({ ok: true, response: expect.stringMatching(/^250/) });

    const [msg] = await inbox.waitFor(1);
    expect(msg).toMatchObject({
      remoteAddress: '127.0.0.2',
      clientHostname: 'mta2.bank.example',
      subject: 'New sign-in to your account',
      rcptTo: ['customer@inbox.test'],
      dkim: { result: 'pass', domain: DOMAIN, selector: SELECTOR },
    });
    expect(msg?.headers['x-notiflow-id']).toBe('n-123');
    expect(msg?.text.trim()).toBe('A new device signed in.');

    // the pooled transport for this route is reused
    await mailer.send(route, mail(key.privatePem));
    await inbox.waitFor(2);
    expect(mailer.stats().transports).toBe(1);
    expect(inbox.connections.filter((c) => c.remoteAddress === '127.0.0.2')).toHaveLength(1);
  });

  it("reports dkim 'fail' when signed with a key other than the published one, 'none' when unsigned", async () => {
    inbox = await startSmtpInbox({ resolver: dkimResolver(key.publicB64) });
    mailer = createMailer();
    const route = { host: inbox.host, port: inbox.port, localAddress: '127.0.0.3' };

    await mailer.send(route, mail(rsaKey().privatePem));
    await mailer.send(route, mail());
    const [wrongKey, unsigned] = await inbox.waitFor(2);
    expect(wrongKey?.dkim.result).toBe('fail');
    expect(wrongKey?.remoteAddress).toBe('127.0.0.3');
    expect(unsigned?.dkim.result).toBe('none');
  });

  it('classifies 451 at RCPT as transient and 550 at DATA as permanent', async () => {
    inbox = await startSmtpInbox({
      onRcpt: ({ attempt }) => (attempt === 1 ? { code: 451, message: '4.7.1 Try again later' } : undefined),
      onData: ({ remoteAddress }) => (remoteAddress === '127.0.0.3' ? { code: 550, message: '5.7.1 Listed at a blocklist' } : undefined),
    });
    mailer = createMailer();

    const deferred = await mailer.send({ host: inbox.host, port: inbox.port, localAddress: '127.0.0.2' }, mail());
    expect(deferred).toMatchObject({ ok: false, kind: 'transient', responseCode: 451, enhancedCode: '4.7.1' });

    const retried = await mailer.send({ host: inbox.host, port: inbox.port, localAddress: '127.0.0.2' }, mail());
    expect(retried.ok).toBe(true);

    const blocked = await mailer.send({ host: inbox.host, port: inbox.port, localAddress: '127.0.0.3' }, mail());
    expect(blocked).toMatchObject({ ok: false, kind: 'permanent', responseCode: 550, enhancedCode: '5.7.1' });
    expect(inbox.messages).toHaveLength(1);
  });

  it('tries each send once: a 421 that closes a reused connection comes back with its text and is not sent again', async () => {
    const rcpts: number[] = [];
    inbox = await startSmtpInbox({
      onRcpt: ({ attempt }) => {
        rcpts.push(attempt);
        return attempt === 2 || attempt === 4 ? { code: 421, message: '4.7.28 Unusual rate of unsolicited mail from your IP' } : undefined;
      },
    });
    mailer = createMailer();
    const route = { host: inbox.host, port: inbox.port, localAddress: '127.0.0.2' };

    expect((await mailer.send(route, mail())).ok).toBe(true);
    // The second message goes over the same (reused) connection; the server refuses it and hangs up.
    const refused = await mailer.send(route, mail());
    expect(refused).toMatchObject({
      ok: false,
      kind: 'transient',
      responseCode: 421,
      enhancedCode: '4.7.28',
      response: expect.stringContaining('Unusual rate'),
    });
    // The third opens a new connection; the fourth meets the 421 again on it.
    expect((await mailer.send(route, mail())).ok).toBe(true);
    expect(await mailer.send(route, mail())).toMatchObject({ ok: false, responseCode: 421 });
    await new Promise((r) => setTimeout(r, 1500)); // time for any re-send behind the caller's back
    expect(rcpts).toEqual([1, 2, 3, 4]);
    expect(inbox.messages).toHaveLength(2);
    expect(inbox.connections).toHaveLength(2);
  });

  it('classifies a refused connection as transient', async () => {
    // a port that was free a moment ago: nothing listens there now
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));

    mailer = createMailer();
    const outcome = await mailer.send({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, mail());
    expect(outcome).toMatchObject({ ok: false, kind: 'transient' });
    expect(outcome.ok === false && outcome.responseCode).toBeFalsy();
  });
});
