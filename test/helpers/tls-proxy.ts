import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';

export interface TlsProxy {
  /** host:port the proxy listens on (TLS). */
  address: string;
  /** TLS handshakes completed so far. */
  handshakes(): number;
  close(): Promise<void>;
}

/**
 * A TLS-terminating TCP proxy speaking ALPN h2, in front of a plain gRPC server (the Temporal dev
 * server has no TLS): what a self-hosted cluster's TLS frontend looks like to the engine.
 */
export async function startTlsProxy(target: string, tls: { cert: string; key: string }): Promise<TlsProxy> {
  const at = target.lastIndexOf(':');
  let handshakes = 0;
  const open = new Set<{ destroy(): void }>();
  const server = createServer({ cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'] }, (socket) => {
    handshakes++;
    const upstream = connect(Number(target.slice(at + 1)), target.slice(0, at));
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      upstream.destroy();
    });
  });
  // Handshakes that fail (a client that does not trust the certificate) are the point of some tests.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    handshakes: () => handshakes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long-lived HTTP/2 connections (the SDKs') would keep close() waiting: cut them.
        for (const socket of open) socket.destroy();
      }),
  };
}
