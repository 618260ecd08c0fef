// STARTTLS towards mail hosts. Opportunistic by default: the session is encrypted when the server
// offers STARTTLS, its certificate is not checked (most MX certificates name something else, so
// checking everywhere would stop mail without stopping an active attacker; RFC 7435). Where a
// provider rule (`requireTLS`) or the recipient domain's MTA-STS policy in enforce mode (RFC 8461)
// asks for it, STARTTLS is required and the certificate must chain to a trusted CA and name the
// MX host; anything less is a temporary failure, never a plaintext send.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/** Why a route must be verified TLS. */
export type TlsRequirement = 'provider-rule' | 'mta-sts';

/**
 * The CAs verified sessions trust: Node's bundled roots plus the operator's own (SMTP_TLS_CA_FILE,
 * PEM, for self-hosting and tests); undefined when there are none, i.e. Node's defaults.
 */
export function trustedCas(extraPemFile?: string): string[] | undefined {
  if (!extraPemFile) return undefined;
  const extra = readFileSync(extraPemFile, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!extra) throw new Error(`SMTP_TLS_CA_FILE ${extraPemFile} holds no PEM certificate`);
  return [...rootCertificates, ...extra];
}

/** nodemailer smtp-connection options for one route. */
export function smtpTlsOptions(route: { tlsRequired?: TlsRequirement; mxName?: string }, ca: string[] | undefined) {
  if (!route.tlsRequired) return { requireTLS: false, tls: { rejectUnauthorized: false } };
  // The route's host is an address: the name checked (and sent as SNI) is the MX host's.
  return { requireTLS: true, tls: { servername: route.mxName, rejectUnauthorized: true, minVersion: 'TLSv1.2' as const, ...(ca ? { ca } : {}) } };
}

const because: Record<TlsRequirement, string> = {
  'provider-rule': 'the provider rules require TLS',
  'mta-sts': "the recipient domain's MTA-STS policy requires TLS",
};

/** What went wrong, in the engine's words (never the socket's): stored on the attempt and shown to the tenant. */
export function tlsFailureText(requirement: TlsRequirement | undefined, message: string): string {
  const what = /Error upgrading connection with STARTTLS|does not support required STARTTLS/i.test(message)
    ? 'the mail server does not offer STARTTLS'
    : /altnames|does not match/i.test(message)
      ? 'its certificate does not name the MX host'
      : /expired|not yet valid/i.test(message)
        ? 'its certificate is expired or not yet valid'
        : /certificate|self.signed|issuer/i.test(message)
          ? 'its certificate is not from a trusted authority'
          : 'the TLS handshake failed';
  return requirement ? `TLS required (${because[requirement]}) but ${what}: not sent` : `STARTTLS with the mail server failed (${what})`;
}
