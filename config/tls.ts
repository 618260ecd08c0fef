import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import type { Env } from './env.js';

/** How the API serves TLS, read once at start from API_TLS_*. */
export interface ApiTls {
  /** For https.createServer: certificate, key and, with client authentication, the client CA. */
  serverOptions: ServerOptions;
  clientAuth: 'off' | 'request' | 'require';
}

/** A PEM file named by an env variable, or a start-up error naming the variable. */
export function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${variable}=${path} cannot be read: ${(err as Error).message}`);
  }
}

/** The API's TLS settings; undefined when API_TLS_CERT_PATH is unset (plain HTTP). Throws on half a configuration. */
export function apiTlsFromEnv(
  env: Pick<Env, 'API_TLS_CERT_PATH' | 'API_TLS_KEY_PATH' | 'API_TLS_CLIENT_AUTH' | 'API_TLS_CLIENT_CA_PATH'>,
): ApiTls | undefined {
  const { API_TLS_CERT_PATH: certPath, API_TLS_KEY_PATH: keyPath, API_TLS_CLIENT_AUTH: clientAuth, API_TLS_CLIENT_CA_PATH: caPath } = env;
  if (!certPath && !keyPath) {
    if (clientAuth !== 'off' || caPath)
      throw new Error('API_TLS_CLIENT_AUTH and API_TLS_CLIENT_CA_PATH need HTTPS: set API_TLS_CERT_PATH and API_TLS_KEY_PATH');
    return undefined;
  }
  if (!certPath || !keyPath) throw new Error('HTTPS needs both API_TLS_CERT_PATH and API_TLS_KEY_PATH');
  if (clientAuth !== 'off' && !caPath)
    throw new Error(`API_TLS_CLIENT_AUTH=${clientAuth} needs API_TLS_CLIENT_CA_PATH (the CA that issues client certificates)`);
  const serverOptions: ServerOptions = {
    cert: readPem('API_TLS_CERT_PATH', certPath),
    key: readPem('API_TLS_KEY_PATH', keyPath),
    minVersion: 'TLSv1.2',
  };
  if (clientAuth !== 'off') {
    serverOptions.ca = readPem('API_TLS_CLIENT_CA_PATH', caPath!);
    serverOptions.requestCert = true;
    // `request`: a connection without a certificate (or with an untrusted one) is let through, and the
    // API decides per request (api/client-cert.ts); `require`: the handshake fails without a trusted one.
    serverOptions.rejectUnauthorized = clientAuth === 'require';
  }
  return { serverOptions, clientAuth };
}
