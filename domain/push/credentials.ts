import { createPrivateKey } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { sealedFor, type SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { tenantPushCredentials } from '../../db/schema.js';

/** What a tenant may read back of its Firebase service account: never the key itself. */
export interface PushCredentialView {
  projectId: string;
  clientEmail: string;
  updatedAt: Date;
}

/** The fields firebase-admin's cert() uses, from a service-account JSON as Firebase hands it out. */
export interface ServiceAccount {
  type: 'service_account';
  project_id: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  client_id?: string;
  token_uri?: string;
}

// Google Cloud project ids: 6-30 lower-case letters, digits and hyphens, starting with a letter.
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** The service account, or what is wrong with it (said without echoing the key). */
export function checkServiceAccount(input: Record<string, unknown>): { ok: true; account: ServiceAccount } | { ok: false; detail: string } {
  const str = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  if (input.type !== 'service_account')
    return { ok: false, detail: 'type must be "service_account" (the JSON key file of a Firebase service account)' };
  const projectId = str('project_id');
  if (!projectId || !PROJECT_ID.test(projectId)) return { ok: false, detail: 'project_id must be a Firebase project id (6-30 of a-z, 0-9 and -)' };
  const clientEmail = str('client_email');
  if (!clientEmail || !/^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$/.test(clientEmail))
    return { ok: false, detail: 'client_email must be the service account address (…@….iam.gserviceaccount.com)' };
  const privateKey = str('private_key');
  try {
    if (!privateKey || createPrivateKey(privateKey).asymmetricKeyType !== 'rsa') throw new Error('not RSA');
  } catch {
    return { ok: false, detail: 'private_key must be the service account RSA private key (PEM)' };
  }
  const optional = Object.fromEntries(['private_key_id', 'client_id', 'token_uri'].flatMap((k) => (str(k) ? [[k, str(k)]] : [])));
  return { ok: true, account: { type: 'service_account', project_id: projectId, client_email: clientEmail, private_key: privateKey, ...optional } };
}

const view = (r: PushCredentialView): PushCredentialView => ({ projectId: r.projectId, clientEmail: r.clientEmail, updatedAt: r.updatedAt });

/** Stores (or replaces) the tenant's service account, sealed and bound to the tenant. */
export async function savePushCredential(
  db: Pick<Db, 'insert'>,
  secrets: SecretBox,
  tenantId: string,
  account: ServiceAccount,
): Promise<PushCredentialView> {
  const values = {
    projectId: account.project_id,
    clientEmail: account.client_email,
    credentialEnc: secrets.encrypt('push-credential', sealedFor.pushCredential(tenantId), JSON.stringify(account)),
    updatedAt: new Date(),
  };
  const [row] = await db
    .insert(tenantPushCredentials)
    .values({ tenantId, ...values })
    .onConflictDoUpdate({ target: tenantPushCredentials.tenantId, set: values })
    .returning();
  return view(row!);
}

export async function pushCredentialOf(db: Pick<Db, 'select'>, tenantId: string): Promise<PushCredentialView | undefined> {
  const [row] = await db.select().from(tenantPushCredentials).where(eq(tenantPushCredentials.tenantId, tenantId));
  return row && view(row);
}

/** True when there was one to delete. */
export async function deletePushCredential(db: Pick<Db, 'delete'>, tenantId: string): Promise<boolean> {
  const rows = await db
    .delete(tenantPushCredentials)
    .where(eq(tenantPushCredentials.tenantId, tenantId))
    .returning({ tenantId: tenantPushCredentials.tenantId });
  return rows.length > 0;
}
