import { z } from 'zod';
import { cidrList } from '../lib/cidr.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limits.js';

/** A comma-separated list; blanks dropped; absent: empty. */
const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const commaList = () => z.string().default('').transform(splitList);
/** A schedule interval such as 15m, 24h or 30s. */
const every = (fallback: string) =>
  z
    .string()
    .regex(/^\d+(s|m|h)$/)
    .default(fallback);

/**
 * The engine's whole configuration, parsed once from the environment at an entry point.
 * Modules never read process.env: entry points pass the slice each part needs.
 */
const schema = z.object({
  /** External Postgres (production: an EU-hosted server). Absent: the embedded server starts. */
  DATABASE_URL: z.string().url().optional(),
  /** Where the embedded Postgres keeps its data (must be writable by the `postgres` user when run as root). */
  EMBEDDED_PG_DIR: z.string().optional(),
  EMBEDDED_PG_PORT: z.coerce.number().int().positive().default(54329),

  /** External Temporal frontend (host:port). Absent: the Temporal CLI dev server starts. */
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('notifications'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  /** The CA (PEM) that signed the Temporal frontend's certificate; with it the connection uses TLS (config/temporal-tls.ts). */
  TEMPORAL_TLS_CA_PATH: z.string().optional(),
  /**
   * Keys that encrypt Temporal payloads (AES-256-GCM): `<key id>:<32 bytes base64>`, comma-separated;
   * the first encrypts, all decrypt (rotation). Required outside dev, where one is generated.
   */
  TEMPORAL_PAYLOAD_KEYS: z.string().optional(),
  /** Bearer token for the codec endpoint (/codec/encode, /codec/decode) besides the admin key. */
  CODEC_TOKEN: z.string().min(24).optional(),
  /** Origins (the Temporal UI's) allowed to call the codec endpoint from a browser, comma-separated. */
  CODEC_CORS_ORIGINS: commaList(),
  /** The `temporal` CLI binary; otherwise PATH, then the project cache, then `go install`. */
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_DEV_PORT: z.coerce.number().int().positive().default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().positive().default(8233),

  /** `eu`: refuse to start unless Postgres and Temporal are on RESIDENCY_ALLOWED_HOSTS. */
  DATA_REGION: z.enum(['eu']).optional(),
  /** Hosts data may live on, comma-separated: exact names/IPs or `*.suffix`. */
  RESIDENCY_ALLOWED_HOSTS: commaList(),

  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().positive().default(3000),
  /**
   * The reverse proxies / load balancers in front of the API (addresses or CIDR ranges,
   * comma-separated). Only when the socket peer is one of them is X-Forwarded-For believed: the
   * right-most hop none of them wrote is the client, whose unknown API keys are counted. None: the
   * socket peer is the client.
   */
  TRUSTED_PROXIES: commaList().refine((list) => {
    try {
      cidrList(list);
      return true;
    } catch {
      return false;
    }
  }, 'addresses or CIDR ranges such as 10.0.0.0/8, comma-separated'),
  /** Certificate (chain) and key, PEM: the API serves HTTPS; absent: plain HTTP (config/tls.ts). */
  API_TLS_CERT_PATH: z.string().optional(),
  API_TLS_KEY_PATH: z.string().optional(),
  /** Client certificates (mTLS): asked for (`request`) or needed to connect at all (`require`), issued by API_TLS_CLIENT_CA_PATH. */
  API_TLS_CLIENT_AUTH: z.enum(['off', 'request', 'require']).default('off'),
  API_TLS_CLIENT_CA_PATH: z.string().optional(),
  /** What this API process serves: `all`, or `pages` (preference centre, unsubscribe pages and one-click POST; nothing of the tenant or admin API). */
  API_SERVE: z.enum(['all', 'pages']).default('all'),
  /** host:port where bin/api.ts serves /metrics on its own listener (internal network); absent: not served apart. */
  API_METRICS_ADDRESS: z
    .string()
    .regex(/^[^:]+:\d+$/, 'host:port')
    .optional(),
  /** Bearer token for /metrics on the API port itself; absent: /metrics is not on the API port. */
  METRICS_TOKEN: z.string().min(24).optional(),
  /** The Temporal Web UI's base URL, for the console's links to workflows (npm start: the dev server's UI). */
  TEMPORAL_UI_URL: z.string().url().optional(),
  /** Public base URL of the API, used in links inside e-mails (unsubscribe). */
  PUBLIC_URL: z.string().url().optional(),

  /**
   * The original 32-byte key (base64), id k0 in the keyring: it encrypts DKIM keys, webhook secrets and
   * push credentials and signs links. Required outside dev unless SECRET_KEYS is set; keep it while
   * material made with it may exist (pre-keyring ciphertexts, derived webhook secrets, suppression hashes).
   */
  SECRET_KEY: z.string().optional(),
  /** More keys, `<key id>:<32 bytes base64>` comma-separated, newest first: the first encrypts and signs, all (and SECRET_KEY) decrypt and verify. */
  SECRET_KEYS: z.string().optional(),
  /** Operator key for /v1/admin. Required outside dev. */
  ADMIN_API_KEY: z.string().optional(),

  /** The engine's own Firebase project (the dev endpoint's path; a service account file names its own). */
  FCM_PROJECT_ID: z.string().default('notiflow-dev'),
  /** Path to the engine's own Firebase service-account JSON file; absent in dev, where the local FCM endpoint is used. */
  FCM_SERVICE_ACCOUNT_PATH: z.string().optional(),
  /**
   * Tenants (comma-separated) whose pushes may go through the engine's own Firebase project when
   * they have uploaded none (PUT /v1/push-credentials). None by default: every other tenant's push
   * fails for good until it does (e-mail serves instead). npm start lists the demo tenant.
   */
  FCM_DEFAULT_TENANTS: commaList(),

  /** Local FCM-compatible endpoint (host:port) and its CA file, used instead of real FCM in dev and tests. */
  FCM_LOCAL_ENDPOINT: z
    .string()
    .regex(/^[^:]+:\d+$/, 'host:port')
    .optional(),
  FCM_LOCAL_CA_FILE: z.string().optional(),

  /** Where the dev run keeps its state (Postgres data, Temporal state, generated dev secrets). */
  DEV_DATA_DIR: z.string().optional(),
  DEV_SMTP_PORT: z.coerce.number().int().positive().default(2525),
  DEV_FCM_PORT: z.coerce.number().int().positive().default(9443),

  /** Mailbox-provider rules (limits, response rules); the repo's config/provider-rules.json when absent. */
  PROVIDER_RULES_PATH: z.string().optional(),
  /** DNS servers for MX lookups, "host:port" comma-separated; the system's when absent. */
  DNS_SERVERS: z
    .string()
    .optional()
    .transform((v) => (v ? splitList(v) : undefined)),
  /** How long a notification may wait for an IP that may send, per category ("security=30m,*=6h"); then the other channel. */
  CATEGORY_MAX_AGE: z.string().optional(),
  /** Port for direct MX delivery (pools without a relay host): 25, or a loopback receiver's in dev. */
  SMTP_MX_PORT: z.coerce.number().int().positive().default(25),

  /**
   * The engine's inbound host name: each sending domain's return-path CNAME (nfbounce.<domain>)
   * points here, so its A/MX must reach the inbound listener and its SPF TXT must list every pool IP.
   */
  BOUNCE_HOST: z
    .string()
    .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i)
    .default('bounce.notiflow.test'),
  /** A host whose SPF record lists the engine's IPs, for tenants' "include:"; absent: their pool's IPs are listed. */
  SPF_INCLUDE: z.string().optional(),
  /** How long a replaced DKIM key's record must stay published after signing switched away from it. */
  DKIM_ROTATION_GRACE_HOURS: z.coerce.number().int().min(1).default(72),
  /** How often verified sending domains are re-checked (Temporal Schedule); scheduled DKIM rotations start from it. */
  DOMAIN_CHECK_EVERY: every('24h'),
  /** The dev DNS server (npm start) the engine resolves through; records are published into it with POST /dev/dns. */
  DEV_DNS_PORT: z.coerce.number().int().positive().default(5354),

  /** Feedback listener: the MX of the return-path domains and the address FBL reports are sent to. */
  INBOUND_SMTP_HOST: z.string().default('127.0.0.1'),
  INBOUND_SMTP_PORT: z.coerce.number().int().nonnegative().default(2526),
  /** Its bounds: largest report (cut at the cap), connections overall and per source address. */
  INBOUND_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
  INBOUND_MAX_CONNECTIONS: z.coerce.number().int().positive().default(200),
  INBOUND_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().positive().default(10),
  /** A command line must be complete within this time, a whole message within the second (slow senders are cut). */
  INBOUND_COMMAND_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  INBOUND_MESSAGE_TIMEOUT_MS: z.coerce.number().int().positive().default(300_000),
  /** Certificate and key (PEM files) for its STARTTLS; the dev run uses its own test CA. */
  INBOUND_TLS_CERT_PATH: z.string().optional(),
  INBOUND_TLS_KEY_PATH: z.string().optional(),
  /**
   * API rate limits of a tenant an operator has not set (PUT /v1/admin/tenants/{id}/limits): requests
   * per second and burst, notifications per second and burst (each batch item counts).
   */
  RATE_LIMIT_REQUESTS_PER_SECOND: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.requestsPerSecond),
  RATE_LIMIT_REQUESTS_BURST: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.requestsBurst),
  RATE_LIMIT_NOTIFICATIONS_PER_SECOND: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.notificationsPerSecond),
  RATE_LIMIT_NOTIFICATIONS_BURST: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.notificationsBurst),
  /** Reports accepted per source address a minute (past it: 451, try later). */
  INBOUND_REPORTS_PER_MINUTE: z.coerce.number().int().positive().default(120),
  /**
   * Feedback loops whose complaints are believed, comma-separated: reporter domains (a verified
   * DKIM signature of the report, subdomains count) and source addresses or CIDR ranges. None: the
   * listener rejects every mailed complaint (the dev run trusts 127.0.0.0/8 when both are empty).
   */
  FEEDBACK_LOOP_DOMAINS: commaList(),
  FEEDBACK_LOOP_IPS: commaList(),
  /** Reports that could not be used are kept this many days (feedback_rejects). */
  FEEDBACK_REJECTS_KEEP_DAYS: z.coerce.number().int().positive().default(30),
  /** At most this many rejected reports are kept in all (repeats count once); beyond, new ones are counted and dropped. */
  FEEDBACK_REJECTS_MAX_ROWS: z.coerce.number().int().positive().default(100_000),
  /** At most this many MiB of rejected reports are kept in all. */
  FEEDBACK_REJECTS_MAX_MB: z.coerce.number().int().positive().default(512),
  /** A DMARC aggregate report's XML once decompressed may be this large; inflating stops at the cap (552). */
  DMARC_MAX_REPORT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Messages in one report from sources outside our pools that fail DMARC (forged) that raise a dmarc-forged-source alarm. */
  DMARC_FORGED_ALARM_MESSAGES: z.coerce.number().int().positive().default(10),
  /** DNSBL zones every sending IP is checked against, comma-separated (e.g. zen.spamhaus.org); none: no check. */
  DNSBL_ZONES: commaList(),
  /** How often the blocklist check and the delivery-rate monitor run (Temporal Schedules). */
  BLOCKLIST_CHECK_EVERY: every('15m'),
  DELIVERY_MONITOR_EVERY: every('5m'),
  /** Seed placement (docs/deliverability.md): how often a run starts, and how long it waits before reading the seed mailboxes. */
  PLACEMENT_EVERY: every('24h'),
  PLACEMENT_WAIT: every('30m'),
  /** Delivery rates are judged over this window, and only from this many attempts per provider or IP. */
  MONITOR_WINDOW_MINUTES: z.coerce.number().int().positive().default(60),
  MONITOR_MIN_VOLUME: z.coerce.number().int().positive().default(100),
  /**
   * Address ranges (CIDR, comma-separated) tenant webhooks may reach although not public, for a
   * self-hosted setup on one private network. None: loopback, private, link-local (metadata) and
   * other special ranges are refused. The dev run allows 127.0.0.0/8 when this is unset.
   */
  EGRESS_ALLOW_PRIVATE: commaList(),
  /**
   * Address ranges (CIDR, comma-separated) MX hosts may resolve to although not public (direct
   * delivery to a mail host on the operator's own network). None: mail to a domain whose MX hosts
   * are loopback, private or link-local fails for good. The dev run allows 127.0.0.0/8 when unset.
   */
  MX_ALLOW_PRIVATE: commaList(),
  /** Extra CAs (PEM file) trusted, besides Node's roots, for MX hosts whose TLS is verified and for MTA-STS policy hosts. */
  SMTP_TLS_CA_FILE: z.string().optional(),
  /** Where alarms are POSTed (signed with OPERATOR_WEBHOOK_SECRET); absent: alarms are only listed. */
  OPERATOR_WEBHOOK_URL: z.string().url().optional(),
  OPERATOR_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Shared secret providers sign JSON complaint/bounce webhooks with (POST /v1/feedback/reports). */
  FEEDBACK_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** A secret per provider, "name=secret,..." (each at least 16 characters); the provider names itself in Notiflow-Provider. */
  FEEDBACK_WEBHOOK_SECRETS: z
    .string()
    .default('')
    .transform((v) => Object.fromEntries(splitList(v).map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)])))
    .refine(
      (m) => Object.entries(m).every(([k, v]) => /^[a-z0-9_.-]+$/i.test(k) && v.length >= 16),
      'name=secret pairs, each secret at least 16 characters',
    ),
  /** spamd (SpamAssassin) that scores template versions and previews besides the built-in check; absent: built-in only. */
  SPAMD_HOST: z.string().min(1).optional(),
  SPAMD_PORT: z.coerce.number().int().min(1).max(65535).default(783),
  /** A template compile at the API (version check, preview, layout) running longer fails with 422 and its thread is replaced. */
  TEMPLATE_COMPILE_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** Template compiles that may wait for the API's compile thread; more are refused with 503. */
  TEMPLATE_COMPILE_QUEUE: z.coerce.number().int().positive().default(50),
  /** Test messages (template test sends and test-recipient confirmations) each tenant may send per 24 hours. */
  TEST_SENDS_PER_DAY: z.coerce.number().int().min(0).default(50),

  /** A workflow bundle built ahead (`npm run build:workflows`); without it the built worker loads dist/workflow-bundle.js, and one run from source bundles workflows/ at start, which costs ~80 MB of RSS for good. */
  WORKFLOW_BUNDLE_PATH: z.string().optional(),
  /**
   * Workflows kept in the worker's sticky cache; fewer means less memory and more replays. Fixed
   * rather than Temporal's default, which scales with the heap limit: under the 384 MB old-space
   * cap `npm run start:worker` sets it would be ~100, below a burst's workflows in flight.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().positive().default(1000),
  /** Sends (and other activities) one worker runs at once; they wait on the network, not the CPU. */
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(200),

  /** host:port where bin/worker.ts serves its own metrics at /metrics; absent: not served (npm start: the API's /metrics has them). */
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^[^:]+:\d+$/, 'host:port')
    .optional(),
  /** host:port where the Temporal SDK serves its own metrics (worker polls, task latencies); absent: off. npm start: 127.0.0.1:9464. */
  TEMPORAL_METRICS_ADDRESS: z
    .string()
    .regex(/^[^:]+:\d+$/, 'host:port')
    .optional(),
  /** OTLP/HTTP endpoint for traces (e.g. http://collector:4318); absent: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** Service name on the exported spans. */
  OTEL_SERVICE_NAME: z.string().default('notiflow'),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof schema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * What the production entry points (bin/api.ts, bin/worker.ts) refuse to start without; the dev
 * run (npm start) generates its own. Throws with every problem listed.
 */
