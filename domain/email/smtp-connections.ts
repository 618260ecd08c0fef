// Warm SMTP connections of one route (destination + source IP + EHLO name), on nodemailer's
// smtp-connection. Each send is one SMTP transaction and one try: nothing here sends a message
// again (nodemailer's own pool re-sends on a new connection when a server closes one after a
// 421, so a provider would see tries the engine never recorded). The engine is the only one that
// retries, and it gets the server's own last reply of the transaction, even when the server hung
// up right after it.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpRoute } from './smtp-route.js';
import { smtpTlsOptions } from './tls-policy.js';

export type ConnectionOptions = SmtpRoute & {
  maxConnections: number;
  maxMessages: number;
  /** An idle connection is closed (QUIT) after this long. */
  idleMs?: number;
  /** CAs a required-TLS session trusts; absent: Node's roots. */
  ca?: string[];
};

export type TransactionResult = { ok: true; response: string } | { ok: false; responseCode?: number; response: string; code?: string };

interface Conn {
  smtp: SMTPConnection;
  messages: number;
  /** Server replies seen since this transaction began (the session's greeting and EHLO for a new one). */
  replies: string[];
  closed: boolean;
  idleTimer?: NodeJS.Timeout;
}

type SmtpError = Error & { responseCode?: number; response?: string; code?: string };

const failureReply = /^[45]\d\d[ -]/;
const tlsHandshake = /certificate|altnames|self[- ]signed|issuer|handshake|\bSSL\b|\bTLS\b/i;

export class RouteConnections {
  private readonly idle: Conn[] = [];
  private open = 0;
  private readonly waiting: (() => void)[] = [];
  private closing = false;

  constructor(private readonly opts: ConnectionOptions) {}

  get size(): number {
    return this.open;
  }

