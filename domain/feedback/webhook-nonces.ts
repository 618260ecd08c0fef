import { lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { feedbackWebhookNonces } from '../../db/schema.js';

/**
 * Remembers a signed request's nonce (its signature) for the signature's time window. False when
 * it was seen already: the same signed request replayed. Older nonces are dropped on the way;
 * the timestamp check refuses those requests anyway.
 */
export async function firstSeen(db: Db, provider: string, nonce: string, windowSeconds: number): Promise<boolean> {
  await db.delete(feedbackWebhookNonces).where(lt(feedbackWebhookNonces.seenAt, sql`now() - make_interval(secs => ${windowSeconds * 2})`));
  const inserted = await db
    .insert(feedbackWebhookNonces)
    .values({ provider, nonce })
    .onConflictDoNothing()
    .returning({ nonce: feedbackWebhookNonces.nonce });
  return inserted.length === 1;
}
