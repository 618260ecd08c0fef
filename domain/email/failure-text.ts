// What a tenant reads about a failed SMTP try (GET /v1/notifications/{id}, audit, webhooks, the
// notification's error): the mail server's own reply when there is one, with addresses taken out;
// otherwise a reason in the engine's words. Socket errors ("connect ECONNREFUSED 10.1.2.3:25")
// name our network and our peers' addresses: they go to the operator's logs (by code), not to tenants.
import { redactAddresses } from '../failures/redact.js';

export function serverReplyText(reply: string): string {
  return redactAddresses(reply);
}

/** A connection-level failure (no SMTP reply) as the engine words it. */
export function connectionFailureText(err: { code?: string; message?: string }): string {
  const m = `${err.code ?? ''} ${err.message ?? ''}`;
  if (err.code === 'ECLOSED') return 'the sender was shutting down; the message was not sent';
  const cause = /ECONNREFUSED/.test(m)
    ? 'refused'
    : /ETIMEDOUT|timeout|timed out/i.test(m)
      ? 'timeout'
      : /EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ENOTFOUND/.test(m)
        ? 'unreachable'
        : /ECONNRESET|EPIPE|closed/i.test(m)
          ? 'closed before a reply'
          : 'network error';
  return `connection to the mail server failed (${cause})`;
}
