// The operator's seed mailboxes: stored with the IMAP password sealed (never read back through
// the API), opened only by the placement check.
import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { sealedFor, type SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { seedMailboxes } from '../../db/schema.js';

export interface SeedInput {
  provider: string;
  address: string;
  imap: { host: string; port: number; tls: boolean; username: string; password: string };
}

/** What the API shows of a seed: everything but the password. */
export interface SeedView {
  id: string;
  provider: string;
  address: string;
  imap: { host: string; port: number; tls: boolean; username: string };
  createdAt: Date;
}

/** A seed with its opened password, for the IMAP check only. */
export interface SeedLogin extends SeedView {
  password: string;
}

type Row = typeof seedMailboxes.$inferSelect;
const view = (r: Row): SeedView => ({
  id: r.id,
  provider: r.provider,
  address: r.address,
  imap: { host: r.imapHost, port: r.imapPort, tls: r.imapTls, username: r.username },
  createdAt: r.createdAt,
});

/** Adds a seed; null when one with this address exists already. */
export async function addSeed(db: Db, secrets: SecretBox, s: SeedInput): Promise<SeedView | null> {
  const id = randomUUID();
  const address = s.address.toLowerCase();
  const [row] = await db
    .insert(seedMailboxes)
    .values({
      id,
      provider: s.provider,
      address,
      imapHost: s.imap.host,
      imapPort: s.imap.port,
      imapTls: s.imap.tls,
      username: s.imap.username,
      passwordEnc: secrets.encrypt('seed-mailbox', sealedFor.seedMailbox(id, address), s.imap.password),
    })
    .onConflictDoNothing({ target: seedMailboxes.address })
    .returning();
  return row ? view(row) : null;
}

export async function listSeeds(db: Db): Promise<SeedView[]> {
  return (await db.select().from(seedMailboxes).orderBy(asc(seedMailboxes.provider), asc(seedMailboxes.address))).map(view);
}

/** True when there was one to delete. */
export async function deleteSeed(db: Db, id: string): Promise<boolean> {
  return (await db.delete(seedMailboxes).where(eq(seedMailboxes.id, id)).returning({ id: seedMailboxes.id })).length > 0;
}

export async function seedLogins(db: Db, secrets: SecretBox): Promise<SeedLogin[]> {
  const rows = await db.select().from(seedMailboxes);
  return rows.map((r) => ({ ...view(r), password: secrets.decrypt('seed-mailbox', sealedFor.seedMailbox(r.id, r.address), r.passwordEnc) }));
}
