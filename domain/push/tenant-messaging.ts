import { eq } from 'drizzle-orm';
import { deleteApp } from 'firebase-admin/app';
import type { Messaging } from 'firebase-admin/messaging';
import { sealedFor, type SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { tenantPushCredentials } from '../../db/schema.js';
import { createMessaging, type FcmConfig } from './fcm-client.js';

/** The Firebase client a tenant's pushes go through, or why it has none (a permanent failure). */
export type TenantMessaging = { ok: true; messaging: Messaging; projectId: string } | { ok: false; reason: string };

export interface PushClients {
  forTenant(tenantId: string): Promise<TenantMessaging>;
}

export interface PushClientsConfig {
  db: Pick<Db, 'select'>;
  secrets: SecretBox;
  /** The local FCM endpoint (dev, tests): every tenant's app is sent there, in its own project's path. */
  local?: FcmConfig['endpoint'];
  /** The engine's own Firebase project (FCM_SERVICE_ACCOUNT_PATH or the dev endpoint), only for the tenants listed. */
  fallback?: { messaging: Messaging; projectId: string; tenants: string[] };
}

export const NO_CREDENTIAL_REASON = 'Push is not set up for this tenant: upload its Firebase service account with PUT /v1/push-credentials';

/**
 * Each tenant's pushes go through a firebase-admin app built from its own service account, so
 * they reach its own Firebase project. Apps are kept per tenant and rebuilt when the credential
 * changes (its updated_at), and dropped when it is deleted.
 */
export function tenantPushClients(cfg: PushClientsConfig): PushClients {
  const apps = new Map<string, { stamp: number; projectId: string; messaging: Promise<Messaging> }>();
  const drop = (tenantId: string) => {
    const old = apps.get(tenantId);
    apps.delete(tenantId);
    if (old) void old.messaging.then((m) => deleteApp(m.app)).catch(() => undefined);
  };
  return {
    async forTenant(tenantId) {
      const [row] = await cfg.db
        .select({ projectId: tenantPushCredentials.projectId, updatedAt: tenantPushCredentials.updatedAt, enc: tenantPushCredentials.credentialEnc })
        .from(tenantPushCredentials)
        .where(eq(tenantPushCredentials.tenantId, tenantId));
      if (!row) {
        drop(tenantId);
        const fb = cfg.fallback;
        if (fb && fb.tenants.includes(tenantId)) return { ok: true, messaging: fb.messaging, projectId: fb.projectId };
        return { ok: false, reason: NO_CREDENTIAL_REASON };
      }
      let cached = apps.get(tenantId);
      if (!cached || cached.stamp !== row.updatedAt.getTime()) {
        drop(tenantId);
        const build = async () => {
          const json = cfg.secrets.decrypt('push-credential', sealedFor.pushCredential(tenantId), row.enc);
          const appName = `notiflow-fcm-${tenantId}-${row.updatedAt.getTime()}`;
          // The local endpoint takes any project: the credential's key is not used, its project id is.
          return cfg.local
            ? createMessaging({ projectId: row.projectId, endpoint: cfg.local, appName })
            : createMessaging({ projectId: row.projectId, serviceAccountJson: json, appName });
        };
        cached = { stamp: row.updatedAt.getTime(), projectId: row.projectId, messaging: build() };
        apps.set(tenantId, cached);
        cached.messaging.catch(() => apps.get(tenantId) === cached && apps.delete(tenantId));
      }
      return { ok: true, messaging: await cached.messaging, projectId: cached.projectId };
    },
  };
}
