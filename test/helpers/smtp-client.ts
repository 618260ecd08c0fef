// A bare SMTP client over a socket, for talking to the listener the way a hostile or broken
// sender would (nodemailer is too polite: it never trickles, floods or pipelines 10,000 RCPTs).
import { connect, type Socket } from 'node:net';

export interface RawSmtp {
  socket: Socket;
  /** Every reply line received so far. */
  lines: string[];
  /** Resolves with the next reply line matching `re` (or rejects when the connection closes first). */
  expect(re: RegExp, timeoutMs?: number): Promise<string>;
  send(line: string): void;
  /** Writes a chunk, waiting for drain; false once the connection is gone. */
  write(chunk: Buffer | string): Promise<boolean>;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function rawSmtp(port: number, opts: { localAddress?: string; host?: string } = {}): Promise<RawSmtp> {
  const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
  const lines: string[] = [];
  let buffer = '';
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    let i;
    while ((i = buffer.indexOf('\r\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 2);
    }
    wake();
  });
  socket.on('error', () => undefined);
  const closedP = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      wake();
      resolve();
    }),
  );
  let seen = 0;
  const client: RawSmtp = {
    socket,
    lines,
    expect(re, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          for (; seen < lines.length; seen++) {
            if (re.test(lines[seen]!)) {
              const line = lines[seen++]!;
              done();
              return resolve(line);
            }
          }
          if (closed) {
            done();
            reject(new Error(`connection closed before a reply matching ${re}; got: ${lines.join(' | ')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no reply matching ${re} within ${timeoutMs} ms; got: ${lines.join(' | ')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    send(line) {
      if (!closed && socket.writable) socket.write(`${line}\r\n`);
    },
    async write(chunk) {
      if (closed || !socket.writable) return false;
      if (socket.write(chunk)) return true;
      await Promise.race([new Promise((r) => socket.once('drain', r)), closedP]);
      return !closed && socket.writable;
    },
    closed: closedP,
    isClosed: () => closed,
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}

/** Opens a session up to DATA's 354 (EHLO, MAIL, one RCPT). */
export async function openData(port: number, opts: { localAddress?: string; to?: string } = {}): Promise<RawSmtp> {
  const c = await rawSmtp(port, opts);
  await c.expect(/^220 /);
  c.send('EHLO fuzz.test');
  await c.expect(/^250 /);
  c.send('MAIL FROM:<>');
  await c.expect(/^250/);
  c.send(`RCPT TO:<${opts.to ?? 'fbl@bank.test'}>`);
  await c.expect(/^250/);
  c.send('DATA');
  await c.expect(/^354/);
  return c;
}
