import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { sealedFor, type SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { tenantWebhookSecrets } from '../../db/schema.js';
import { tenantWebhookSecret } from './sign.js';

type Reader = Pick<Db, 'select'>;

/** The secret a tenant's webhooks are signed with; tenants set up before secrets were issued keep their derived one until they rotate. */
export async function webhookSecretOf(db: Reader, secrets: SecretBox, tenantId: string): Promise<string> {
  const [row] = await db
    .select({ secretEnc: tenantWebhookSecrets.secretEnc })
    .from(tenantWebhookSecrets)
    .where(eq(tenantWebhookSecrets.tenantId, tenantId));
  return row ? secrets.decrypt('webhook-secret', sealedFor.webhookSecret(tenantId), row.secretEnc) : tenantWebhookSecret(secrets, tenantId);
}

export async function hasIssuedSecret(db: Reader, tenantId: string): Promise<boolean> {
  const [row] = await db
    .select({ tenantId: tenantWebhookSecrets.tenantId })
    .from(tenantWebhookSecrets)
    .where(eq(tenantWebhookSecrets.tenantId, tenantId));
  return row !== undefined;
}

/** A new random secret for the tenant, replacing any earlier one; the caller shows it once. */
export async function issueWebhookSecret(db: Pick<Db, 'insert'>, secrets: SecretBox, tenantId: string): Promise<string> {
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const secretEnc = secrets.encrypt('webhook-secret', sealedFor.webhookSecret(tenantId), secret);
  await db
    .insert(tenantWebhookSecrets)
    .values({ tenantId, secretEnc })
    .onConflictDoUpdate({ target: tenantWebhookSecrets.tenantId, set: { secretEnc, createdAt: new Date() } });
  return secret;
}
