import type { SMTPServer } from 'smtp-server';

/** Starts an smtp-server listening and resolves with the port it got (port 0 = ephemeral). */
export function listenSmtp(server: SMTPServer, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => {
      server.server.off('error', reject);
      const address = server.server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
