import { readFileSync } from 'node:fs';
import type { Env } from '../config/env.js';
import type { InboundListenerOptions } from './server.js';

/** The listener's settings from the environment; `devTls` stands in when no certificate is configured. */
export function inboundOptions(env: Env, devTls?: { key: string; cert: string }): InboundListenerOptions {
  const tls =
    env.INBOUND_TLS_CERT_PATH && env.INBOUND_TLS_KEY_PATH
      ? { cert: readFileSync(env.INBOUND_TLS_CERT_PATH, 'utf8'), key: readFileSync(env.INBOUND_TLS_KEY_PATH, 'utf8') }
      : devTls;
  return {
    host: env.INBOUND_SMTP_HOST,
    port: env.INBOUND_SMTP_PORT,
    maxBytes: env.INBOUND_MAX_BYTES,
    maxConnections: env.INBOUND_MAX_CONNECTIONS,
    maxConnectionsPerIp: env.INBOUND_MAX_CONNECTIONS_PER_IP,
    commandTimeoutMs: env.INBOUND_COMMAND_TIMEOUT_MS,
    dataTimeoutMs: env.INBOUND_MESSAGE_TIMEOUT_MS,
    tls,
  };
}
