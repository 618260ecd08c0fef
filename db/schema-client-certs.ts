import { index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from './columns.js';
import { tenants } from './schema-tenants.js';

/**
 * Client certificates (mTLS) an operator registered for a tenant, pinned by the SHA-256 fingerprint
 * of the whole certificate: a request presenting one may only use that tenant's API keys, and a
 * tenant with any registered certificate needs one of them with every request (see api/client-cert.ts).
 */
export const tenantClientCerts = pgTable(
  'tenant_client_certs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Upper-case hex, colon-separated, as node's X509Certificate.fingerprint256 writes it. */
    fingerprint: text('fingerprint').notNull(),
    /** What the operator called it, and the certificate's subject and expiry when it was registered from PEM. */
    name: text('name').notNull(),
    subject: text('subject'),
    notAfter: at('not_after'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('tenant_client_certs_fingerprint_idx').on(t.fingerprint), index('tenant_client_certs_tenant_idx').on(t.tenantId)],
);
