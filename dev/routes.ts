import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import { z } from 'zod';
import { publishRecord, unpublishRecord, type DnsServer } from './dns-server.js';
import type { FcmEndpoint } from './fcm-endpoint.js';
import type { SmtpInbox } from './smtp-inbox.js';

const DevRecord = z.object({ type: z.enum(['TXT', 'CNAME', 'A']), host: z.string().min(1).max(253), value: z.string().min(1).max(4096) });
/** One record, or anything with a `records` array (such as GET /v1/sending-domains/{domain}, piped as is). */
const DevPublish = z.union([DevRecord, z.object({ records: z.array(DevRecord) })]);

/**
 * Dev-only pages: what the local SMTP inbox and push endpoint received, and the zone of the dev
 * DNS server the engine resolves through (publish a domain's records there). Never mounted in production.
 */
export function devRoutes(inbox: SmtpInbox, fcm: FcmEndpoint, dns: DnsServer) {
  const app = new Hono();
  app.get('/dns', (c) => c.json({ server: dns.address, zone: dns.zone }));
  app.post('/dns', async (c) => {
    const parsed = DevPublish.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success)
      return c.json({ error: 'send {type, host, value} or {records: [{type, host, value}, ...]}', issues: parsed.error.issues }, 422);
    const records = 'records' in parsed.data ? parsed.data.records : [parsed.data];
    for (const r of records) publishRecord(dns.zone, r);
    return c.json({ published: records.map((r) => `${r.host} ${r.type} ${r.value.length > 60 ? `${r.value.slice(0, 57)}...` : r.value}`) }, 201);
  });
  app.delete('/dns', async (c) => {
    const parsed = DevRecord.omit({ value: true }).safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: 'send {type, host}' }, 422);
    unpublishRecord(dns.zone, parsed.data);
    return c.body(null, 204);
  });
  const summary = () =>
    inbox.messages
      .slice()
      .reverse()
      .map((m) => ({
        id: m.id,
        receivedAt: m.receivedAt,
        to: m.rcptTo,
        from: m.from,
        subject: m.subject,
        dkim: m.dkim.result,
        dkimDomain: m.dkim.domain,
        spf: m.spf.result,
        dmarc: m.dmarc.result,
        sourceIp: m.remoteAddress,
        ehlo: m.clientHostname,
      }));

  app.get('/inbox', (c) => {
    if (!(c.req.header('accept') ?? '').includes('text/html')) return c.json({ messages: summary() });
    return c.html(
      html`<!doctype html>
        <html>
          <head>
            <meta charset="utf-8" />
            <title>notiflow dev inbox</title>
            <style>
              body {
                font-family: system-ui, sans-serif;
                margin: 2rem;
              }
              table {
                border-collapse: collapse;
                width: 100%;
              }
              td,
              th {
                border-bottom: 1px solid #ddd;
                padding: 0.4rem;
                text-align: left;
              }
              .pass {
                color: #080;
              }
              .fail {
                color: #b00;
              }
            </style>
          </head>
          <body>
            <h1>Dev inbox</h1>
            <p>${inbox.messages.length} message(s). JSON: <code>curl ${c.req.url}</code></p>
            <table>
              <tr>
                <th>Received</th>
                <th>To</th>
                <th>Subject</th>
                <th>DKIM</th>
                <th>Source IP</th>
              </tr>
              ${summary().map(
                (m) =>
                  html`<tr>
                    <td>${m.receivedAt}</td>
                    <td>${m.to.join(', ')}</td>
                    <td><a href="/dev/inbox/${m.id}">${m.subject}</a></td>
                    <td class="${m.dkim}">${m.dkim}</td>
                    <td>${m.sourceIp}</td>
                  </tr>`,
              )}
            </table>
          </body>
        </html>`,
    );
  });

  app.get('/inbox/:id', (c) => {
    const m = inbox.messages.find((x) => x.id === c.req.param('id'));
    if (!m) return c.json({ error: 'no such message' }, 404);
    if (!(c.req.header('accept') ?? '').includes('text/html')) return c.json(m);
    // The message's own HTML, as a mail client would show it.
    return c.html(raw(m.html || `<pre>${m.text.replace(/</g, '&lt;')}</pre>`));
  });

  app.get('/push', (c) =>
    c.json({
      messages: fcm.received
        .slice()
        .reverse()
        .map((p) => ({ id: p.id, receivedAt: p.receivedAt, token: p.token, title: p.title, body: p.body, data: p.data })),
    }),
  );
  return app;
}
