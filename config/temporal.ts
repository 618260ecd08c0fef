import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import type { Env } from './env.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Accepted by both the client's Connection and the worker's NativeConnection. */
  connection: ConnectionOptions & { apiKey?: string };
}

/**
 * Connection options for a self-hosted cluster (mTLS) or Temporal Cloud (API key),
 * so the same worker and API run against either.
 */
export function temporalSettings(env: Env, address: string): TemporalSettings {
  const connection: TemporalSettings['connection'] = { address };
  if (env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH) {
    connection.tls = {
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME,
      clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT_PATH), key: readFileSync(env.TEMPORAL_TLS_KEY_PATH) },
    };
  }
  if (env.TEMPORAL_API_KEY) {
    connection.apiKey = env.TEMPORAL_API_KEY;
    connection.tls ??= true;
    connection.metadata = { 'temporal-namespace': env.TEMPORAL_NAMESPACE };
  }
  return { address, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, connection };
}
