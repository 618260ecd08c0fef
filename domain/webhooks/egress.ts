// Outbound HTTP for URLs a tenant chose (status webhooks). A tenant must not make the engine
// reach inside its own network: loopback, private, link-local (cloud metadata), CGNAT and other
// special ranges are refused, judged on the address the socket actually connected to, so a name
// that resolves to a public address when checked and to 127.0.0.1 when used (DNS rebinding)
// gets nowhere. Redirects are not followed, the answer's body is read up to a cap, every phase
// has a time-out. An operator running everything on one private network lists its ranges.
//
// Why our own undici connector rather than request-filtering-agent: that package filters an
// http.Agent, which Node's fetch and undici do not take; undici's connect hook sees the socket
// itself, which is the one place the connected address is known for certain.
import { BlockList, isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';

const deniedV4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;
const deniedV6 = [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const;

export class EgressRefused extends Error {
  constructor(readonly address: string) {
    super(`refused to connect to ${address}: not a public address (allow a private range with EGRESS_ALLOW_PRIVATE)`);
    this.name = 'EgressRefused';
  }
}

export interface EgressPolicy {
  /** True when the engine may connect to this address. */
  allows(address: string): boolean;
  dispatcher: Agent;
}

function ipList(entries: readonly (readonly [string, number])[], type: 'ipv4' | 'ipv6', list = new BlockList()): BlockList {
  for (const [address, bits] of entries) list.addSubnet(address, bits, type);
  return list;
}

/**
 * True for addresses the engine may connect to: public ones, and those in `allowPrivate` (CIDR
 * ranges or single addresses the operator opens, e.g. ["10.0.0.0/8"] for self-hosting). Shared by
 * tenant webhooks and direct MX delivery (domain/pool/route.ts).
 */
export function publicAddressCheck(allowPrivate: string[] = []): (address: string) => boolean {
  const denied = ipList(deniedV6, 'ipv6', ipList(deniedV4, 'ipv4'));
  const allowed = new BlockList();
  for (const entry of allowPrivate) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) allowed.addAddress(address, type);
    else allowed.addSubnet(address, Number(bits), type);
  }
  return (raw: string): boolean => {
    // An IPv4 address reached through IPv6 (::ffff:a.b.c.d) is judged as IPv4.
    const address = raw.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(address) === 0) return false;
    return allowed.check(address, type) || !denied.check(address, type);
  };
}

/** `allowPrivate`: CIDR ranges (or single addresses) the operator opens, e.g. ["10.0.0.0/8"] for self-hosting. */
export function createEgressPolicy(allowPrivate: string[] = [], opts: { connectTimeoutMs?: number } = {}): EgressPolicy {
  const allows = publicAddressCheck(allowPrivate);
  const connect = buildConnector({ timeout: opts.connectTimeoutMs ?? 5_000 });
  const dispatcher = new Agent({
    connect(options, callback) {
      connect(options, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('no socket'), null);
        const address = socket.remoteAddress ?? '';
        if (allows(address)) return callback(null, socket);
        socket.destroy();
        callback(new EgressRefused(address), null);
      });
    },
  });
  return { allows, dispatcher };
}

/** No address filter (the operator's own webhook), still no redirects, a body cap and time-outs. */
export function trustedEgress(): EgressPolicy {
  return { allows: () => true, dispatcher: new Agent({ connect: { timeout: 5_000 } }) };
}

export type PostResult = { ok: boolean; status: number | null; error?: string; refused?: boolean };

/** POSTs a body; the answer's body is read up to `maxBodyBytes` and thrown away (receivers only acknowledge). */
export async function postThrough(
  policy: EgressPolicy,
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs?: number; maxBodyBytes?: number } = {},
): Promise<PostResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  try {
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      dispatcher: policy.dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    let read = 0;
    for await (const chunk of res.body) {
      read += (chunk as Buffer).length;
      if (read > maxBodyBytes) {
        res.body.destroy();
        break;
      }
    }
    // A 3xx is an answer, not an acknowledgement: redirects are never followed.
    return { ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode };
  } catch (err) {
    const refused = err instanceof EgressRefused || (err as { cause?: unknown }).cause instanceof EgressRefused;
    return { ok: false, status: null, error: refused ? 'address refused' : ((err as { code?: string }).code ?? 'network error'), refused };
  }
}
