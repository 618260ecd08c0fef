import { generateKeyPairSync } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { hashApiKey, sealedFor, type SecretBox } from '../config/secrets.js';
import { seedTenantDefaults } from './seed.js';
import type { Db } from './client.js';
import { apiKeys, sendingIps, pools, sendingDomains, tenants } from './schema.js';

export interface PoolSpec {
  id: string;
  name: string;
  kind: 'shared' | 'dedicated';
  relayHost: string | null;
  relayPort: number | null;
  ips: { id: string; localAddress: string; ehloName: string; weight?: number }[];
}

/** Creates or updates a pool and its IPs (idempotent). */
export async function upsertPool(db: Db, spec: PoolSpec): Promise<void> {
  await db.transaction(async (tx) => {
    const { ips, ...pool } = spec;
    await tx
      .insert(pools)
      .values(pool)
      .onConflictDoUpdate({ target: pools.id, set: { name: pool.name, kind: pool.kind, relayHost: pool.relayHost, relayPort: pool.relayPort } });
    for (const s of ips) {
      const values = { ...s, poolId: spec.id, weight: s.weight ?? 100 };
      await tx.insert(sendingIps).values(values).onConflictDoUpdate({ target: sendingIps.id, set: values });
    }
  });
}

export interface TenantSpec {
  id: string;
  name: string;
  poolId: string;
  domain: string;
  fromName?: string;
  /** The clear API key to register (hashed before storage). */
  apiKey: string;
}

/**
 * Creates a tenant with its API key, the defaults every tenant starts with (seedTenantDefaults:
 * categories, layout, the four demo types with version 1 published) and a sending domain with a fresh 2048-bit DKIM key (encrypted at rest). Idempotent.
 */
export async function provisionTenant(db: Db, secrets: SecretBox, spec: TenantSpec): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(tenants).values({ id: spec.id, name: spec.name, poolId: spec.poolId }).onConflictDoNothing();
    await tx
      .insert(apiKeys)
      .values({ tenantId: spec.id, keyHash: hashApiKey(spec.apiKey), prefix: spec.apiKey.slice(0, 12) })
      .onConflictDoNothing();
    await seedTenantDefaults(tx, spec.id);
    const existing = await tx
      .select({ id: sendingDomains.id })
      .from(sendingDomains)
      .where(and(eq(sendingDomains.tenantId, spec.id), eq(sendingDomains.domain, spec.domain)));
    if (existing.length === 0) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      // Provisioned in code (demo, tests, benchmarks): the operator vouches for the DNS, so the
      // domain counts as verified; domains added through the API must pass their DNS check.
      const now = new Date();
      await tx.insert(sendingDomains).values({
        tenantId: spec.id,
        domain: spec.domain,
        fromName: spec.fromName ?? spec.name,
        dkimSelector: 'nf1',
        dkimPrivateKeyEnc: secrets.encrypt(
          'dkim-key',
          sealedFor.dkimKey(spec.id, spec.domain, 'nf1'),
          privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        ),
        dkimPublicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        dkimVerifiedAt: now,
        status: 'verified',
        firstVerifiedAt: now,
      });
    }
  });
}

// The defaults every tenant starts with (categories, layout, the four demo types with version 1
// published): the one call site for code provisioning and POST /v1/admin/tenants.
export { seedTenantDefaults };

/** The DKIM TXT record a tenant publishes (and the dev DNS answers) for its selector. */
export function dkimTxtRecord(publicKeyBase64: string): string {
  return `v=DKIM1; k=rsa; p=${publicKeyBase64}`;
}
