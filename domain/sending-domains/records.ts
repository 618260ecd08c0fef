// The DNS records a tenant publishes for a sending domain, and what each is for. The return path
// (envelope sender) lives on a subdomain whose CNAME points at the engine's inbound host: bounces
// reach the engine and SPF passes on the engine's own record, aligned with the From domain
// (relaxed DMARC alignment), without the tenant touching its own SPF.
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generateRsaKeyPair = promisify(generateKeyPair);

/** Workers LISTEN here and reload the tenant's signing key (payload: tenant id). */
export const DOMAIN_CHANGES_CHANNEL = 'notiflow_domain_changes';

/**
 * The label of the return-path subdomain: bounces+<attempt>@nfbounce.<domain>. DMARC aggregate
 * reports go to dmarc@nfbounce.<domain> too: the same organisational domain as the policy, so no
 * external-destination record is needed (RFC 7489 7.1), and its MX is the inbound listener.
 */
export const RETURN_PATH_LABEL = 'nfbounce';
/** DKIM keys alternate between these two selectors, so a rotation never overwrites the live record. */
export const DKIM_SELECTORS = ['nf1', 'nf2'] as const;

export interface MailDnsSettings {
  /** The engine's inbound host: return-path CNAMEs point here; its MX/A reach the inbound listener and its SPF lists every pool IP. */
  bounceHost: string;
  /** A host whose SPF record lists the engine's IPs, for the From domain's SPF include; absent: the pool's IPs are listed. */
  spfInclude?: string;
}

export type RecordPurpose = 'dkim' | 'dkim-next' | 'dkim-previous' | 'return-path' | 'spf' | 'dmarc';

export interface DnsRecord {
  purpose: RecordPurpose;
  type: 'TXT' | 'CNAME';
  host: string;
  value: string;
  /** Must this record pass for the domain to count as verified? */
  required: boolean;
}

export function dkimTxtValue(publicKeyBase64: string): string {
  return `v=DKIM1; k=rsa; p=${publicKeyBase64}`;
}

export const returnPathDomain = (domain: string) => `${RETURN_PATH_LABEL}.${domain}`;
export const dkimHost = (selector: string, domain: string) => `${selector}._domainkey.${domain}`;

export function spfValue(settings: MailDnsSettings, poolIps: string[]): string {
  if (settings.spfInclude) return `v=spf1 include:${settings.spfInclude} ~all`;
  const mechanisms = poolIps.map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`));
  return `v=spf1 ${mechanisms.join(' ')} ~all`;
}

/** Everything to publish for a domain, in the order a person would enter them. */
export function expectedRecords(
  d: {
    domain: string;
    dkimSelector: string;
    dkimPublicKey: string;
    pendingSelector: string | null;
    pendingPublicKey: string | null;
    retiredSelector: string | null;
    retiredPublicKey: string | null;
  },
  settings: MailDnsSettings,
  poolIps: string[],
): DnsRecord[] {
  const records: DnsRecord[] = [
    { purpose: 'dkim', type: 'TXT', host: dkimHost(d.dkimSelector, d.domain), value: dkimTxtValue(d.dkimPublicKey), required: true },
  ];
  if (d.pendingSelector && d.pendingPublicKey) {
    records.push({
      purpose: 'dkim-next',
      type: 'TXT',
      host: dkimHost(d.pendingSelector, d.domain),
      value: dkimTxtValue(d.pendingPublicKey),
      required: false,
    });
  }
  if (d.retiredSelector && d.retiredPublicKey) {
    records.push({
      purpose: 'dkim-previous',
      type: 'TXT',
      host: dkimHost(d.retiredSelector, d.domain),
      value: dkimTxtValue(d.retiredPublicKey),
      required: false,
    });
  }
  records.push(
    { purpose: 'return-path', type: 'CNAME', host: returnPathDomain(d.domain), value: settings.bounceHost, required: true },
    { purpose: 'spf', type: 'TXT', host: d.domain, value: spfValue(settings, poolIps), required: true },
    {
      purpose: 'dmarc',
      type: 'TXT',
      host: `_dmarc.${d.domain}`,
      value: `v=DMARC1; p=none; rua=mailto:dmarc@${returnPathDomain(d.domain)}`,
      required: true,
    },
  );
  return records;
}

/**
 * A fresh RSA 2048 DKIM key: the PEM private key (to encrypt) and the base64 DER public key (for DNS).
 * Generated on libuv's threadpool: ~150 ms of prime search must not stall the API's event loop.
 */
export async function generateDkimKey(): Promise<{ privateKeyPem: string; publicKeyBase64: string }> {
  const { privateKey, publicKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
