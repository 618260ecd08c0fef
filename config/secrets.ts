import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets at rest and in links. One 32-byte engine key encrypts DKIM private keys (AES-256-GCM)
 * and signs URLs; API keys are only ever stored as SHA-256 hashes.
 */
export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  sign(payload: string): string;
  verify(payload: string, signature: string): boolean;
}

export function parseSecretKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('SECRET_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)');
  return key;
}

export function createSecretBox(key: Buffer): SecretBox {
  // Separate sub-keys so a signature can never be confused with ciphertext material.
  const encKey = createHmac('sha256', key).update('notiflow/encrypt').digest();
  const macKey = createHmac('sha256', key).update('notiflow/sign').digest();
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('Unrecognised sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', encKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    sign(payload) {
      return createHmac('sha256', macKey).update(payload).digest('base64url');
    },
    verify(payload, signature) {
      const expected = Buffer.from(this.sign(payload));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new API key: a recognisable prefix plus 32 random bytes. */
export function generateApiKey(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
