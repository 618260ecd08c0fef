// MTA-STS (RFC 8461): a recipient domain that publishes `_mta-sts.<domain>` TXT and a policy at
// https://mta-sts.<domain>/.well-known/mta-sts.txt says which MX hosts may receive its mail and,
// in "enforce" mode, that they must be reached over TLS with a certificate naming them.
//
// mailauth parses the TXT record (resolvePolicy), the policy file (parsePolicy) and matches MX
// names against it (validateMx). The HTTPS fetch is our own: mailauth's fetchPolicy has port 443
// and Node's default CAs fixed, reads any size of answer and connects to whatever address the name
// has; ours takes the operator's CAs, caps the body, follows no redirect and refuses the private
// addresses direct MX delivery refuses. Policies are cached for their max_age; the TXT id is
// looked up again at most every `idCheckMs`, and a changed id fetches the policy anew (section 3.3).
import { request } from 'node:https';
import { parsePolicy, resolvePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import type { DnsResolver } from './mx-lookup.js';

export interface StsPolicy {
  id: string;
  mode: 'enforce' | 'testing' | 'none';
  mx: string[];
  maxAgeSeconds: number;
}

export interface MtaSts {
  /** The domain's policy, or null when it publishes none (or none could be had and none is cached). */
  policyFor(domain: string): Promise<StsPolicy | null>;
}

export interface MtaStsOptions {
  resolver: Pick<DnsResolver, 'resolve4' | 'resolveTxt'>;
  /** True for addresses the policy host may have (the MX address check). */
  allows: (address: string) => boolean;
  /** CAs trusted for the policy host; absent: Node's roots. */
  ca?: string[];
  /** HTTPS port of policy hosts (443; tests serve on another). */
  port?: number;
  now?: () => number;
  idCheckMs?: number;
  timeoutMs?: number;
}

const MAX_POLICY_BYTES = 64 * 1024;

/** MX names a policy lets receive mail (all of them when it enforces nothing). */
export function mxAllowedBy(policy: StsPolicy | null, mxName: string): boolean {
  if (!policy || policy.mode !== 'enforce') return true;
  return validateMx(mxName, { mode: policy.mode, mx: policy.mx }).valid;
}

export function createMtaSts(opts: MtaStsOptions): MtaSts {
  const now = opts.now ?? Date.now;
  const idCheckMs = opts.idCheckMs ?? 5 * 60_000;
  const txt = async (name: string, type: string) => (type === 'TXT' ? opts.resolver.resolveTxt(name) : opts.resolver.resolve4(name));
  const cache = new Map<string, { policy: StsPolicy | null; expires: number; checkedUntil: number }>();
  const pending = new Map<string, Promise<StsPolicy | null>>();

  async function refresh(domain: string): Promise<StsPolicy | null> {
    const known = cache.get(domain);
    const stillValid = known && known.expires > now() ? known.policy : null;
    let id: string | false;
    try {
      id = await resolvePolicy(domain, { resolver: txt });
    } catch {
      // DNS trouble: a cached policy stays in force (section 5.1); without one, mail goes as before.
      cache.set(domain, { policy: stillValid, expires: known?.expires ?? 0, checkedUntil: now() + 30_000 });
      return stillValid;
    }
    if (!id || (stillValid && stillValid.id === id)) {
      // No record: a cached policy still holds until it expires (section 5.1).
      cache.set(domain, { policy: stillValid, expires: known?.expires ?? 0, checkedUntil: now() + idCheckMs });
      return stillValid;
    }
    try {
      const parsed = parsePolicy(await fetchPolicyText(domain));
      const policy: StsPolicy = {
        id,
        mode: parsed.mode as StsPolicy['mode'],
        mx: parsed.mx ?? [],
        maxAgeSeconds: Number(parsed.maxAge),
      };
      cache.set(domain, { policy, expires: now() + policy.maxAgeSeconds * 1000, checkedUntil: now() + idCheckMs });
      return policy;
    } catch {
      // A policy that cannot be fetched or parsed does not exist for this delivery (section 3.3); a cached one still holds.
      cache.set(domain, { policy: stillValid, expires: known?.expires ?? 0, checkedUntil: now() + idCheckMs });
      return stillValid;
    }
  }

  async function fetchPolicyText(domain: string): Promise<string> {
    const host = `mta-sts.${domain}`;
    const [address] = await opts.resolver.resolve4(host);
    if (!address) throw new Error(`${host} has no address`);
    if (!opts.allows(address)) throw new Error(`${host} resolves to a non-public address`);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: address,
          servername: host,
          port: opts.port ?? 443,
          path: '/.well-known/mta-sts.txt',
          headers: { host },
          rejectUnauthorized: true,
          ...(opts.ca ? { ca: opts.ca } : {}),
        },
        (res) => {
          // Section 3.3: only a 200 counts; redirects are not followed.
          if (res.statusCode !== 200) {
            res.destroy();
            return reject(new Error(`policy host answered ${res.statusCode}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY_BYTES) {
              res.destroy();
              reject(new Error('policy too large'));
            } else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      // A whole-fetch deadline: routing runs before the send's first heartbeat (15 s).
      const deadline = setTimeout(() => req.destroy(new Error('policy fetch timed out')), opts.timeoutMs ?? 5_000);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', reject);
      req.end();
    });
  }

  return {
    policyFor(raw) {
      const domain = raw.toLowerCase();
      const hit = cache.get(domain);
      if (hit && now() < hit.checkedUntil) return Promise.resolve(hit.expires > now() ? hit.policy : null);
      let p = pending.get(domain);
      if (!p) {
        p = refresh(domain).finally(() => pending.delete(domain));
        pending.set(domain, p);
      }
      return p;
    },
  };
}
