import { and, asc, eq, sql } from 'drizzle-orm';
import type { DomainSettings } from '../../config/domain-settings.js';
import { sealedFor, type SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { sendingIps, sendingDomains, tenants } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { DKIM_SELECTORS, DOMAIN_CHANGES_CHANNEL, expectedRecords, generateDkimKey } from './records.js';
import { checkRecords, type RecordCheck, type TxtResolver } from './verify.js';

export type { DomainSettings };

/** Dev defaults; production sets BOUNCE_HOST (and SPF_INCLUDE) so the records point at its own hosts. */
export const defaultDomainSettings: DomainSettings = { bounceHost: 'bounce.notiflow.test', rotationGraceHours: 72 };

export class DomainError extends Error {
  constructor(
    readonly kind: 'not-found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

type Row = typeof sendingDomains.$inferSelect;

async function poolIps(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db
    .select({ ip: sendingIps.localAddress })
    .from(sendingIps)
    .innerJoin(tenants, eq(tenants.poolId, sendingIps.poolId))
    .where(eq(tenants.id, tenantId))
    .orderBy(asc(sendingIps.id));
  return rows.map((r) => r.ip);
}

function view(row: Row, settings: DomainSettings, ips: string[]) {
  const checks = new Map(((row.lastCheck as RecordCheck[] | null) ?? []).map((c) => [`${c.purpose}|${c.host}`, c]));
  const safeAt = row.retiredAt ? new Date(row.retiredAt.getTime() + settings.rotationGraceHours * 3_600_000) : null;
  return {
    domain: row.domain,
    fromName: row.fromName,
    fromAddress: `${row.fromLocalPart}@${row.domain}`,
    status: row.status,
    dkimSelector: row.dkimSelector,
    dkimVerified: row.dkimVerifiedAt !== null,
    firstVerifiedAt: row.firstVerifiedAt?.toISOString() ?? null,
    lastCheckedAt: row.lastCheckedAt?.toISOString() ?? null,
    records: expectedRecords(row, settings, ips).map((r) => {
      const c = checks.get(`${r.purpose}|${r.host}`);
      return {
        purpose: r.purpose,
        type: r.type,
        host: r.host,
        value: r.value,
        required: r.required,
        ...(c ? { status: c.status, observed: c.observed, message: c.message } : {}),
      };
    }),
    rotation: {
      pendingSelector: row.pendingSelector,
      previousSelector: row.retiredSelector,
      previousSafeToRemoveAt: safeAt?.toISOString() ?? null,
      previousSafeToRemove: safeAt ? safeAt.getTime() <= Date.now() : false,
      rotateEveryDays: row.rotateEveryDays,
    },
    createdAt: row.createdAt.toISOString(),
  };
}
export type DomainView = ReturnType<typeof view>;

async function load(db: Db, tenantId: string, domain: string): Promise<Row> {
  const [row] = await db
    .select()
    .from(sendingDomains)
    .where(and(eq(sendingDomains.tenantId, tenantId), eq(sendingDomains.domain, domain.toLowerCase())));
  if (!row) throw new DomainError('not-found', `No sending domain ${domain} for this tenant`);
  return row;
}

const duplicate = (domain: string) => `${domain} is already a sending domain (of this or another tenant)`;

/** Adds a domain with a fresh DKIM key (private key encrypted at rest); answers the records to publish. */
export async function addDomain(
  db: Db,
  secrets: SecretBox,
  settings: DomainSettings,
  tenantId: string,
  spec: { domain: string; fromName?: string; by: string },
): Promise<DomainView> {
  const domain = spec.domain.toLowerCase();
  // A taken domain is refused before a key is made: a 409 costs no key generation.
  const [taken] = await db.select({ id: sendingDomains.id }).from(sendingDomains).where(eq(sendingDomains.domain, domain)).limit(1);
  if (taken) throw new DomainError('conflict', duplicate(domain));
  const key = await generateDkimKey();
  const [tenant] = await db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, tenantId));
  const row = await db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(sendingDomains)
      .values({
        tenantId,
        domain,
        fromName: spec.fromName ?? tenant?.name ?? tenantId,
        dkimSelector: DKIM_SELECTORS[0],
        dkimPrivateKeyEnc: secrets.encrypt('dkim-key', sealedFor.dkimKey(tenantId, domain, DKIM_SELECTORS[0]), key.privateKeyPem),
        dkimPublicKey: key.publicKeyBase64,
      })
      .onConflictDoNothing()
      .returning();
    // Added by someone else since the check above.
    if (!inserted) throw new DomainError('conflict', duplicate(domain));
    await appendAudit(tx, { tenantId, step: 'domain.added', detail: { domain, selector: inserted.dkimSelector, by: spec.by } });
    return inserted;
  });
  return view(row, settings, await poolIps(db, tenantId));
}

