/** What the blocklist check and the delivery monitor need; built from config at the entry point. */
export interface MonitoringSettings {
  dnsbl: {
    /** DNSBL zones to query, e.g. zen.spamhaus.org. */
    zones: string[];
    /** The engine's own resolver ("host:port"); empty: the system's resolvers. */
    servers: string[];
    timeoutMs: number;
  };
  /** Rates are computed over this many recent minutes, and only from this many deliveries up. */
  window: { minutes: number; minVolume: number };
  /** Fractions (0.003 = 0.3%): at `warn` a warning, at `alarm` an alarm. */
  thresholds: Record<'complaint' | 'bounce' | 'deferral', { warn: number; alarm: number }>;
  /** Where alarms are POSTed, signed with `secret`; absent: alarms are only listed. */
  operatorWebhook?: { url: string; secret: string };
}

export const defaultMonitoring: MonitoringSettings = {
  dnsbl: { zones: [], servers: [], timeoutMs: 3000 },
  window: { minutes: 60, minVolume: 100 },
  // Gmail's published spam-rate limits (keep under 0.10%, never reach 0.30%); bounce and
  // deferral levels in line with common ESP practice.
  thresholds: {
    complaint: { warn: 0.001, alarm: 0.003 },
    bounce: { warn: 0.02, alarm: 0.05 },
    deferral: { warn: 0.1, alarm: 0.3 },
  },
};
