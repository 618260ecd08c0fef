// Warm SMTP connections kept per route (destination + source IP + EHLO name), so each
// sending IP keeps its own warm connections; DKIM is applied per message because the
// signing domain belongs to the tenant, not to the connection. One try per send (smtp-connections.ts).
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';
import { RouteConnections, type TransactionResult } from './smtp-connections.js';
import type { SmtpRoute } from './smtp-route.js';
import { connectionFailureText, serverReplyText } from './failure-text.js';
import { tlsFailureText, type TlsRequirement } from './tls-policy.js';

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
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'Feedback-ID',
  'X-Notification-Id',
].join(':');

/** Composes and DKIM-signs a message into its raw bytes, nothing sent (nodemailer's stream transport). */
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

const routeKey = (e: SmtpRoute) =>
  [
    e.host,
    e.mxName ?? '',
    e.port,
    e.localAddress ?? '',
    e.ehloName ?? '',
    e.secure ? 's' : '',
    e.tlsRequired ?? '',
    e.maxConnections ?? '',
    e.maxMessages ?? '',
  ].join('|');

export function createMailer(
  opts: {
    maxConnections?: number;
    maxMessages?: number;
    logger?: MailerLogger;
    /** CAs a required-TLS session trusts (tls-policy.ts trustedCas); absent: Node's roots. */
    tlsCa?: string[];
  } = {},
): Mailer {
  const routes = new Map<string, RouteConnections>();
  const log = opts.logger;

  function connectionsFor(route: SmtpRoute): RouteConnections {
    const key = routeKey(route);
    let p = routes.get(key);
    if (!p) {
      p = new RouteConnections({
        ...route,
        ca: opts.tlsCa,
        maxConnections: route.maxConnections ?? opts.maxConnections ?? 2,
        maxMessages: route.maxMessages ?? opts.maxMessages ?? 100,
      });
      routes.set(key, p);
    }
    return p;
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
      const built = await composer.sendMail(message);
      const envelope = { from: built.envelope.from || '', to: built.envelope.to };
      // The next MX host only when this one gave no SMTP reply at all (unreachable, or gone before
      // its greeting): a reply, even a 4xx, is the provider's answer to this try.
      const { fallbackHosts = [], ...primary } = route;
      let result: TransactionResult = { ok: false, response: 'no mail host' };
      for (const target of [{ host: primary.host, mxName: primary.mxName }, ...fallbackHosts]) {
        result = await connectionsFor({ ...primary, ...target }).send(envelope, built.message as Buffer);
        if (result.ok || result.responseCode !== undefined) break;
      }
      if (result.ok) {
        log?.debug({ route: routeKey(route), response: result.response }, 'smtp accepted');
        return { ok: true, response: result.response, messageId: built.messageId };
      }
      const outcome = classifySmtpError(result, route.tlsRequired);
      // The operator's log keeps the socket's own words for a failure without an SMTP reply (no addresses of people in them).
      const detail = outcome.responseCode === undefined ? serverReplyText(result.response) : undefined;
      log?.warn({ route: routeKey(route), kind: outcome.kind, responseCode: outcome.responseCode, code: outcome.code, detail }, 'smtp send failed');
      return outcome;
    },
    async close() {
      await Promise.all([...routes.values()].map((p) => p.close()));
      routes.clear();
    },
    stats: () => ({ transports: routes.size }),
  };
}

type SmtpFailure = Extract<SmtpOutcome, { ok: false }>;

/**
 * 5xx replies are permanent; 4xx replies and every network-level failure (a TLS one included) are
 * worth retrying. `response` is what the tenant may read: the server's reply without addresses, or
 * the engine's wording of a failure that had none (failure-text.ts).
 */
export function classifySmtpError(err: unknown, tlsRequired?: TlsRequirement): SmtpFailure {
  const e = (err ?? {}) as { responseCode?: number; response?: string; code?: string; message?: string };
  const raw = e.response ?? e.message ?? String(err);
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (responseCode === undefined) {
    const response = e.code === 'ETLS' ? tlsFailureText(tlsRequired, raw) : connectionFailureText({ code: e.code, message: raw });
    return { ok: false, kind: 'transient', response, code: e.code };
  }
  const response = serverReplyText(raw);
  const enhancedCode = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1];
  const kind = responseCode >= 500 ? 'permanent' : 'transient';
  return { ok: false, kind, responseCode, enhancedCode, response, code: e.code };
}
