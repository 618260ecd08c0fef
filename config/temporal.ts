import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Env } from './env.js';
import { EncryptionCodec, parsePayloadKeys } from './payload-codec.js';
import { temporalTlsFromEnv } from './temporal-tls.js';

// Under tsx/vitest this module is the .ts source; from dist/ it is compiled .js.
const compiled = !import.meta.url.endsWith('.ts');
/** The failure converter module, loaded by path by the client, the worker and the workflow bundler. */
export const failureConverterPath = fileURLToPath(new URL(`./failure-converter.${compiled ? 'js' : 'ts'}`, import.meta.url));

/**
 * Payloads encrypted with TEMPORAL_PAYLOAD_KEYS and failure messages moved into payloads: the same
 * converter for the client (API, inbound) and the worker, or neither could read the other's data.
 */
export function encryptedDataConverter(payloadKeys: string): DataConverter & { payloadCodecs: [EncryptionCodec] } {
  return { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(payloadKeys))], failureConverterPath };
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Accepted by both the client's Connection and the worker's NativeConnection. */
  connection: ConnectionOptions & { apiKey?: string };
  /** For every Client and Worker of the engine (see encryptedDataConverter). */
  dataConverter: DataConverter;
}

/**
 * Connection options for a self-hosted cluster (its CA, mTLS) or Temporal Cloud (API key),
 * so the same worker and API run against either.
 */
export function temporalSettings(env: Env, address: string): TemporalSettings {
  const connection: TemporalSettings['connection'] = { address };
  const tls = temporalTlsFromEnv(env);
  if (tls) connection.tls = tls;
  if (env.TEMPORAL_API_KEY) {
    connection.apiKey = env.TEMPORAL_API_KEY;
    connection.tls ??= true;
    connection.metadata = { 'temporal-namespace': env.TEMPORAL_NAMESPACE };
  }
  if (!env.TEMPORAL_PAYLOAD_KEYS) throw new Error('TEMPORAL_PAYLOAD_KEYS is required (<key id>:<32 bytes base64>): it encrypts what Temporal stores');
  const dataConverter = encryptedDataConverter(env.TEMPORAL_PAYLOAD_KEYS);
  return { address, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, connection, dataConverter };
}
