import { X509Certificate } from 'node:crypto';
import { and, asc, eq, or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tenantClientCerts, tenants } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { TenantError } from './tenants.js';

export interface ClientCertView {
  fingerprint: string;
  name: string;
  subject: string | null;
  notAfter: string | null;
  createdAt: string;
}

/** "ab:CD..." or "abcd..." (64 hex digits) -> "AB:CD:...", the form node's TLS socket reports. */
export function normalizeFingerprint(input: string): string | undefined {
  const hex = input.replace(/:/g, '').toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? hex.match(/../g)!.join(':') : undefined;
}

const view = (r: typeof tenantClientCerts.$inferSelect): ClientCertView => ({
  fingerprint: r.fingerprint,
  name: r.name,
  subject: r.subject,
  notAfter: r.notAfter?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
});

/**
 * Registers a client certificate for a tenant, from its PEM (fingerprint, subject and expiry read
 * from it) or from its SHA-256 fingerprint alone. A certificate belongs to one tenant at most.
 */
export async function registerClientCert(
  db: Db,
  tenantId: string,
  input: { certificate?: string; fingerprint?: string; name?: string; by: string },
): Promise<ClientCertView> {
  let fingerprint: string | undefined;
  let subject: string | null = null;
  let notAfter: Date | null = null;
  if (input.certificate !== undefined) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(input.certificate);
    } catch {
      throw new TenantError('invalid', 'certificate is not a PEM-encoded X.509 certificate');
    }
    fingerprint = cert.fingerprint256;
    if (input.fingerprint !== undefined && normalizeFingerprint(input.fingerprint) !== fingerprint)
      throw new TenantError('invalid', 'fingerprint does not match the certificate (SHA-256 of the DER certificate)');
    subject = cert.subject;
    notAfter = new Date(cert.validTo);
    if (notAfter.getTime() <= Date.now()) throw new TenantError('invalid', `certificate expired on ${notAfter.toISOString()}`);
  } else if (input.fingerprint !== undefined) {
    fingerprint = normalizeFingerprint(input.fingerprint);
    if (!fingerprint) throw new TenantError('invalid', 'fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed');
  } else throw new TenantError('invalid', 'send the certificate (PEM) or its SHA-256 fingerprint');
  return db.transaction(async (tx) => {
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) throw new TenantError('not-found', `No tenant ${tenantId}`);
    const [row] = await tx
      .insert(tenantClientCerts)
      .values({ tenantId, fingerprint, name: input.name ?? subject ?? fingerprint.slice(0, 23), subject, notAfter })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new TenantError('conflict', `The certificate ${fingerprint} is already registered (to this or another tenant)`);
    await appendAudit(tx, { tenantId, step: 'client_cert.registered', detail: { fingerprint, by: input.by } });
    return view(row);
  });
}

export async function listClientCerts(db: Db, tenantId: string): Promise<ClientCertView[]> {
  const [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new TenantError('not-found', `No tenant ${tenantId}`);
  const rows = await db.select().from(tenantClientCerts).where(eq(tenantClientCerts.tenantId, tenantId)).orderBy(asc(tenantClientCerts.createdAt));
  return rows.map(view);
}

/** False when the tenant has no such certificate. */
export async function removeClientCert(db: Db, tenantId: string, fingerprint: string, by: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .delete(tenantClientCerts)
      .where(and(eq(tenantClientCerts.tenantId, tenantId), eq(tenantClientCerts.fingerprint, fingerprint)))
      .returning({ id: tenantClientCerts.id });
    if (!row) return false;
    await appendAudit(tx, { tenantId, step: 'client_cert.removed', detail: { fingerprint, by } });
    return true;
  });
}

/**
 * What the registered certificates say about one request: the tenant the presented certificate
 * belongs to (undefined: not registered, or none presented), and whether the key's tenant has
 * registered certificates at all (then it must present one). One indexed query.
 */
export async function certBinding(
  db: Db,
  keyTenantId: string,
  fingerprint: string | undefined,
): Promise<{ certTenantId: string | undefined; tenantHasCerts: boolean }> {
  const rows = await db
    .select({ tenantId: tenantClientCerts.tenantId, fingerprint: tenantClientCerts.fingerprint })
    .from(tenantClientCerts)
    .where(
      fingerprint
        ? or(eq(tenantClientCerts.tenantId, keyTenantId), eq(tenantClientCerts.fingerprint, fingerprint))
        : eq(tenantClientCerts.tenantId, keyTenantId),
    );
  // A tenant has a few certificates (one per calling system, two while one is replaced).
  const presented = fingerprint ? rows.find((r) => r.fingerprint === fingerprint) : undefined;
  return { certTenantId: presented?.tenantId, tenantHasCerts: rows.some((r) => r.tenantId === keyTenantId) };
}
