// Mailbox-provider stand-ins for the chaos run: one SMTP server per provider on its own loopback
// address, each noting when it answered 250 for which X-Notification-Id, and cutting a share of
// connections in the middle of DATA (the engine must retry those; the receiver kept nothing).
import type { Server, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Arrival {
  notificationId: string;
  /** Epoch ms just before the 250 went out. */
  at: number;
  receiver: string;
}

export interface ChaosReceivers {
  arrivals: Arrival[];
  /** DATA transactions cut half-way. */
  dropped: number;
  close(): Promise<void>;
}

const notificationIdOf = (raw: string): string | undefined => {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  return /^X-Notification-Id:\s*(\S+)/im.exec(head)?.[1];
};

export async function startChaosReceivers(opts: {
  receivers: { name: string; address: string }[];
  port: number;
  /** Share of DATA transactions cut after their first chunk (0..1). */
  dropShare: number;
  random?: () => number;
}): Promise<ChaosReceivers> {
  const arrivals: Arrival[] = [];
  const random = opts.random ?? Math.random;
  const state = { dropped: 0 };
  const servers: SMTPServer[] = [];
  for (const r of opts.receivers) {
    // The session does not hold its socket: keep them by peer address to cut one mid-DATA.
    const sockets = new Map<string, Socket>();
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      banner: `${r.name} chaos receiver`,
      closeTimeout: 100,
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        let cut = false;
        stream.on('data', (c: Buffer) => {
          if (chunks.length === 0 && random() < opts.dropShare) {
            cut = true;
            state.dropped++;
            sockets.get(`${session.remoteAddress}:${session.remotePort}`)?.destroy();
          }
          chunks.push(c);
        });
        stream.on('end', () => {
          if (cut) return;
          const id = notificationIdOf(Buffer.concat(chunks).toString('utf8'));
          if (id) arrivals.push({ notificationId: id, at: Date.now(), receiver: r.name });
          cb();
        });
        stream.on('error', () => {});
      },
    });
    server.on('error', () => {}); // a cut connection is this server's own doing
    (server as unknown as { server: Server }).server.on('connection', (sock: Socket) => {
      const key = `${sock.remoteAddress}:${sock.remotePort}`;
      sockets.set(key, sock);
      sock.once('close', () => sockets.delete(key));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, r.address, () => resolve());
    });
    servers.push(server);
  }
  return {
    arrivals,
    get dropped() {
      return state.dropped;
    },
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
