// The inbound SMTP listener for feedback: the MX of our return-path domains and the address
// feedback loops send ARF reports to. A report is answered 250 only once it is recorded (or kept
// as rejected), so a crash in between makes the sender retry rather than lose it.
import { SMTPServer } from 'smtp-server';
import { handleRawReport, type FeedbackDeps, type ReportResult } from './record.js';
import { listenSmtp } from './listen.js';

export interface InboundListenerOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Reports above this size are refused at DATA (552). */
  maxBytes?: number;
}

export interface InboundListener {
  host: string;
  port: number;
  /** Results in arrival order (tests wait on these). */
  results: ReportResult[];
  close(): Promise<void>;
}

const plainIp = (addr: string | undefined): string => (addr ?? '').replace(/^::ffff:/, '');

export async function startInboundListener(deps: FeedbackDeps, opts: InboundListenerOptions = {}): Promise<InboundListener> {
  const results: ReportResult[] = [];
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    banner: 'notiflow feedback',
    size: maxBytes,
    closeTimeout: 100,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          cb(Object.assign(new Error('Report too large'), { responseCode: 552 }));
          return;
        }
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          remoteAddress: plainIp(session.remoteAddress),
        };
        handleRawReport(deps, Buffer.concat(chunks).toString('utf8'), envelope).then(
          (result) => {
            results.push(result);
            cb();
          },
          (err: unknown) => {
            deps.logger?.error({ err }, 'feedback report could not be recorded');
            cb(Object.assign(new Error('Temporary failure recording the report, try again later'), { responseCode: 451 }));
          },
        );
      });
    },
  });

  const host = opts.host ?? '127.0.0.1';
  const port = await listenSmtp(server, host, opts.port ?? 0);
  return {
    host,
    port,
    results,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
