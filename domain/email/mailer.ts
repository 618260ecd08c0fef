// Pooled SMTP transports keyed by route (destination + source IP + EHLO name), so each
// sending IP keeps its own warm connections; DKIM is applied per message because the
// signing domain belongs to the tenant, not to the connection.
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';

export interface SmtpRoute {
  host: string;
  port: number;
  localAddress?: string;
  ehloName?: string;
  secure?: boolean;
  requireTLS?: boolean;
  /** Per-route pool limits from the provider rules (connections per IP, messages per connection). */
  maxConnections?: number;
  maxMessages?: number;
}

export interface DkimKey {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  envelopeFrom?: string;
  messageId?: string;
  dkim?: DkimKey;
}

export type SmtpOutcome =
  | { ok: true; response: string; messageId: string; remoteAddress?: string }
  | { ok: false; kind: 'transient' | 'permanent'; responseCode?: number; enhancedCode?: string; response: string; code?: string };

export interface Mailer {
  send(route: SmtpRoute, mail: OutgoingEmail): Promise<SmtpOutcome>;
  close(): Promise<void>;
  stats(): { transports: number };
}

/** pino-compatible subset; messages carry routes and SMTP replies, never addresses. */
export interface MailerLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Header fields the DKIM signature covers: nodemailer's default list (RFC 6376 section 5.4) plus
 * List-Unsubscribe-Post, which RFC 8058 section 4 requires signed next to List-Unsubscribe, and
 * Feedback-ID, which Gmail's feedback loop trusts only when signed.
 */
export const SIGNED_HEADERS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'Content-ID', 'Content-Description', 'In-Reply-To', 'References',
  'List-Id', 'List-Help', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
  'Feedback-ID', 'X-Notification-Id',
].join(':');

type Transport = ReturnType<typeof createPool>;

function createPool(route: SmtpRoute, maxConnections: number, maxMessages: number) {
  return nodemailer.createTransport({
    pool: true,
    host: route.host,
    port: route.port,
    localAddress: route.localAddress,
    name: route.ehloName,
    secure: route.secure ?? false,
    requireTLS: route.requireTLS ?? false,
    maxConnections,
    maxMessages,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
    logger: false, // nodemailer's own log lines include envelope addresses
  });
}

const routeKey = (e: SmtpRoute) =>
  [e.host, e.port, e.localAddress ?? '', e.ehloName ?? '', e.secure ? 's' : '', e.requireTLS ? 't' : '', e.maxConnections ?? '', e.maxMessages ?? ''].join('|');

export function createMailer(opts: { maxConnections?: number; maxMessages?: number; logger?: MailerLogger } = {}): Mailer {
  const transports = new Map<string, Transport>();
  const log = opts.logger;

  function transportFor(route: SmtpRoute): Transport {
    const key = routeKey(route);
    let t = transports.get(key);
    if (!t) {
      t = createPool(route, route.maxConnections ?? opts.maxConnections ?? 2, route.maxMessages ?? opts.maxMessages ?? 100);
      t.on('error', (err) => log?.warn({ route: key, err: err.message }, 'smtp pool error'));
      transports.set(key, t);
    }
    return t;
  }

  return {
    async send(route, mail) {
      const message: SendMailOptions = {
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        headers: mail.headers,
        messageId: mail.messageId,
        envelope: mail.envelopeFrom ? { from: mail.envelopeFrom, to: mail.to } : undefined,
        dkim: mail.dkim ? { ...mail.dkim, headerFieldNames: SIGNED_HEADERS } : undefined,
      };
      try {
        const info = await transportFor(route).sendMail(message);
        log?.debug({ route: routeKey(route), response: info.response }, 'smtp accepted');
        return { ok: true, response: info.response, messageId: info.messageId };
      } catch (err) {
        const outcome = classifySmtpError(err);
        log?.warn({ route: routeKey(route), kind: outcome.kind, responseCode: outcome.responseCode, code: outcome.code }, 'smtp send failed');
        return outcome;
      }
    },
    async close() {
      for (const t of transports.values()) t.close();
      transports.clear();
    },
    stats: () => ({ transports: transports.size }),
  };
}

type SmtpFailure = Extract<SmtpOutcome, { ok: false }>;

/** 5xx replies are permanent; 4xx replies and every network-level failure are worth retrying. */
export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (err ?? {}) as { responseCode?: number; response?: string; code?: string; message?: string };
  const response = e.response ?? e.message ?? String(err);
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const enhancedCode = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1];
  const kind = responseCode !== undefined && responseCode >= 500 ? 'permanent' : 'transient';
  return { ok: false, kind, responseCode, enhancedCode, response, code: e.code };
}