  /** One SMTP transaction for `raw` (the signed message); never repeated. */
  async send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<TransactionResult> {
    let conn = await this.acquire();
    if (!conn.ok) return conn.failure;
    let result = await this.transaction(conn.conn, envelope, raw);
    // A warm connection the server had already dropped answered nothing: the transaction never
    // began (no reply, no recipient seen), so it is not a try; it gets one fresh connection.
    if (!result.ok && result.noReply && conn.reused) {
      conn = await this.acquire(true);
      if (!conn.ok) return conn.failure;
      result = await this.transaction(conn.conn, envelope, raw);
    }
    const { noReply: _, ...outcome } = result as TransactionResult & { noReply?: boolean };
    return outcome;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.idle.splice(0)) this.quit(c);
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async acquire(fresh = false): Promise<{ ok: true; conn: Conn; reused: boolean } | { ok: false; failure: TransactionResult }> {
    for (;;) {
      if (this.closing) return { ok: false, failure: { ok: false, response: 'The mailer is closing', code: 'ECLOSED' } };
      const warm = fresh ? undefined : this.idle.pop();
      if (warm) {
        clearTimeout(warm.idleTimer);
        if (!warm.closed) return { ok: true, conn: warm, reused: true };
        continue;
      }
      if (this.open < this.opts.maxConnections) return this.connect();
      if (fresh && this.idle.length > 0) {
        // Make room for the fresh connection by closing a warm one.
        this.quit(this.idle.shift()!);
        continue;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private connect(): Promise<{ ok: true; conn: Conn; reused: false } | { ok: false; failure: TransactionResult }> {
    this.open++;
    const replies: string[] = [];
    const smtp = new SMTPConnection({
      host: this.opts.host,
      port: this.opts.port,
      localAddress: this.opts.localAddress,
      name: this.opts.ehloName,
      secure: this.opts.secure ?? false,
      ...smtpTlsOptions(this.opts, this.opts.ca),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 60_000,
      socketCloseTimeout: 1_000,
      // Only the server's replies are kept (client lines carry envelope addresses), and only
      // for the transaction under way: the reply that ended it, even if the socket closed after.
      transactionLog: true,
      logger: {
        debug: (entry: { tnx?: string } | undefined, line?: unknown) => {
          if (entry?.tnx === 'server' && typeof line === 'string') replies.push(line);
        },
      },
    });
    const conn: Conn = { smtp, messages: 0, replies, closed: false };
    const gone = () => {
      if (conn.closed) return;
      conn.closed = true;
      clearTimeout(conn.idleTimer);
      this.open--;
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      this.waiting.shift()?.();
    };
    return new Promise((resolve) => {
      let settled = false;
      const failed = (err: SmtpError) => {
        if (settled) return;
        settled = true;
        smtp.close();
        gone();
        resolve({ ok: false, failure: failureOf(err, replies) });
      };
      // Before the session is up, a refused or dropped connection arrives as 'error' or 'end';
      // later, errors also reach the pending send's callback (the listener keeps them from throwing).
      smtp.on('error', (err: SmtpError) => failed(err));
      smtp.once('end', () => {
        failed(Object.assign(new Error('Connection closed before the session began'), { code: 'ECONNECTION' }));
        gone();
      });
      smtp.connect((err) => {
        if (err) return failed(err as SmtpError);
        if (settled) return;
        settled = true;
        resolve({ ok: true, conn, reused: false });
      });
    });
  }

  private transaction(conn: Conn, envelope: { from: string; to: string[] }, raw: Buffer): Promise<TransactionResult & { noReply?: boolean }> {
    if (conn.messages > 0) conn.replies.length = 0;
    return new Promise((resolve) => {
      conn.smtp.send(envelope, raw, (err, info) => {
        conn.messages++;
        if (!err && info) {
          resolve({ ok: true, response: info.response });
          this.release(conn);
          return;
        }
        const e = err as SmtpError;
        const failure = failureOf(e, conn.replies);
        resolve(conn.replies.length === 0 && conn.messages > 1 ? { ...failure, noReply: true } : failure);
        // A refused message leaves the session usable (RSET); a 421 or a broken connection does not.
        if (!conn.closed && (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && failure.responseCode !== 421) {
          conn.smtp.reset((resetErr) => (resetErr ? this.quit(conn) : this.release(conn)));
        } else {
          this.quit(conn);
        }
      });
    });
  }

  private release(conn: Conn): void {
    if (conn.closed) return;
    if (this.closing || conn.messages >= this.opts.maxMessages) return this.quit(conn);
    conn.idleTimer = setTimeout(() => this.quit(conn), this.opts.idleMs ?? 30_000);
    conn.idleTimer.unref();
    this.idle.push(conn);
    this.waiting.shift()?.();
  }

  private quit(conn: Conn): void {
    if (conn.closed) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.smtp.quit();
    // quit() ends with 'end'; a dead socket may never answer, so it is closed shortly after.
    setTimeout(() => {
      if (!conn.closed) conn.smtp.close();
    }, 2_000).unref();
  }
}

/**
 * The server's reply when there is one: the error's own, else the last failure reply the server
 * sent in this transaction before the connection closed (a 421 and a hang-up).
 */
function failureOf(err: SmtpError, replies: string[]): Extract<TransactionResult, { ok: false }> {
  // No secure session (a refused STARTTLS included): the server's reply to it is not the answer to
  // this message. A handshake the certificate check failed arrives as a socket error.
  if (err.code === 'ETLS' || (err.code === 'ESOCKET' && tlsHandshake.test(err.message))) return { ok: false, response: err.message, code: 'ETLS' };
  if (typeof err.responseCode === 'number' && err.response)
    return { ok: false, responseCode: err.responseCode, response: err.response, code: err.code };
  const last = [...replies].reverse().find((r) => failureReply.test(r));
  if (last) return { ok: false, responseCode: Number(last.slice(0, 3)), response: last, code: err.code };
  return { ok: false, response: err.message, code: err.code };
}
