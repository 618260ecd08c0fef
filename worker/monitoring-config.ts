import { defaultMonitoring, type MonitoringSettings } from '../domain/monitor/settings.js';
import type { Env } from '../config/env.js';

/** Blocklist and delivery-monitor settings from configuration; DNSBL lookups use the engine's own resolvers. */
export function monitoringSettingsFromEnv(env: Env): MonitoringSettings {
  if (env.OPERATOR_WEBHOOK_URL && !env.OPERATOR_WEBHOOK_SECRET) throw new Error('OPERATOR_WEBHOOK_URL needs OPERATOR_WEBHOOK_SECRET to sign alarms');
  return {
    ...defaultMonitoring,
    dnsbl: { ...defaultMonitoring.dnsbl, zones: env.DNSBL_ZONES, servers: env.DNS_SERVERS ?? [] },
    window: { minutes: env.MONITOR_WINDOW_MINUTES, minVolume: env.MONITOR_MIN_VOLUME },
    operatorWebhook: env.OPERATOR_WEBHOOK_URL ? { url: env.OPERATOR_WEBHOOK_URL, secret: env.OPERATOR_WEBHOOK_SECRET! } : undefined,
  };
}
