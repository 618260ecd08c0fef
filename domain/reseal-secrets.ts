import { and, eq } from 'drizzle-orm';
import { sealedFor, type SecretBox } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { seedMailboxes, sendingDomains, tenantPushCredentials, tenantWebhookSecrets } from '../db/schema.js';

export interface ResealReport {
  /** Ciphertexts sealed again under the newest key, bound to their row. */
  resealed: number;
  /** Already under the newest key. */
  current: number;
  /** Rows whose ciphertext opens under no key of the ring (or not for its row): left as they are. */
  failed: string[];
}

/**
 * Seals every secret at rest again under the keyring's newest key, bound to its row (AAD): after
 * a rotation (a new key first in SECRET_KEYS) and for ciphertexts from before the keyring, which
 * carry no AAD. Each row is updated only if unchanged since it was read. Afterwards an old key
 * is needed only for links and hashes made with it.
 */
export async function resealSecrets(db: Db, secrets: SecretBox, only?: { tenantIds: string[] }): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, current: 0, failed: [] };
  const again = (purpose: Parameters<SecretBox['encrypt']>[0], aad: string, sealed: string, row: string) => {
    if (secrets.keyIdOf(sealed) === secrets.currentKeyId && sealed.startsWith('v2.')) {
      report.current++;
      return undefined;
    }
    try {
      const next = secrets.encrypt(purpose, aad, secrets.decrypt(purpose, aad, sealed));
      report.resealed++;
      return next;
    } catch {
      report.failed.push(row);
      return undefined;
    }
  };
  const within = <T extends { tenantId: string }>(rows: T[]) => (only ? rows.filter((r) => only.tenantIds.includes(r.tenantId)) : rows);

  for (const d of within(await db.select().from(sendingDomains))) {
    const active = again('dkim-key', sealedFor.dkimKey(d.tenantId, d.domain, d.dkimSelector), d.dkimPrivateKeyEnc, `sending domain ${d.domain}`);
    if (active)
      await db
        .update(sendingDomains)
        .set({ dkimPrivateKeyEnc: active })
        .where(and(eq(sendingDomains.id, d.id), eq(sendingDomains.dkimPrivateKeyEnc, d.dkimPrivateKeyEnc)));
    if (d.pendingPrivateKeyEnc && d.pendingSelector) {
      const pending = again(
        'dkim-key',
        sealedFor.dkimKey(d.tenantId, d.domain, d.pendingSelector),
        d.pendingPrivateKeyEnc,
        `sending domain ${d.domain} (pending key)`,
      );
      if (pending)
        await db
          .update(sendingDomains)
          .set({ pendingPrivateKeyEnc: pending })
          .where(and(eq(sendingDomains.id, d.id), eq(sendingDomains.pendingPrivateKeyEnc, d.pendingPrivateKeyEnc)));
    }
  }
  for (const w of within(await db.select().from(tenantWebhookSecrets))) {
    const next = again('webhook-secret', sealedFor.webhookSecret(w.tenantId), w.secretEnc, `webhook secret of ${w.tenantId}`);
    if (next)
      await db
        .update(tenantWebhookSecrets)
        .set({ secretEnc: next })
        .where(and(eq(tenantWebhookSecrets.tenantId, w.tenantId), eq(tenantWebhookSecrets.secretEnc, w.secretEnc)));
  }
  for (const p of within(await db.select().from(tenantPushCredentials))) {
    const next = again('push-credential', sealedFor.pushCredential(p.tenantId), p.credentialEnc, `push credential of ${p.tenantId}`);
    // updated_at stays: the worker's cached Firebase app holds the same credential.
    if (next)
      await db
        .update(tenantPushCredentials)
        .set({ credentialEnc: next })
        .where(and(eq(tenantPushCredentials.tenantId, p.tenantId), eq(tenantPushCredentials.credentialEnc, p.credentialEnc)));
  }
  // Seed mailboxes belong to the operator, not to a tenant: sealed again only in a full pass.
  for (const m of only ? [] : await db.select().from(seedMailboxes)) {
    const next = again('seed-mailbox', sealedFor.seedMailbox(m.id, m.address), m.passwordEnc, `seed mailbox ${m.id}`);
    if (next)
      await db
        .update(seedMailboxes)
        .set({ passwordEnc: next })
        .where(and(eq(seedMailboxes.id, m.id), eq(seedMailboxes.passwordEnc, m.passwordEnc)));
  }
  return report;
}
