import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { TLSConfig } from '@temporalio/client';
import type { Env } from './env.js';
import { readPem } from './tls.js';

type TemporalTlsEnv = Pick<Env, 'TEMPORAL_TLS_CA_PATH' | 'TEMPORAL_TLS_CERT_PATH' | 'TEMPORAL_TLS_KEY_PATH' | 'TEMPORAL_TLS_SERVER_NAME'>;

/**
 * TLS to the Temporal frontend: a CA to trust (a self-hosted cluster's own), a client certificate
 * for its mTLS, a server name when the address is not the certificate's. Undefined: plain (or the
 * API key's TLS with the system CAs, see temporalSettings).
 */
export function temporalTlsFromEnv(env: TemporalTlsEnv): TLSConfig | undefined {
  const { TEMPORAL_TLS_CA_PATH: caPath, TEMPORAL_TLS_CERT_PATH: certPath, TEMPORAL_TLS_KEY_PATH: keyPath } = env;
  if (Boolean(certPath) !== Boolean(keyPath)) throw new Error('Temporal mTLS needs both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH');
  if (!caPath && !certPath) return undefined;
  return {
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(caPath ? { serverRootCACertificate: readPem('TEMPORAL_TLS_CA_PATH', caPath) } : {}),
    ...(certPath && keyPath
      ? { clientCertPair: { crt: readPem('TEMPORAL_TLS_CERT_PATH', certPath), key: readPem('TEMPORAL_TLS_KEY_PATH', keyPath) } }
      : {}),
  };
}

/**
 * One TLS handshake with the Temporal frontend, as the SDK will make it, before the SDK connects:
 * the SDK's own failure is "Failed to connect before the deadline" (client) or a transport error
 * (worker), and neither says that the certificate was the problem. Throws a start-up error that does.
 */
export async function checkTemporalTls(address: string, tls: TLSConfig | boolean | null | undefined, timeoutMs = 10_000): Promise<void> {
  if (!tls || tls === true) return;
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const servername = tls.serverNameOverride ?? (isIP(host) ? undefined : host);
  const problem = await new Promise<string | undefined>((resolve) => {
    const socket = connect({
      host,
      port: Number(address.slice(at + 1)),
      ...(servername ? { servername } : {}),
      ALPNProtocols: ['h2'],
      ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
      ...(tls.clientCertPair ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : {}),
      // Checked below ourselves, to name what failed.
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(`no TLS handshake within ${timeoutMs} ms`);
    });
    socket.once('secureConnect', () => {
      const failure = socket.authorized ? undefined : `the server's certificate is not trusted (${String(socket.authorizationError)})`;
      socket.end();
      resolve(failure);
    });
    socket.once('error', (err) => resolve(`the TLS handshake failed (${err.message})`));
  });
  if (problem)
    throw new Error(
      `Cannot connect to Temporal at ${address} over TLS: ${problem}. ` +
        "TEMPORAL_TLS_CA_PATH must name the CA that signed the frontend's certificate, and TEMPORAL_TLS_SERVER_NAME a name in it when the address is not",
    );
}
