import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ActivityDeps } from '../activities/index.js';
import { createMailer } from '../domain/email/mailer.js';
import { trustedCas } from '../domain/email/tls-policy.js';
import { createEgressPolicy } from '../domain/webhooks/egress.js';
import { createDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { parseMaxAges } from '../domain/pool/max-age.js';
import { createMessaging } from '../domain/push/fcm-client.js';
import type { Env } from '../config/env.js';
import { createSecretBox, parseSecretKey } from '../config/secrets.js';
import { monitoringSettingsFromEnv } from './monitoring-config.js';
import { domainSettingsFromEnv } from '../config/domain-settings.js';
import type { Db } from '../db/client.js';

/** Builds the activities' real clients from configuration (production and the dev run alike). */
export function activityDepsFromEnv(env: Env, db: Db, logger: Logger, overrides: { secretKey?: string; fcmCaPem?: string } = {}): ActivityDeps {
  const secretKey = overrides.secretKey ?? env.SECRET_KEY;
  if (!secretKey) throw new Error('SECRET_KEY is required (32 bytes, base64): it decrypts DKIM keys and signs links');
  let messaging;
  if (env.FCM_LOCAL_ENDPOINT) {
    const [host, port] = env.FCM_LOCAL_ENDPOINT.split(':');
    const caPem = overrides.fcmCaPem ?? (env.FCM_LOCAL_CA_FILE ? readFileSync(env.FCM_LOCAL_CA_FILE, 'utf8') : undefined);
    if (!caPem) throw new Error('FCM_LOCAL_ENDPOINT needs FCM_LOCAL_CA_FILE (the endpoint CA certificate)');
    messaging = createMessaging({
      projectId: env.FCM_PROJECT_ID,
      endpoint: { host: host!, port: Number(port), caPem, accessToken: 'test-access-token' },
    });
  } else if (env.FCM_SERVICE_ACCOUNT_PATH) {
    messaging = createMessaging({ projectId: env.FCM_PROJECT_ID, serviceAccountJson: readFileSync(env.FCM_SERVICE_ACCOUNT_PATH, 'utf8') });
  } else {
    // An e-mail-only deployment: said once at start, and push sends fail for good (e-mail serves instead).
    logger.warn('push disabled: no FCM_SERVICE_ACCOUNT_PATH (Firebase service account) is set; e-mail only');
  }
  const tlsCa = trustedCas(env.SMTP_TLS_CA_FILE);
  return {
    db,
    mailer: createMailer({ logger: logger.child({ part: 'mailer' }), tlsCa }),
    messaging,
    secrets: createSecretBox(parseSecretKey(secretKey)),
    logger,
    publicUrl: env.PUBLIC_URL ?? `http://${env.API_HOST}:${env.API_PORT}`,
    // Loads and validates the provider rules: a malformed file stops the worker here, before it starts.
    delivery: createDeliveryDeps({
      rulesPath: env.PROVIDER_RULES_PATH,
      dnsServers: env.DNS_SERVERS,
      mxPort: env.SMTP_MX_PORT,
      mxAllowPrivate: env.MX_ALLOW_PRIVATE,
      tlsCa,
      maxAges: parseMaxAges(env.CATEGORY_MAX_AGE),
    }),
    monitoring: monitoringSettingsFromEnv(env),
    domains: { settings: domainSettingsFromEnv(env), resolver: systemOr(env.DNS_SERVERS) },
    egress: createEgressPolicy(env.EGRESS_ALLOW_PRIVATE),
  };
}

/** node's resolver on DNS_SERVERS, or on the system's servers. */
function systemOr(servers: string[] | undefined): Resolver {
  const r = new Resolver({ timeout: 2_000, tries: 2 });
  if (servers?.length) r.setServers(servers);
  return r;
}
