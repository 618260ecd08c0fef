// A real DNS server on loopback (UDP, via dns2) for tests and the dev run: it answers MX and A
// records for made-up recipient domains so the engine's own resolver path (node:dns Resolver
// pointed at this server) classifies providers and finds MX hosts, with no internet.
import dns2 from 'dns2';

const { Packet } = dns2;

export interface DnsZone {
  /** name -> MX records (exchange + priority) */
  mx?: Record<string, { exchange: string; priority: number }[]>;
  /** name -> IPv4 addresses */
  a?: Record<string, string[]>;
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
      const name = q.name.toLowerCase().replace(/\.$/, '');
      queries.push(`${q.type === Packet.TYPE.MX ? 'MX' : q.type === Packet.TYPE.A ? 'A' : q.type} ${name}`);
      const mx = zone.mx?.[name];
      const a = zone.a?.[name];
      if (q.type === Packet.TYPE.MX && mx) {
        for (const r of mx) answer(response, { name: q.name, type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl: 300, exchange: r.exchange, priority: r.priority });
      } else if (q.type === Packet.TYPE.A && a) {
        for (const address of a) answer(response, { name: q.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 300, address });
      } else if (!mx && !a) {
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