export async function listDomains(db: Db, settings: DomainSettings, tenantId: string): Promise<DomainView[]> {
  const rows = await db.select().from(sendingDomains).where(eq(sendingDomains.tenantId, tenantId)).orderBy(asc(sendingDomains.domain));
  const ips = await poolIps(db, tenantId);
  return rows.map((r) => view(r, settings, ips));
}

export async function getDomain(db: Db, settings: DomainSettings, tenantId: string, domain: string): Promise<DomainView> {
  return view(await load(db, tenantId, domain), settings, await poolIps(db, tenantId));
}

export interface VerifyOutcome {
  view: DomainView;
  checks: RecordCheck[];
  /** Was verified before this check, and a required record now fails. */
  regressed: boolean;
  /** A pending DKIM key verified and signing switched to it. */
  switchedTo?: string;
}

/**
 * Looks every record up through the engine's resolver and stores the result. A pending rotated
 * key whose record is published takes over signing; the old key's record is then kept for the grace.
 */
export async function verifyDomain(
  db: Db,
  resolver: TxtResolver,
  settings: DomainSettings,
  tenantId: string,
  domain: string,
  by: string,
): Promise<VerifyOutcome> {
  const row = await load(db, tenantId, domain);
  const ips = await poolIps(db, tenantId);
  const records = expectedRecords(row, settings, ips);
  const checks = await checkRecords(resolver, row.domain, records);
  const now = new Date();
  const requiredOk = checks.filter((c) => c.required).every((c) => c.status === 'ok');
  const dkimOk = checks.find((c) => c.purpose === 'dkim')?.status === 'ok';
  const nextOk = checks.find((c) => c.purpose === 'dkim-next')?.status === 'ok';
  const status = requiredOk ? 'verified' : row.firstVerifiedAt ? 'failing' : 'pending';
  const regressed = row.status === 'verified' && status === 'failing';
  const set: Partial<Row> = {
    status,
    lastCheckedAt: now,
    lastCheck: checks,
    ...(dkimOk ? { dkimVerifiedAt: now } : {}),
    ...(requiredOk && !row.firstVerifiedAt ? { firstVerifiedAt: now } : {}),
  };
  let switchedTo: string | undefined;
  if (nextOk && row.pendingSelector && row.pendingPrivateKeyEnc && row.pendingPublicKey) {
    // The new key is in DNS: sign with it from now on; the old one's record stays for the grace.
    switchedTo = row.pendingSelector;
    Object.assign(set, {
      dkimSelector: row.pendingSelector,
      dkimPrivateKeyEnc: row.pendingPrivateKeyEnc,
      dkimPublicKey: row.pendingPublicKey,
      dkimVerifiedAt: now,
      dkimCreatedAt: now,
      retiredSelector: row.dkimSelector,
      retiredPublicKey: row.dkimPublicKey,
      retiredAt: now,
      pendingSelector: null,
      pendingPrivateKeyEnc: null,
      pendingPublicKey: null,
    });
  }
  const [updated] = await db.transaction(async (tx) => {
    const result = await tx.update(sendingDomains).set(set).where(eq(sendingDomains.id, row.id)).returning();
    await appendAudit(tx, {
      tenantId,
      step: switchedTo ? 'domain.dkim_switched' : 'domain.checked',
      detail: {
        domain: row.domain,
        status,
        records: Object.fromEntries(checks.map((c) => [c.purpose, c.status])),
        ...(switchedTo ? { selector: switchedTo, previous: row.dkimSelector } : {}),
        by,
      },
    });
    if (switchedTo || (dkimOk && !row.dkimVerifiedAt)) await tx.execute(sql`select pg_notify(${DOMAIN_CHANGES_CHANNEL}, ${tenantId})`);
    return result;
  });
  return { view: view(updated!, settings, ips), checks, regressed, switchedTo };
}

