// Several SMTP receivers acting as mailbox providers, a real DNS server on loopback whose MX
// records point recipient domains at them, and N workers on one task queue routing through
// pools of loopback source IPs: what the pool tests send through.
import { randomUUID } from 'node:crypto';
import { NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { createMailer, type Mailer } from '../../domain/email/mailer.js';
import { createDeliveryDeps } from '../../domain/pool/delivery-deps.js';
import type { MaxAges } from '../../domain/pool/max-age.js';
import { createDnsResolver } from '../../domain/pool/mx-lookup.js';
import type { DeliveryDeps } from '../../domain/pool/route.js';
import { providerRules, type ProviderRulesInput } from '../../domain/pool/rules.js';
import { createApi } from '../../api/app.js';
import { createLogger } from '../../config/logger.js';
import { createSecretBox, generateApiKey } from '../../config/secrets.js';
import { provisionTenant, upsertPool, type PoolSpec } from '../../db/provision.js';
import { savePushCredential } from '../../domain/push/credentials.js';
import { dkimResolverFromDb } from '../../dev/dkim-dns.js';
import { startDnsServer, type DnsServer, type DnsZone } from '../../dev/dns-server.js';
import { startSmtpInbox, type SmtpInbox, type SmtpInboxOptions } from '../../dev/smtp-inbox.js';
import { encryptedDataConverter } from '../../config/temporal.js';
import { createNotificationWorker } from '../../worker/create-worker.js';
import { startTestEngine, testServiceAccount, type TestEngine } from './engine.js';
import { freePort } from '../../dev/ports.js';

export interface ProviderSpec {
  /** Recipient domain, e.g. gmail.test */
  domain: string;
  /** MX host name (decides the provider by suffix), e.g. gmail-smtp-in.l.google.com */
  mx: string;
  /** Loopback address the receiver listens on. */
  address: string;
  inbox?: Pick<SmtpInboxOptions, 'onRcpt' | 'onData' | 'tls'>;
}

export interface ProviderRig {
  engine: TestEngine;
  dns: DnsServer;
  receivers: Record<string, SmtpInbox>;
  delivery: DeliveryDeps;
  mailers: Mailer[];
  adminKey: string;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  addTenant(spec: { pool: Omit<PoolSpec, 'relayHost' | 'relayPort'> }): Promise<{ tenantId: string; apiKey: string }>;
  /** Creates a user with this address and triggers one transaction alert; returns the notification id. */
  notify(tenant: { apiKey: string }, email: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startProviderRig(opts: {
  bundle: WorkflowBundleOption;
  rules: ProviderRulesInput;
  providers: ProviderSpec[];
  workers?: number;
  now?: () => number;
  /** Longest wait per category for an IP that may send (CATEGORY_MAX_AGE). */
  maxAges?: MaxAges;
  /** Further DNS records (MTA-STS TXT, policy hosts). */
  zone?: Pick<DnsZone, 'txt' | 'a'>;
  /** Ranges MX hosts may resolve to (MX_ALLOW_PRIVATE); the receivers are on loopback, so loopback unless said. */
  mxAllowPrivate?: string[];
  /** Extra trusted CAs (SMTP_TLS_CA_FILE) and the MTA-STS policy hosts' port. */
  tlsCa?: string[];
  mtaStsPort?: number;
}): Promise<ProviderRig> {
  const engine = await startTestEngine({ bundle: opts.bundle, noWorker: true });
  const { db } = engine.database;
  const mxPort = await freePort();
  const dns = await startDnsServer({
    zone: {
      mx: Object.fromEntries(opts.providers.map((p) => [p.domain, [{ exchange: p.mx, priority: 10 }]])),
      a: { ...Object.fromEntries(opts.providers.map((p) => [p.mx, [p.address]])), ...opts.zone?.a },
      txt: { ...opts.zone?.txt },
    },
  });
  const receivers: Record<string, SmtpInbox> = {};
  for (const p of opts.providers) {
    receivers[p.domain] = await startSmtpInbox({ host: p.address, port: mxPort, resolver: dkimResolverFromDb(db), ...p.inbox });
  }
  const rules = providerRules(opts.rules);
  // One resolver on the loopback DNS server, shared like a host's resolver; each worker its own cache.
  const resolver = createDnsResolver([dns.address]);
  const deliveryOpts = {
    rules,
    resolver,
    mxPort,
    now: opts.now,
    maxAges: opts.maxAges,
    mxAllowPrivate: opts.mxAllowPrivate ?? ['127.0.0.0/8'],
    tlsCa: opts.tlsCa,
    mtaStsPort: opts.mtaStsPort,
  };
  const delivery = createDeliveryDeps(deliveryOpts);
  const secrets = createSecretBox(Buffer.from(engine.secretKey, 'base64'));
  const logger = createLogger('silent');
  const mailers: Mailer[] = [];
  const stops: (() => Promise<void>)[] = [];
  for (let i = 0; i < (opts.workers ?? 1); i++) {
    // Each worker stands for a separate process: its own SMTP connections and DNS cache.
    const mailer = createMailer({ tlsCa: opts.tlsCa });
    mailers.push(mailer);
    const connection = await NativeConnection.connect({ address: engine.temporalAddress });
    const worker = await createNotificationWorker({
      connection,
      namespace: 'default',
      taskQueue: engine.taskQueue,
      workflowBundle: opts.bundle,
      dataConverter: encryptedDataConverter(engine.payloadKeys),
      deps: {
        db,
        mailer,
        push: engine.push,
        secrets,
        logger,
        publicUrl: 'http://127.0.0.1:3000',
        delivery: createDeliveryDeps(deliveryOpts),
      },
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
      await connection.close();
      await mailer.close();
    });
  }
  const adminKey = `nf_admin_${randomUUID().replace(/-/g, '')}`;
  const api = createApi(
    { db, temporal: engine.client, taskQueue: engine.taskQueue, adminKey, providerRules: rules },
    { onError: (e) => console.error(e) },
  );

  return {
    engine,
    dns,
    receivers,
    delivery,
    mailers,
    adminKey,
    admin: async (method, path, body) =>
      api.request(path, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async addTenant({ pool }) {
      await upsertPool(db, { ...pool, relayHost: null, relayPort: null });
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      const apiKey = generateApiKey('nf_test');
      await provisionTenant(db, secrets, { id: tenantId, name: `Bank ${tenantId}`, poolId: pool.id, domain: `${tenantId}.bank.test`, apiKey });
      // As every test tenant: its own Firebase project on the local FCM endpoint.
      await savePushCredential(db, secrets, tenantId, testServiceAccount(`push-${tenantId}`));
      return { tenantId, apiKey };
    },
    async notify(tenant, email) {
      const userId = `u-${randomUUID().slice(0, 8)}`;
      const put = await engine.request('PUT', `/v1/users/${userId}`, { key: tenant.apiKey, body: { email, locale: 'en' } });
      if (put.status !== 201) throw new Error(`user: ${put.status} ${await put.text()}`);
      const res = await engine.request('POST', '/v1/notifications', {
        key: tenant.apiKey,
        headers: { 'idempotency-key': randomUUID() },
        body: { userId, type: 'account.transaction', data: { amount: 12, currency: 'EUR', merchant: 'Shop', accountLast4: '4242' } },
      });
      if (res.status !== 202) throw new Error(`notify: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async stop() {
      for (const s of stops) await s();
      await Promise.allSettled([...Object.values(receivers).map((r) => r.close()), dns.close()]);
      await engine.stop();
    },
  };
}

/** Rules for a rig: the shipped reputation model, roomy limits, no warm-up to speak of, these providers. */
export function rigRules(providers: ProviderRulesInput['providers']): ProviderRulesInput {
  return {
    version: 1,
    defaults: { connectionsPerIp: 2, messagesPerConnection: 50, messageRate: '50/s' },
    reputation: { halfLifeMinutes: 360, windowHours: 48, priorGood: 5, norm: 60, quarantineBelow: 20, minEvents: 5 },
    warmup: { dailyCaps: [1000] },
    providers,
  };
}

/** The largest number of arrivals inside any window of `windowMs` (arrival times in ms, any order). */
export function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < t.length; j++) {
    while (t[j]! - t[i]! >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}
