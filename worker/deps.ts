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
import { tenantPushClients } from '../domain/push/tenant-messaging.js';
import type { Env } from '../config/env.js';
import { secretBoxFromEnv } from '../config/secrets.js';
import { monitoringSettingsFromEnv } from './monitoring-config.js';
import { domainSettingsFromEnv } from '../config/domain-settings.js';
import type { Db } from '../db/client.js';

/** Builds the activities' real clients from configuration (production and the dev run alike). */
export function activityDepsFromEnv(env: Env, db: Db, logger: Logger, overrides: { secretKey?: string; fcmCaPem?: string } = {}): ActivityDeps {
  const secrets = secretBoxFromEnv({ ...env, SECRET_KEY: overrides.secretKey ?? env.SECRET_KEY });
  if (!secrets) throw new Error('SECRET_KEY or SECRET_KEYS is required (32 bytes, base64): it decrypts DKIM keys and signs links');
  // Each tenant pushes through its own Firebase service account (PUT /v1/push-credentials); the
  // engine's own project serves only the tenants FCM_DEFAULT_TENANTS lists (the dev run's demo).
  let local;
  let fallback;
  if (env.FCM_LOCAL_ENDPOINT) {
    const [host, port] = env.FCM_LOCAL_ENDPOINT.split(':');
    const caPem = overrides.fcmCaPem ?? (env.FCM_LOCAL_CA_FILE ? readFileSync(env.FCM_LOCAL_CA_FILE, 'utf8') : undefined);
    if (!caPem) throw new Error('FCM_LOCAL_ENDPOINT needs FCM_LOCAL_CA_FILE (the endpoint CA certificate)');
    local = { host: host!, port: Number(port), caPem, accessToken: 'test-access-token' };
    fallback = { projectId: env.FCM_PROJECT_ID, messaging: createMessaging({ projectId: env.FCM_PROJECT_ID, endpoint: local }) };
  } else if (env.FCM_SERVICE_ACCOUNT_PATH) {
    const serviceAccountJson = readFileSync(env.FCM_SERVICE_ACCOUNT_PATH, 'utf8');
    const projectId = (JSON.parse(serviceAccountJson) as { project_id?: string }).project_id ?? env.FCM_PROJECT_ID;
    fallback = { projectId, messaging: createMessaging({ projectId, serviceAccountJson }) };
  }
  if (fallback && env.FCM_DEFAULT_TENANTS.length === 0) logger.info('the engine Firebase project serves no tenant (FCM_DEFAULT_TENANTS is empty)');
  const tlsCa = trustedCas(env.SMTP_TLS_CA_FILE);
  return {
    db,
    mailer: createMailer({ logger: logger.child({ part: 'mailer' }), tlsCa }),
    push: tenantPushClients({ db, secrets, local, fallback: fallback && { ...fallback, tenants: env.FCM_DEFAULT_TENANTS } }),
    secrets,
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