/**
 * Starts a DKIM rotation: a new key on the idle selector, returned as its record to publish.
 * Signing switches once a verify sees that record.
 */
export async function rotateDkim(
  db: Db,
  secrets: SecretBox,
  settings: DomainSettings,
  tenantId: string,
  domain: string,
  by: string,
): Promise<DomainView> {
  const row = await load(db, tenantId, domain);
  if (row.pendingSelector)
    throw new DomainError('conflict', `A rotation to selector ${row.pendingSelector} is already waiting for its DNS record; publish it and verify`);
  const selector = row.dkimSelector === DKIM_SELECTORS[0] ? DKIM_SELECTORS[1] : DKIM_SELECTORS[0];
  if (row.retiredSelector === selector && row.retiredAt && row.retiredAt.getTime() + settings.rotationGraceHours * 3_600_000 > Date.now()) {
    throw new DomainError(
      'conflict',
      `Selector ${selector} still serves the previous key until ${new Date(row.retiredAt.getTime() + settings.rotationGraceHours * 3_600_000).toISOString()}; rotate after that`,
    );
  }
  const key = await generateDkimKey();
  const [updated] = await db.transaction(async (tx) => {
    const result = await tx
      .update(sendingDomains)
      .set({
        pendingSelector: selector,
        pendingPrivateKeyEnc: secrets.encrypt('dkim-key', sealedFor.dkimKey(tenantId, row.domain, selector), key.privateKeyPem),
        pendingPublicKey: key.publicKeyBase64,
        ...(row.retiredSelector === selector ? { retiredSelector: null, retiredPublicKey: null, retiredAt: null } : {}),
      })
      .where(eq(sendingDomains.id, row.id))
      .returning();
    await appendAudit(tx, { tenantId, step: 'domain.dkim_rotation_started', detail: { domain: row.domain, selector, by } });
    return result;
  });
  return view(updated!, settings, await poolIps(db, tenantId));
}

/** Schedules (or stops, with null) a DKIM rotation every N days, started by the daily domain check. */
export async function setRotationInterval(
  db: Db,
  settings: DomainSettings,
  tenantId: string,
  domain: string,
  days: number | null,
  by: string,
): Promise<DomainView> {
  const row = await load(db, tenantId, domain);
  await db.transaction(async (tx) => {
    await tx.update(sendingDomains).set({ rotateEveryDays: days }).where(eq(sendingDomains.id, row.id));
    await appendAudit(tx, { tenantId, step: 'domain.rotation_scheduled', detail: { domain: row.domain, days, by } });
  });
  return getDomain(db, settings, tenantId, domain);
}

/** Mail may be triggered when a DKIM-verified domain exists or the tenant is a sandbox. */
export async function canSendFromDomain(db: Db, tenantId: string): Promise<{ ok: true } | { ok: false; detail: string }> {
  const [t] = await db.select({ sandbox: tenants.sandbox }).from(tenants).where(eq(tenants.id, tenantId));
  if (t?.sandbox) return { ok: true };
  const rows = await db
    .select({ domain: sendingDomains.domain, verified: sendingDomains.dkimVerifiedAt })
    .from(sendingDomains)
    .where(eq(sendingDomains.tenantId, tenantId));
  if (rows.some((r) => r.verified)) return { ok: true };
  if (rows.length === 0)
    return { ok: false, detail: 'This tenant has no sending domain: add one with POST /v1/sending-domains, publish its records and verify it' };
  return {
    ok: false,
    detail: `The DKIM record of ${rows.map((r) => r.domain).join(', ')} has not verified yet: publish the records from GET /v1/sending-domains/{domain} and call POST /v1/sending-domains/{domain}/verify`,
  };
}
