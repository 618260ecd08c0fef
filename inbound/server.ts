// The inbound SMTP listener for feedback: the MX of our return-path domains and the address
// feedback loops send ARF reports to. A report is answered 250 only once it is recorded (or kept
// as rejected), so a crash in between makes the sender retry rather than lose it. It faces the
// internet: memory, connections and time per sender are bounded (guards.ts).
import { SMTPServer } from 'smtp-server';
import { defaultLimits, guardServer, plainIp, type ListenerLimits } from './guards.js';
import { slidingMinute } from '../lib/sliding-window.js';
import type { ReportResult } from '../domain/feedback/record-report.js';
import { handleRawReport, type ListenerDeps } from './handle-report.js';
import { DmarcRefused } from './dmarc-unpack.js';
import { handleDmarcReport, isRuaAddress, type DmarcResult } from './dmarc-record.js';
import { listenSmtp } from './listen.js';

export interface InboundListenerOptions extends Partial<ListenerLimits> {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Certificate and key (PEM) for STARTTLS; without them STARTTLS is not offered. */
  tls?: { key: string; cert: string };
}

export interface InboundListener {
  host: string;
  port: number;
  /** Results in arrival order (tests wait on these). */
  results: (ReportResult | DmarcResult)[];
  close(): Promise<void>;
}

export async function startInboundListener(deps: ListenerDeps, opts: InboundListenerOptions = {}): Promise<InboundListener> {
  const results: (ReportResult | DmarcResult)[] = [];
  let buffered = 0;
  const perSource = slidingMinute(opts.reportsPerMinute ?? defaultLimits.reportsPerMinute);
  const limits: ListenerLimits = {
    ...defaultLimits,
    ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in defaultLimits && v !== undefined)),
  };
  const server: SMTPServer = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    banner: 'notiflow feedback',
    size: limits.maxBytes,
    maxClients: limits.maxConnections,
    maxRecipients: limits.maxRecipients,
    // No reverse lookup per connection: a sender must not be able to make us wait on its DNS.
    disableReverseLookup: true,
    socketTimeout: limits.commandTimeoutMs,
    closeTimeout: 100,
    onConnect(session, cb) {
      cb(guards.onConnect(session));
    },
    onClose(session) {
      guards.onClose(session);
    },
    onMailFrom(_address, session, cb) {
      if (perSource.hit(plainIp(session.remoteAddress))) return cb();
      cb(Object.assign(new Error('4.7.1 Too many reports from your address, try again later'), { responseCode: 451 }));
    },
    onRcptTo(address, session, cb) {
      // DMARC aggregate reports (to the rua address) and bounces/complaints are handled apart: one kind per message.
      const first = session.envelope.rcptTo[0];
      if (first && isRuaAddress(first.address) !== isRuaAddress(address.address))
        return cb(Object.assign(new Error('4.5.3 Send DMARC reports and other mail in separate messages'), { responseCode: 452 }));
      cb();
    },
    onSecure(socket, session, cb) {
      guards.onSecure(socket as never, session);
      cb();
    },
    onData(stream, session, cb) {
      const stopDeadline = guards.startData(session);
      const chunks: Buffer[] = [];
      let bytes = 0;
      let cut = false;
      // What this message holds of the shared budget, given back once it is handled or dropped.
      const release = () => {
        buffered -= bytes;
        bytes = 0;
        chunks.length = 0;
        stopDeadline();
      };
      const cutWith = (code: number, message: string) => {
        cut = true;
        release();
        guards.cut(session, code, message);
      };
      stream.on('data', (c: Buffer) => {
        if (cut) return;
        // Cut here rather than read (and drop) the rest of an oversized message.
        if (bytes + c.length > limits.maxBytes) return cutWith(552, `5.3.4 Report too large, the limit is ${limits.maxBytes} bytes`);
        if (buffered + c.length > limits.maxBufferedBytes) return cutWith(452, '4.3.1 Insufficient system storage, try again later');
        bytes += c.length;
        buffered += c.length;
        chunks.push(c);
      });
      stream.once('close', () => {
        if (!stream.readableEnded) release();
      });
      stream.on('end', () => {
        stopDeadline();
        if (cut) return;
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          remoteAddress: plainIp(session.remoteAddress),
        };
        const raw = Buffer.concat(chunks);
        const handled = envelope.rcptTo.some(isRuaAddress)
          ? handleDmarcReport(deps.db, raw, deps.dmarc)
          : handleRawReport(deps, raw.toString('utf8'), envelope);
        handled.then(
          (result) => {
            release();
            results.push(result);
            cb();
          },
          (err: unknown) => {
            release();
            if (err instanceof DmarcRefused) {
              results.push({ status: 'dmarc', outcome: 'refused', reason: err.reason });
              return cb(Object.assign(new Error(err.reason), { responseCode: err.code }));
            }
            deps.logger?.error({ err }, 'feedback report could not be recorded');
            cb(Object.assign(new Error('Temporary failure recording the report, try again later'), { responseCode: 451 }));
          },
        );
      });
    },
  });
  const guards = guardServer(server, limits);
  // A sender that vanishes mid-transaction is its own problem: without a listener smtp-server's
  // 'error' event (EPIPE, ECONNRESET) would end the process.
  server.on('error', (err: NodeJS.ErrnoException) => deps.logger?.debug({ code: err.code }, 'inbound connection error'));

  const host = opts.host ?? '127.0.0.1';
  const port = await listenSmtp(server, host, opts.port ?? 0);
  return {
    host,
    port,
    results,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
