import type { Context } from 'hono';
import { isIP } from 'node:net';
import { cidrList } from '../lib/cidr.js';

// Which address a request came from, for limits that count per client. The socket peer is the
// client unless it is one of the operator's proxies (TRUSTED_PROXIES); then X-Forwarded-For is
// read from the right, each trusted proxy's hop skipped, and the first hop no trusted proxy wrote
// is the client (anything left of it the client may have written itself).

/** An IPv4 address as Node reports it on a dual-stack socket (::ffff:a.b.c.d) is that IPv4 address. */
function plain(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** One X-Forwarded-For hop without its port or brackets ("[2001:db8::1]:443", "192.0.2.1:8080"). */
function hopAddress(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return plain(bracketed[1]!);
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return plain(v4port ? v4port[1]! : hop);
}

/** Returns the client address of a request, given the proxies whose X-Forwarded-For is believed. */
export function clientAddressOf(trustedProxies: readonly string[] = []): (c: Context) => string {
  const trusted = cidrList(trustedProxies);
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (c) => {
    const socket = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket;
    // No socket: an in-process request (tests, the console's calls into the admin API).
    const peer = socket?.remoteAddress ? plain(socket.remoteAddress) : 'local';
    if (!trustedProxies.length || !isTrusted(peer)) return peer;
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((h) => hopAddress(h.trim()))
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) if (!isTrusted(hops[i]!)) return hops[i]!.slice(0, 64);
    // Every hop is a proxy of ours (or there is none): the left-most is as close to the client as we know.
    return hops[0] ?? peer;
  };
}