export function checkProductionSettings(env: Env, part: 'api' | 'worker'): void {
  const problems: string[] = [];
  if (part === 'api' && env.ADMIN_API_KEY !== undefined && env.ADMIN_API_KEY.length < 32)
    problems.push('ADMIN_API_KEY must be at least 32 characters (e.g. openssl rand -base64 32)');
  // Both hand out links: the worker in messages (unsubscribe), the API in answers and pages (preference centre).
  if (!env.PUBLIC_URL) problems.push('PUBLIC_URL is required: links in messages (unsubscribe) must point at the public API, never at 127.0.0.1');
  else if (/^(localhost|127\.[\d.]+|\[::1?\]|0\.0\.0\.0)$/i.test(new URL(env.PUBLIC_URL).hostname))
    problems.push(`PUBLIC_URL=${env.PUBLIC_URL} is a loopback address: links in messages and pages must reach the public API`);
  if (problems.length) throw new Error(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
/** The spamd to ask, when one is configured. */
export const spamdOf = (env: Pick<Env, 'SPAMD_HOST' | 'SPAMD_PORT'>) => (env.SPAMD_HOST ? { host: env.SPAMD_HOST, port: env.SPAMD_PORT } : undefined);

/** The default API rate limits (RATE_LIMIT_*). */
export function rateLimitsOf(env: Env): RateLimits {
  return {
    requestsPerSecond: env.RATE_LIMIT_REQUESTS_PER_SECOND,
    requestsBurst: env.RATE_LIMIT_REQUESTS_BURST,
    notificationsPerSecond: env.RATE_LIMIT_NOTIFICATIONS_PER_SECOND,
    notificationsBurst: env.RATE_LIMIT_NOTIFICATIONS_BURST,
  };
}
