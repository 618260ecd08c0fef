import type { TlsRequirement } from './tls-policy.js';

/** Where one SMTP transaction goes: destination, fallbacks, source address, EHLO name and TLS rule. */
export interface SmtpRoute {
  host: string;
  port: number;
  /** The MX host name `host` (an address) was found under: the name a required certificate must carry. */
  mxName?: string;
  /** Further MX addresses in preference order, tried when `host` cannot be reached (no SMTP reply). */
  fallbackHosts?: { host: string; mxName?: string }[];
  localAddress?: string;
  ehloName?: string;
  secure?: boolean;
  /** STARTTLS with a verified certificate is required, and why (tls-policy.ts); absent: opportunistic. */
  tlsRequired?: TlsRequirement;
  /** Per-route pool limits from the provider rules (connections per IP, messages per connection). */
  maxConnections?: number;
  maxMessages?: number;
}
