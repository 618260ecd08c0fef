// A real SMTP receiver for tests and the dev run: it sees the connecting source address
// (so loopback aliases stand in for sending IPs), verifies DKIM with an injected resolver,
// and can answer with chosen SMTP replies to exercise the sender's failure handling.
import { randomUUID } from 'node:crypto';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type AddressObject } from 'mailparser';
import { authenticate } from 'mailauth';
import { arrivals } from './arrivals.js';
import { listenSmtp } from '../inbound/listen.js';

export interface ReceivedMessage {
  id: string;
  receivedAt: string;
  remoteAddress: string;
  clientHostname: string;
  mailFrom: string;
  rcptTo: string[];
  subject: string;
  from: string;
  to: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  /** The session was upgraded with STARTTLS. */
  secure: boolean;
  dkim: { result: 'pass' | 'fail' | 'neutral' | 'none' | string; domain?: string; selector?: string; info?: string };
  /** SPF of the envelope sender's domain, and DMARC with the domains that aligned (mailauth). */
  spf: { result: string; domain?: string };
  dmarc: { result: string; spfAligned?: string; dkimAligned?: string };
  raw: string;
}

export type SmtpReply = { code: number; message: string } | undefined;

export interface SmtpInboxOptions {
  host?: string;
  port?: number; // port 0 = ephemeral
  /** mailauth-compatible DNS resolver: (name, rrtype) => Promise<string[][] | ...>, used to verify DKIM (and SPF). */
  resolver?: (name: string, rrtype: string) => Promise<unknown>;
  /** Fault injection per RCPT; return undefined to accept. `attempt` counts RCPT calls, 1-based. */
  onRcpt?: (ctx: { remoteAddress: string; rcpt: string; attempt: number }) => SmtpReply | Promise<SmtpReply>;
  /** Fault injection per DATA; return undefined to accept. `attempt` counts DATA calls, 1-based. */
  onData?: (ctx: { remoteAddress: string; rcptTo: string[]; attempt: number; raw: string }) => SmtpReply | Promise<SmtpReply>;
  /** Offer STARTTLS with this certificate (PEM); absent: no STARTTLS. */
  tls?: { key: string; cert: string };
}

export interface SmtpInbox {
  host: string;
  port: number;
  messages: ReceivedMessage[];
  /** resolves when `n` messages have arrived (or rejects after timeoutMs) */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  connections: Array<{ remoteAddress: string; openedAt: number; closedAt?: number }>;
  clear(): void;
  close(): Promise<void>;
}

type MailauthResolver = NonNullable<Parameters<typeof authenticate>[1]>['resolver'];

// Without an injected resolver nothing resolves: no lookups leave the machine, keys show as missing.
const noDns = async (name: string): Promise<never> => {
  throw Object.assign(new Error(`no DNS for ${name}`), { code: 'ENOTFOUND' });
};

// IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d
const plainIp = (addr: string | undefined): string => (addr ?? '').replace(/^::ffff:/, '');

const replyError = (reply: { code: number; message: string }): Error => Object.assign(new Error(reply.message), { responseCode: reply.code });

export async function startSmtpInbox(opts: SmtpInboxOptions = {}): Promise<SmtpInbox> {
  const messages: ReceivedMessage[] = [];
  const connections: SmtpInbox['connections'] = [];
  const openBySession = new Map<string, SmtpInbox['connections'][number]>();
  const arrived = arrivals(messages, 'smtp inbox');
  const resolver = (opts.resolver ?? noDns) as MailauthResolver;
  let rcptAttempts = 0;
  let dataAttempts = 0;

  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    banner: 'notiflow dev inbox',
    closeTimeout: 100,
    onConnect(session, cb) {
      const entry = { remoteAddress: plainIp(session.remoteAddress), openedAt: Date.now() };
      connections.push(entry);
      openBySession.set(session.id, entry);
      cb();
    },
    onClose(session) {
      const entry = openBySession.get(session.id);
      if (entry) entry.closedAt = Date.now();
      openBySession.delete(session.id);
    },
    onRcptTo(address, session, cb) {
      const ctx = { remoteAddress: plainIp(session.remoteAddress), rcpt: address.address, attempt: ++rcptAttempts };
      Promise.resolve(opts.onRcpt?.(ctx)).then(
        (reply) => cb(reply ? replyError(reply) : undefined),
        (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
      );
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        receive(raw, session).then(
          (reply) => cb(reply ? replyError(reply) : undefined),
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
        );
      });
    },
  });

  async function receive(raw: string, session: SMTPServerSession): Promise<SmtpReply> {
    const remoteAddress = plainIp(session.remoteAddress);
    const rcptTo = session.envelope.rcptTo.map((r) => r.address);
    const reply = await opts.onData?.({ remoteAddress, rcptTo, attempt: ++dataAttempts, raw });
    if (reply) return reply;
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const [parsed, auth] = await Promise.all([
      simpleParser(raw),
      authenticate(raw, {
        ip: remoteAddress,
        helo: session.hostNameAppearsAs,
        sender: mailFrom,
        mta: 'inbox.notiflow.test',
        resolver,
        disableArc: true,
        disableBimi: true,
      }),
    ]);
    const sig = auth.dkim.results[0];
    messages.push({
      id: randomUUID(),
      receivedAt: new Date().toISOString(),
      remoteAddress,
      clientHostname: session.hostNameAppearsAs,
      secure: session.secure,
      mailFrom,
      rcptTo,
      subject: parsed.subject ?? '',
      from: parsed.from?.text ?? '',
      to: addressText(parsed.to),
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : '',
      headers: headerMap(parsed.headerLines),
      dkim: {
        result: sig?.status.result ?? 'none',
        domain: sig?.signingDomain,
        selector: sig?.selector,
        info: sig?.info,
      },
      spf: { result: auth.spf ? auth.spf.status.result : 'none', domain: auth.spf ? auth.spf.domain : undefined },
      dmarc: dmarcOf(auth.dmarc),
      raw,
    });
    arrived.notify();
    return undefined;
  }

  const host = opts.host ?? '127.0.0.1';
  const port = await listenSmtp(server, host, opts.port ?? 0);

  return {
    host,
    port,
    messages,
    connections,
    waitFor: arrived.waitFor,
    clear() {
      messages.length = 0;
      connections.length = 0;
      rcptAttempts = 0;
      dataAttempts = 0;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // smtp-server reports closed sessions a few ticks after the listener closes
      for (let i = 0; i < 50 && openBySession.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

function addressText(a: AddressObject | AddressObject[] | undefined): string {
  if (!a) return '';
  return Array.isArray(a) ? a.map((x) => x.text).join(', ') : a.text;
}

// Lower-cased name -> unfolded value; repeated headers (Received) are joined by newlines.
function headerMap(lines: ReadonlyArray<{ key: string; line: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, line } of lines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    out[key] = key in out ? `${out[key]}\n${value}` : value;
  }
  return out;
}

function dmarcOf(d: unknown): ReceivedMessage['dmarc'] {
  const r = (d ?? {}) as { status?: { result?: string }; alignment?: { spf?: { result?: string | false }; dkim?: { result?: string | false } } };
  return {
    result: r.status?.result ?? 'none',
    spfAligned: r.alignment?.spf?.result || undefined,
    dkimAligned: r.alignment?.dkim?.result || undefined,
  };
}
