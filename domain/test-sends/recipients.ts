// The addresses a tenant may send test messages to. Each is confirmed by a code mailed to it and
// given back by the tenant, so a test send only reaches a mailbox whose reader agreed to get them.
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { and, asc, count, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { testRecipients } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { normaliseAddress } from '../feedback/suppression.js';
import { conflict, invalid, notFound } from '../templates/errors.js';

/** Enough for a team of reviewers; not a mailing list. */
export const MAX_TEST_RECIPIENTS = 20;
/** A mailed code works this long. */
export const CODE_TTL_MS = 24 * 3_600_000;
/** Wrong codes allowed per mailed code (8 digits: a guess succeeds once in 20 million). */
export const MAX_CODE_ATTEMPTS = 5;

type Row = typeof testRecipients.$inferSelect;

export interface TestRecipientView {
  id: string;
  email: string;
  status: 'pending' | 'confirmed';
  createdAt: string;
  confirmedAt: string | null;
}

const view = (r: Row): TestRecipientView => ({
  id: r.id,
  email: r.email,
  status: r.confirmedAt ? 'confirmed' : 'pending',
  createdAt: r.createdAt.toISOString(),
  confirmedAt: r.confirmedAt?.toISOString() ?? null,
});

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');
const domainOf = (email: string) => email.split('@').pop() ?? '';

export async function listTestRecipients(db: Db, tenantId: string): Promise<TestRecipientView[]> {
  const rows = await db.select().from(testRecipients).where(eq(testRecipients.tenantId, tenantId)).orderBy(asc(testRecipients.email));
  return rows.map(view);
}

/** Whether test messages may go to this address: it is one of the tenant's confirmed test recipients. */
export async function isConfirmedTestRecipient(db: Pick<Db, 'select'>, tenantId: string, email: string): Promise<boolean> {
  const [row] = await db
    .select({ id: testRecipients.id })
    .from(testRecipients)
    .where(and(eq(testRecipients.tenantId, tenantId), eq(testRecipients.email, normaliseAddress(email)), isNotNull(testRecipients.confirmedAt)));
  return Boolean(row);
}

/**
 * Adds an address as pending with a fresh code (a pending one gets a new code, the old one stops
 * working). `code` is null when the address is already confirmed: nothing is to be mailed.
 */
export async function startTestRecipient(
  db: Db,
  tenantId: string,
  email: string,
): Promise<{ recipient: TestRecipientView; code: string | null; created: boolean }> {
  const address = normaliseAddress(email);
  const [existing] = await db
    .select()
    .from(testRecipients)
    .where(and(eq(testRecipients.tenantId, tenantId), eq(testRecipients.email, address)));
  if (existing?.confirmedAt) return { recipient: view(existing), code: null, created: false };
  if (!existing) {
    const [{ n }] = (await db.select({ n: count() }).from(testRecipients).where(eq(testRecipients.tenantId, tenantId))) as [{ n: number }];
    if (n >= MAX_TEST_RECIPIENTS)
      throw conflict(`This tenant has ${MAX_TEST_RECIPIENTS} test recipients, the most allowed; remove one with DELETE /v1/test-recipients/{id}`);
  }
  const code = String(randomInt(0, 100_000_000)).padStart(8, '0');
  const fresh = { codeHash: hashCode(code), codeExpiresAt: new Date(Date.now() + CODE_TTL_MS), failedAttempts: 0 };
  const [row] = await db
    .insert(testRecipients)
    .values({ tenantId, email: address, ...fresh })
    .onConflictDoUpdate({ target: [testRecipients.tenantId, testRecipients.email], set: fresh })
    .returning();
  return { recipient: view(row!), code, created: !existing };
}

/** Checks the code mailed to the recipient; right: confirmed, wrong: counted against MAX_CODE_ATTEMPTS. */
export async function confirmTestRecipient(db: Db, tenantId: string, id: string, code: string): Promise<TestRecipientView> {
  const [row] = await db
    .select()
    .from(testRecipients)
    .where(and(eq(testRecipients.tenantId, tenantId), eq(testRecipients.id, id)));
  if (!row) throw notFound(`No test recipient ${id}`);
  if (row.confirmedAt) return view(row);
  const askAgain = 'ask for a new code with POST /v1/test-recipients';
  if (!row.codeHash || !row.codeExpiresAt || row.codeExpiresAt.getTime() < Date.now()) throw conflict(`The code has expired; ${askAgain}`);
  if (row.failedAttempts >= MAX_CODE_ATTEMPTS) throw conflict(`Too many wrong codes; ${askAgain}`);
  const given = Buffer.from(hashCode(code.trim()));
  if (!timingSafeEqual(given, Buffer.from(row.codeHash))) {
    await db
      .update(testRecipients)
      .set({ failedAttempts: row.failedAttempts + 1 })
      .where(eq(testRecipients.id, row.id));
    const left = MAX_CODE_ATTEMPTS - row.failedAttempts - 1;
    throw invalid(`The code does not match; ${left > 0 ? `${left} tries left` : askAgain}`, [{ path: 'body.code', message: 'does not match' }]);
  }
  const [updated] = await db.transaction(async (tx) => {
    const result = await tx
      .update(testRecipients)
      .set({ confirmedAt: new Date(), codeHash: null, codeExpiresAt: null, failedAttempts: 0 })
      .where(eq(testRecipients.id, row.id))
      .returning();
    await appendAudit(tx, { tenantId, step: 'test_recipient.confirmed', detail: { id: row.id, domain: domainOf(row.email) } });
    return result;
  });
  return view(updated!);
}

/** Takes back an address added by a request whose code could not be sent (refused or not queued). */
export async function forgetNewTestRecipient(db: Db, tenantId: string, id: string): Promise<void> {
  await db.delete(testRecipients).where(and(eq(testRecipients.tenantId, tenantId), eq(testRecipients.id, id)));
}

export async function removeTestRecipient(db: Db, tenantId: string, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(testRecipients)
      .where(and(eq(testRecipients.tenantId, tenantId), eq(testRecipients.id, id)))
      .returning({ email: testRecipients.email });
    if (!row) throw notFound(`No test recipient ${id}`);
    await appendAudit(tx, { tenantId, step: 'test_recipient.removed', detail: { id, domain: domainOf(row.email) } });
  });
}

/** The message that carries the code: the engine's wording, never the tenant's content. */
export function confirmationMail(tenantName: string, code: string): { subject: string; html: string; text: string } {
  const name = tenantName.replace(/[\r\n]/g, ' ');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const lines = [
    `${name} asked to send test messages of its notifications to this address.`,
    `If you agreed, give them this code: ${code}`,
    'It works for 24 hours. If you did not agree, ignore this message: nothing more will be sent.',
  ];
  return {
    subject: `Confirm test messages from ${name}`,
    html: `<!doctype html><html><body>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}</body></html>`,
    text: `${lines.join('\n\n')}\n`,
  };
}
