import { desc, eq, sql } from 'drizzle-orm';
import { sealedFor, type SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { sendingDomains } from '../../db/schema.js';
import { TtlCache } from '../../lib/ttl-cache.js';
import { DOMAIN_CHANGES_CHANNEL } from '../../domain/sending-domains/records.js';

export interface Sender {
  domain: string;
  fromName: string;
  fromLocalPart: string;
  dkimSelector: string;
  /** Decrypted once per load, not per message. */
  dkimPrivateKey: string;
}

/** A changed sending domain or rotated DKIM key is picked up by the worker within this. */
export const SENDER_CACHE_TTL_MS = 60_000;

/** The tenant's sending domain and decrypted DKIM key, kept per worker for SENDER_CACHE_TTL_MS. */
export function senderCache(db: Db, secrets: SecretBox) {
  const cache = new TtlCache<string, Sender>(SENDER_CACHE_TTL_MS, 10_000);
  // A DKIM switch after rotation (or a new verified domain) reaches this worker at once.
  db.$client
    .listen(
      DOMAIN_CHANGES_CHANNEL,
      (tenantId) => cache.delete(tenantId),
      () => cache.clear(),
    )
    .catch(() => undefined);
  return {
    get: (tenantId: string) =>
      cache.get(tenantId, async () => {
        // The domain whose DKIM record verified most recently (a sandbox tenant's unverified one otherwise).
        const [d] = await db
          .select()
          .from(sendingDomains)
          .where(eq(sendingDomains.tenantId, tenantId))
          .orderBy(sql`${sendingDomains.dkimVerifiedAt} desc nulls last`, desc(sendingDomains.createdAt))
          .limit(1);
        if (!d) return undefined;
        return {
          domain: d.domain,
          fromName: d.fromName,
          fromLocalPart: d.fromLocalPart,
          dkimSelector: d.dkimSelector,
          dkimPrivateKey: secrets.decrypt('dkim-key', sealedFor.dkimKey(d.tenantId, d.domain, d.dkimSelector), d.dkimPrivateKeyEnc),
        };
      }),
  };
}
