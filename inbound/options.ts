import { readFileSync } from 'node:fs';
import type { Env } from '../config/env.js';
import { txtResolver } from './feedback-sources.js';
import type { ListenerDeps } from './handle-report.js';
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
    reportsPerMinute: env.INBOUND_REPORTS_PER_MINUTE,
    tls,
  };
}

/** Which complaints are believed, and how old rejected reports may grow. `devLoops` stands in when none are configured. */
export function feedbackTrust(
  env: Env,
  devLoops?: ListenerDeps['loops'],
): Pick<ListenerDeps, 'loops' | 'resolver' | 'rejectsKeepDays' | 'rejectsCap' | 'dmarc'> {
  const configured = env.FEEDBACK_LOOP_DOMAINS.length > 0 || env.FEEDBACK_LOOP_IPS.length > 0;
  return {
    loops: configured ? { domains: env.FEEDBACK_LOOP_DOMAINS, ips: env.FEEDBACK_LOOP_IPS } : devLoops,
    resolver: txtResolver(env.DNS_SERVERS),
    rejectsKeepDays: env.FEEDBACK_REJECTS_KEEP_DAYS,
    rejectsCap: { rows: env.FEEDBACK_REJECTS_MAX_ROWS, bytes: env.FEEDBACK_REJECTS_MAX_MB * 1024 * 1024 },
    dmarc: { maxXmlBytes: env.DMARC_MAX_REPORT_BYTES, forgedAlarmMessages: env.DMARC_FORGED_ALARM_MESSAGES },
  };
}
