import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

// The engine's own metrics, one registry per process. Labels are bounded and carry no personal
// data: no user, notification or address, only types, categories, channels, providers, pools and
// the engine's own source IPs (a handful per pool).

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'notiflow_' });
// prom-client names these gauges *_total, which Prometheus reserves for counters (promtool flags them).
for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
  registry.removeSingleMetric(`notiflow_${name}`);

export const deliveries = new Counter({
  name: 'notiflow_deliveries_total',
  help: 'Delivery attempts handed to SMTP or FCM, by channel, provider, pool, source IP and outcome (accepted, deferred, failed)',
  labelNames: ['channel', 'provider', 'pool', 'ip', 'outcome'] as const,
  registers: [registry],
});

export const smtpReplies = new Counter({
  name: 'notiflow_smtp_replies_total',
  help: 'SMTP replies to sends, by reply class (2xx, 4xx, 5xx, or none when the connection failed)',
  labelNames: ['class'] as const,
  registers: [registry],
});

export const triggerToAccepted = new Histogram({
  name: 'notiflow_trigger_to_accepted_seconds',
  help: 'Time from the trigger (the API accepting the notification) to the SMTP server or FCM accepting the message',
  labelNames: ['channel'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
  registers: [registry],
});

export const activityFailures = new Counter({
  name: 'notiflow_activity_failures_total',
  help: 'Activity attempts that threw, by activity and failure type',
  labelNames: ['activity', 'type'] as const,
  registers: [registry],
});

export const activityScheduleToStart = new Histogram({
  name: 'notiflow_activity_schedule_to_start_seconds',
  help: 'Time an activity attempt waited in the task queue before a worker started it',
  labelNames: ['activity'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/** "2xx", "4xx", "5xx" from an SMTP reply code; "none" when there was no reply. */
export function replyClass(code: number | null | undefined): string {
  return code && code >= 200 && code < 600 ? `${Math.floor(code / 100)}xx` : 'none';
}

/** A bounded label value: unknown or over-long values collapse instead of growing the series set. */
export function boundedLabel(value: string | null | undefined, max = 64): string {
  if (!value) return 'none';
  return value.length > max ? 'other' : value;
}

/** One delivery attempt's metrics: the attempt itself and, when accepted, the trigger-to-accepted time. */
export function recordDelivery(a: {
  channel: 'email' | 'push';
  provider: string;
  pool?: string | null;
  ip?: string | null;
  outcome: string;
  triggeredAt?: Date | null;
}): void {
  deliveries.inc({
    channel: a.channel,
    provider: boundedLabel(a.provider),
    pool: boundedLabel(a.pool),
    ip: boundedLabel(a.ip, 45),
    outcome: a.outcome,
  });
  if (a.outcome === 'accepted' && a.triggeredAt)
    triggerToAccepted.observe({ channel: a.channel }, Math.max(0, Date.now() - a.triggeredAt.getTime()) / 1000);
}
