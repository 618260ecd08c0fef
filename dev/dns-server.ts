// A real DNS server on loopback (UDP, via dns2) for tests and the dev run: it answers MX, A, TXT
// and CNAME records for made-up domains so the engine's own resolver path (node:dns Resolver
// pointed at this server) classifies providers, finds MX hosts and checks a tenant's sending
// domain records, with no internet. A CNAME is followed for other types, as a recursive resolver does.
import dns2 from 'dns2';

const { Packet } = dns2;

export interface DnsZone {
  /** name -> MX records (exchange + priority) */
  mx?: Record<string, { exchange: string; priority: number }[]>;
  /** name -> IPv4 addresses */
  a?: Record<string, string[]>;
  /** name -> TXT records (each one string; split into 255-octet strings on the wire) */
  txt?: Record<string, string[]>;
  /** name -> canonical name */
  cname?: Record<string, string>;
  /** zone apex -> SOA minimum in seconds (the negative-caching TTL, RFC 2308) */
  soa?: Record<string, number>;
  /** names whose every question fails with SERVFAIL */
  servfail?: string[];
  /** TTL of A and MX answers in seconds (300 when absent) */
  ttl?: number;
}

/** Adds a record to a zone (the dev run's /dev/dns endpoint and tests "publish" this way). */
export function publishRecord(zone: DnsZone, record: { type: 'TXT' | 'CNAME' | 'A'; host: string; value: string }): void {
  const host = record.host.toLowerCase().replace(/\.$/, '');
  if (record.type === 'CNAME') (zone.cname ??= {})[host] = record.value.toLowerCase().replace(/\.$/, '');
  else if (record.type === 'A') ((zone.a ??= {})[host] ??= []).push(record.value);
  else {
    const list = ((zone.txt ??= {})[host] ??= []);
    if (!list.includes(record.value)) list.push(record.value);
  }
}

/** Removes every record of a type at a host. */
export function unpublishRecord(zone: DnsZone, record: { type: 'TXT' | 'CNAME' | 'A'; host: string }): void {
  const host = record.host.toLowerCase().replace(/\.$/, '');
  if (record.type === 'CNAME') delete zone.cname?.[host];
  else if (record.type === 'A') delete zone.a?.[host];
  else delete zone.txt?.[host];
}

export interface DnsServer {
  host: string;
  port: number;
  /** "host:port", the form node's Resolver#setServers takes. */
  address: string;
  zone: DnsZone;
  /** Questions seen, "<TYPE> <name>", to check caching. */
  queries: string[];
  close(): Promise<void>;
}

export async function startDnsServer(opts: { host?: string; port?: number; zone: DnsZone }): Promise<DnsServer> {
  const host = opts.host ?? '127.0.0.1';
  const queries: string[] = [];
  const zone = opts.zone;
  const server = dns2.createServer({
    udp: true,
    handle(request, send) {
      const response = Packet.createResponseFromRequest(request);
      const [q] = request.questions;
      if (!q) return void send(response);
      let name = q.name.toLowerCase().replace(/\.$/, '');
      const typeName =
        q.type === Packet.TYPE.MX
          ? 'MX'
          : q.type === Packet.TYPE.A
            ? 'A'
            : q.type === Packet.TYPE.TXT
              ? 'TXT'
              : q.type === Packet.TYPE.CNAME
                ? 'CNAME'
                : q.type === Packet.TYPE.SOA
                  ? 'SOA'
                  : q.type;
      queries.push(`${typeName} ${name}`);
      let owner = q.name;
      const cname = zone.cname?.[name];
      if (cname) {
        answer(response, { name: owner, type: Packet.TYPE.CNAME, class: Packet.CLASS.IN, ttl: 300, domain: cname });
        if (q.type === Packet.TYPE.CNAME) return void send(response);
        owner = cname;
        name = cname;
      }
      const mx = zone.mx?.[name];
      const a = zone.a?.[name];
      const txt = zone.txt?.[name];
      const soa = zone.soa?.[name];
      const ttl = zone.ttl ?? 300;
      if (zone.servfail?.includes(name)) {
        response.header.rcode = Packet.RCODE.SERVFAIL;
      } else if (q.type === Packet.TYPE.MX && mx) {
        for (const r of mx)
          answer(response, { name: owner, type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl, exchange: r.exchange, priority: r.priority });
      } else if (q.type === Packet.TYPE.A && a) {
        for (const address of a) answer(response, { name: owner, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address });
      } else if (q.type === Packet.TYPE.SOA && soa !== undefined) {
        answer(response, {
          name: owner,
          type: Packet.TYPE.SOA,
          class: Packet.CLASS.IN,
          ttl: 3600,
          primary: `ns1.${name}`,
          admin: `hostmaster.${name}`,
          serial: 1,
          refresh: 3600,
          retry: 600,
          expiration: 86400,
          minimum: soa,
        });
      } else if (q.type === Packet.TYPE.TXT && txt) {
        for (const value of txt)
          answer(response, { name: owner, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 300, data: value.match(/.{1,255}/gs) ?? [''] });
      } else if (!cname && !mx && !a && !txt && soa === undefined) {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
      }
      void send(response);
    },
  });
  await server.listen({ udp: { port: opts.port ?? 0, address: host } });
  const port = (server.addresses().udp as { port: number }).port;
  return { host, port, address: `${host}:${port}`, zone, queries, close: () => server.close().then(() => undefined) };
}

// dns2's typings want a full Resource object; the encoder needs only these fields.
function answer(response: dns2.Packet, record: Partial<dns2.Packet.Resource>): void {
  response.answers.push(record as dns2.Packet.Resource);
}
