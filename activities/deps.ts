import type { Logger } from 'pino';
import type { SecretBox } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import type { Mailer } from '../domain/email/mailer.js';
import type { MonitoringSettings } from '../domain/monitor/settings.js';
import type { DeliveryDeps } from '../domain/pool/route.js';
import type { DomainSettings } from '../domain/sending-domains/service.js';
import type { TxtResolver } from '../domain/sending-domains/verify.js';
import type { EgressPolicy } from '../domain/webhooks/egress.js';
import type { PushClients } from '../domain/push/tenant-messaging.js';

/** Everything activities touch, passed in explicitly so tests wire real local servers. */
export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  /** Each tenant's Firebase client (domain/push/tenant-messaging.ts); absent: push is disabled, sends fail for good and e-mail serves instead. */
  push?: PushClients;
  secrets: SecretBox;
  logger: Logger;
  /** Base URL of the public API, for links inside messages. */
  publicUrl: string;
  /** Blocklist check, delivery-rate thresholds and the operator webhook; defaults when absent. */
  monitoring?: MonitoringSettings;
  /** Which addresses tenant-chosen URLs (status webhooks) may reach; public ones only when absent. */
  egress?: EgressPolicy;
  /** Provider rules, MX lookups and the MX port for pool routing; the repo's rules and relay-only when absent. */
  delivery?: DeliveryDeps;
  /** Sending-domain records and the resolver the daily domain check looks them up through; dev defaults and the system's resolver when absent. */
  domains?: { settings: DomainSettings; resolver: TxtResolver };
}
