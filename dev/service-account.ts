import { generateKeyPairSync } from 'node:crypto';
import type { ServiceAccount } from '../domain/push/credentials.js';

let key: string | undefined;

/**
 * A Firebase service account as a tenant uploads it, for the local FCM endpoint (tests, benches):
 * the endpoint takes any project and does not check the key (one RSA key per process).
 */
export function localServiceAccount(projectId: string): ServiceAccount {
  key ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { type: 'service_account', project_id: projectId, client_email: `notiflow@${projectId}.iam.gserviceaccount.com`, private_key: key };
}
