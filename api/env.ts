import type { ProviderRules } from '../domain/pool/rules.js';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { SecretBox } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import type { ApiKeyScope } from '../domain/tenancy/api-keys.js';
import type { DomainSettings } from '../domain/sending-domains/service.js';
import type { TxtResolver } from '../domain/sending-domains/verify.js';
import type { ApiCaches } from './cache.js';
import type { CompileLimits } from '../templates/mjml.js';
import type { RateKind, RateLimits, TakeResult } from '../domain/tenancy/limits.js';

/** What the API needs, passed in by the entry point (bin/api.ts, bin/dev.ts, tests). */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  /** Operator key for /v1/admin; the admin API refuses every request when absent. */
  adminKey?: string;
  /** Provider rules for the admin views of scores and states; the repo's rules file when absent. */
  providerRules?: ProviderRules;
  /** Verifies unsubscribe links and derives status-webhook secrets; those routes answer 503 without it. */
  secrets?: SecretBox;
  /** The Temporal Web UI (TEMPORAL_UI_URL), for the console's links to a notification's workflow. */
  temporalUiUrl?: string;
  /** Base URL of links the API hands out (PUBLIC_URL); the URL it was called on when absent. */
  publicUrl?: string;
  /** Shared secret providers sign JSON complaint/bounce webhooks with; that route answers 503 without it. */
  feedbackWebhookSecret?: string;
  /** Records a sending domain publishes (bounce host, SPF include) and the DKIM rotation grace; dev defaults when absent. */
  domainSettings?: DomainSettings;
  /** The resolver sending-domain checks look records up through (DNS_SERVERS); the system's when absent. */
  resolver?: TxtResolver;
  /** Requests with an unknown API key per client address a minute (default 30); past it their 401 is held a while. */
  unknownKeysPerMinute?: number;
  /** Proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client (TRUSTED_PROXIES); none: the socket peer is the client. */
  trustedProxies?: string[];
  /** Rate limits of a tenant without an operator's setting (RATE_LIMIT_*); DEFAULT_RATE_LIMITS when absent. */
  rateLimits?: RateLimits;
  /** A secret per provider (named by the Notiflow-Provider header); feedbackWebhookSecret counts as "default". */
  feedbackWebhookSecrets?: Record<string, string>;
  /** spamd (SpamAssassin) for template spam checks; the built-in checker alone when absent. */
  spamd?: { host: string; port: number };
  /** The workers' payload codec, served at /codec for the Temporal UI and CLI; /codec answers 404 without it. */
  codec?: PayloadCodec;
  /** A bearer token for /codec besides the admin key (CODEC_TOKEN). */
  codecToken?: string;
  /** Browser origins (the Temporal UI's) allowed to call /codec. */
  codecOrigins?: string[];
  /** Time limit per template compile and compiles that may wait (TEMPLATE_COMPILE_*); API_COMPILE_LIMITS when absent. */
  compileLimits?: Partial<CompileLimits>;
  /** Test messages (and recipient confirmations) a tenant may send per 24 hours (TEST_SENDS_PER_DAY); 50 when absent. */
  testSendsPerDay?: number;
  /** `pages` (API_SERVE): only the browser pages (preference centre, unsubscribe), no tenant, admin or operator routes. */
  serve?: 'all' | 'pages';
  /** METRICS_TOKEN: /metrics on this app, for that bearer token; absent: not on this app (API_METRICS_ADDRESS serves it apart). */
  metricsToken?: string;
}

/** ApiDeps plus what createApi adds for the routes: the accept path's caches. */
export type AppDeps = ApiDeps & { caches: ApiCaches };

/** Hono context variables set by middleware. */
export interface ApiEnv {
  Variables: { tenantId: string; scopes: ApiKeyScope[]; rateLimits?: (TakeResult & { kind: RateKind })[] };
}
