// Limits for a listener that faces the internet: connections overall and per source address,
// and deadlines a slow sender cannot stretch (smtp-server's idle timeout restarts on every byte,
// so a client trickling one byte a second would hold a connection for ever).
import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';

export interface ListenerLimits {
  /** Messages above this size are cut at the cap: 552 and the connection closed, nothing more read. */
  maxBytes: number;
  /** Bytes of messages held at once over all connections; past it a message is refused 452 (try later). */
  maxBufferedBytes: number;
  /** Connections at once, overall and from one source address. */
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Recipients per transaction (a report has one; a flood of RCPT is refused). */
  maxRecipients: number;
  /** Reports (MAIL FROM) accepted per source address a minute; past it 451, try later. */
  reportsPerMinute: number;
  /** A command line (or a line of the message) must be complete within this time. */
  commandTimeoutMs: number;
  /** A whole message (DATA to the final dot) must be in within this time. */
  dataTimeoutMs: number;
  /** A connection lives at most this long. */
  sessionTimeoutMs: number;
}

export const defaultLimits: ListenerLimits = {
  // Reports are about our own alerts (tens of kB); a DSN or ARF quoting one in full stays far below.
  maxBytes: 2 * 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxConnections: 200,
  maxConnectionsPerIp: 10,
  maxRecipients: 50,
  reportsPerMinute: 120,
  commandTimeoutMs: 30_000,
  dataTimeoutMs: 300_000,
  sessionTimeoutMs: 600_000,
};

export const plainIp = (addr: string | undefined): string => (addr ?? '').replace(/^::ffff:/, '');

/** The parts of smtp-server's connection object used to answer before closing (its socket may be TLS by then). */
interface Connection {
  id: string;
  remoteAddress: string;
  remotePort: number;
  send(code: number, message: string): void;
  close(): void;
}

const connections = (server: SMTPServer) => (server as unknown as { connections: Set<Connection> }).connections;

/** Answers `code message` on the session's connection (through TLS if upgraded), closes it, and drops the socket soon after. */
function hangUp(server: SMTPServer, find: (c: Connection) => boolean, socket: Socket | undefined, code: number, message: string): void {
  const conn = [...connections(server)].find(find);
  if (conn) {
    conn.send(code, message);
    conn.close();
  }
  // smtp-server keeps reading (and discarding) after close() for a while; a sender pushing
  // 200 MB should meet a closed socket instead.
  if (socket) setTimeout(() => socket.destroy(), 200).unref();
}

type Peer = { remoteAddress: string; remotePort: number };

export interface Guards {
  /** smtp-server onConnect: refuses a source over its connection cap with 421. */
  onConnect(session: { id: string; remoteAddress: string }): Error | undefined;
  onClose(session: { id: string }): void;
  /** smtp-server onSecure: line deadlines follow the TLS socket from now on. */
  onSecure(socket: Socket, session: Peer): void;
  /** Starts the message deadline; returns a stop function. */
  startData(session: Peer): () => void;
  /** Cuts a transaction at once (message over the cap). */
  cut(session: Peer & { id: string }, code: number, message: string): void;
}

export function guardServer(server: SMTPServer, limits: ListenerLimits): Guards {
  const perIp = new Map<string, number>();
  const counted = new Map<string, string>(); // session id -> ip
  // By remote address and port: the same port is in use from many addresses at once.
  const sockets = new Map<string, { raw: Socket; lineTimer?: NodeJS.Timeout; onLine?: (chunk: Buffer) => void }>();
  const keyOf = (s: { remoteAddress?: string; remotePort?: number }) => `${plainIp(s.remoteAddress)}:${s.remotePort ?? 0}`;

  const timeOut = (key: string, what: string) => {
    const entry = sockets.get(key);
    hangUp(server, (c) => keyOf(c) === key, entry?.raw, 421, `4.4.2 ${what}, closing connection`);
  };

  // Each complete line restarts the line deadline; bytes without a line end do not.
  const watchLines = (key: string, socket: Socket) => {
    const entry = sockets.get(key);
    if (!entry) return;
    const arm = () => {
      clearTimeout(entry.lineTimer);
      entry.lineTimer = setTimeout(() => timeOut(key, 'Command not completed in time'), limits.commandTimeoutMs).unref();
    };
    arm();
    entry.onLine = (chunk: Buffer) => {
      if (chunk.includes(10)) arm();
    };
    socket.on('data', entry.onLine);
  };

  server.server.on('connection', (socket: Socket) => {
    const key = keyOf(socket);
    const entry: { raw: Socket; lineTimer?: NodeJS.Timeout } = { raw: socket };
    sockets.set(key, entry);
    // After smtp-server has piped the socket to its parser (queued the same way), so no early byte is taken from it.
    setImmediate(() => watchLines(key, socket));
    const lifetime = setTimeout(() => timeOut(key, 'Session too long'), limits.sessionTimeoutMs).unref();
    socket.once('close', () => {
      clearTimeout(lifetime);
      clearTimeout(entry.lineTimer);
      if (sockets.get(key) === entry) sockets.delete(key);
    });
  });

  return {
    onConnect(session) {
      const ip = plainIp(session.remoteAddress);
      const n = perIp.get(ip) ?? 0;
      if (n >= limits.maxConnectionsPerIp)
        return Object.assign(new Error('4.7.0 Too many connections from your address, try again later'), { responseCode: 421 });
      perIp.set(ip, n + 1);
      counted.set(session.id, ip);
      return undefined;
    },
    onClose(session) {
      const ip = counted.get(session.id);
      if (ip === undefined) return;
      counted.delete(session.id);
      const n = (perIp.get(ip) ?? 1) - 1;
      if (n > 0) perIp.set(ip, n);
      else perIp.delete(ip);
    },
    onSecure(socket, session) {
      const entry = sockets.get(keyOf(session));
      if (!entry) return;
      // The raw socket now carries TLS records: line ends are found on the decrypted stream.
      if (entry.onLine) entry.raw.off('data', entry.onLine);
      watchLines(keyOf(session), socket);
    },
    startData(session) {
      const timer = setTimeout(() => timeOut(keyOf(session), 'Message not received in time'), limits.dataTimeoutMs).unref();
      return () => clearTimeout(timer);
    },
    cut(session, code, message) {
      hangUp(server, (c) => c.id === session.id, sockets.get(keyOf(session))?.raw, code, message);
    },
  };
}
