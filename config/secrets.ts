import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets at rest and in links, from a keyring (SECRET_KEYS, and SECRET_KEY as the original key
 * `k0`). Each use has its own key derived by HKDF with a label, so a link MAC can never stand in
 * for a return-path tag or a suppression hash. The ring's first key encrypts and signs; every key
 * still decrypts and verifies, so a key is rotated by putting a new one in front. A ciphertext
 * names its key and is bound by AAD to its row (tenant, domain...): moved to another row it no
 * longer opens. Material from before the keyring (`v1.` ciphertexts, MACs under the single-key
 * derivation) is still read. API keys are only ever stored as SHA-256 hashes.
 */

/** What a ciphertext holds; each has its own encryption key. */
export type SealPurpose = 'dkim-key' | 'webhook-secret' | 'push-credential' | 'seed-mailbox';
/** What a MAC vouches for; each has its own signing key. */
export type SignPurpose = 'link' | 'csrf' | 'return-path' | 'suppression-hash' | 'unsubscribe-link' | 'demo';

export interface SecretBox {
  /** Seals under the newest key, bound to `aad` (say which row it belongs to, e.g. `tenant:t1|domain:x.fr`). */
  encrypt(purpose: SealPurpose, aad: string, plain: string): string;
  /** Opens a ciphertext made for this purpose and row by any key of the ring (or before the ring). */
  decrypt(purpose: SealPurpose, aad: string, sealed: string): string;
  /** The MAC under the newest key. */
  sign(purpose: SignPurpose, payload: string): string;
  /** True when any key of the ring (or the pre-ring derivation) made this MAC. */
  verify(purpose: SignPurpose, payload: string, signature: string): boolean;
  /** Every MAC the ring accepts for the payload, newest first: to look up keyed hashes stored under an older key. */
  signatures(purpose: SignPurpose, payload: string): string[];
  /** The original key's pre-ring MAC (values handed out before the ring that must not change), or undefined without `k0`. */
  legacySign(payload: string): string | undefined;
  /** Id of the key that sealed a ciphertext (`k0` for pre-ring ones): what a re-encryption pass looks for. */
  keyIdOf(sealed: string): string;
  /** Id of the key new material is made with. */
  readonly currentKeyId: string;
}

export interface RingKey {
  id: string;
  key: Buffer;
}

/** Id the single SECRET_KEY has in the ring; material from before the ring was made with it. */
export const ORIGINAL_KEY_ID = 'k0';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export function parseSecretKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('SECRET_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)');
  return key;
}

/**
 * The keyring: SECRET_KEYS (`<id>:<32 bytes base64>`, comma-separated, newest first), then
 * SECRET_KEY as `k0`. Throws on a malformed entry or a repeated id.
 */
export function parseKeyring(secretKeys: string | undefined, secretKey: string | undefined): RingKey[] {
  const ring: RingKey[] = [];
  for (const entry of (secretKeys ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at);
    if (at < 0 || !KEY_ID.test(id)) throw new Error('SECRET_KEYS entries are <key id>:<32 bytes base64>, the id of letters, digits, - and _');
    const key = Buffer.from(entry.slice(at + 1), 'base64');
    if (key.length !== 32) throw new Error(`SECRET_KEYS key ${id} must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
    ring.push({ id, key });
  }
  if (secretKey) ring.push({ id: ORIGINAL_KEY_ID, key: parseSecretKey(secretKey) });
  const ids = ring.map((k) => k.id);
  if (new Set(ids).size !== ids.length) throw new Error(`SECRET_KEYS: key ids must be unique (${ORIGINAL_KEY_ID} is SECRET_KEY's)`);
  return ring;
}

/** The secret box of SECRET_KEYS / SECRET_KEY, or undefined when neither is set. */
export function secretBoxFromEnv(env: { SECRET_KEYS?: string; SECRET_KEY?: string }): SecretBox | undefined {
  const ring = parseKeyring(env.SECRET_KEYS, env.SECRET_KEY);
  return ring.length ? createSecretBox(ring) : undefined;
}

/** The rows ciphertexts are bound to (their AAD): moved to another row they no longer open. */
export const sealedFor = {
  dkimKey: (tenantId: string, domain: string, selector: string) => `tenant:${tenantId}|domain:${domain}|selector:${selector}`,
  webhookSecret: (tenantId: string) => `tenant:${tenantId}`,
  pushCredential: (tenantId: string) => `tenant:${tenantId}`,
  /** An operator's seed mailbox (inbox placement): its IMAP password, bound to the mailbox row and address. */
  seedMailbox: (id: string, address: string) => `seed:${id}|address:${address}`,
};

const derive = (key: Buffer, label: string) => Buffer.from(hkdfSync('sha256', key, 'notiflow', label, 32));

/** A key ring, or one key (taken as the original key `k0`). */
export function createSecretBox(keys: Buffer | RingKey[]): SecretBox {
  const ring = Buffer.isBuffer(keys) ? [{ id: ORIGINAL_KEY_ID, key: keys }] : keys;
  if (!ring.length) throw new Error('The secret keyring is empty');
  const byId = new Map(ring.map((k) => [k.id, k]));
  const memo = new Map<string, Buffer>();
  const keyFor = (k: RingKey, label: string) => {
    const name = `${k.id}\0${label}`;
    let d = memo.get(name);
    if (!d) memo.set(name, (d = derive(k.key, label)));
    return d;
  };
  // The single-key derivations of before the ring (sub-keys shared by every purpose).
  const legacyEnc = (k: RingKey) => createHmac('sha256', k.key).update('notiflow/encrypt').digest();
  const legacyMac = (k: RingKey) => createHmac('sha256', k.key).update('notiflow/sign').digest();
  const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  const aadOf = (purpose: SealPurpose, aad: string) => Buffer.from(`${purpose}|${aad}`, 'utf8');
  const open = (key: Buffer, iv: string, tag: string, body: string, aad?: Buffer) => {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  };
  const newest = ring[0]!;

  const box: SecretBox = {
    currentKeyId: newest.id,
    encrypt(purpose, aad, plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyFor(newest, `encrypt/${purpose}`), iv);
      cipher.setAAD(aadOf(purpose, aad));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v2', newest.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    decrypt(purpose, aad, sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v2' && parts.length === 5) {
        const [, id, iv, tag, body] = parts as [string, string, string, string, string];
        const k = byId.get(id);
        if (!k) throw new Error(`Sealed with key ${id}, which is not in the keyring (SECRET_KEYS)`);
        return open(keyFor(k, `encrypt/${purpose}`), iv, tag, body, aadOf(purpose, aad));
      }
      if (parts[0] === 'v1' && parts.length === 4) {
        // Before the ring: no key id and no AAD; made with the single SECRET_KEY.
        const [, iv, tag, body] = parts as [string, string, string, string];
        const k = byId.get(ORIGINAL_KEY_ID);
        if (!k) throw new Error(`A secret sealed before the keyring needs the original key (SECRET_KEY) in the ring`);
        return open(legacyEnc(k), iv, tag, body);
      }
      throw new Error('Unrecognised sealed secret');
    },
    sign(purpose, payload) {
      return mac(keyFor(newest, `sign/${purpose}`), payload);
    },
    signatures(purpose, payload) {
      const all = ring.map((k) => mac(keyFor(k, `sign/${purpose}`), payload));
      const legacy = box.legacySign(payload);
      return legacy === undefined ? all : [...all, legacy];
    },
    verify(purpose, payload, signature) {
      const given = Buffer.from(signature);
      let ok = false;
      for (const s of box.signatures(purpose, payload)) {
        const expected = Buffer.from(s);
        ok = (expected.length === given.length && timingSafeEqual(expected, given)) || ok;
      }
      return ok;
    },
    legacySign(payload) {
      const k = byId.get(ORIGINAL_KEY_ID);
      return k ? mac(legacyMac(k), payload) : undefined;
    },
    keyIdOf(sealed) {
      const parts = sealed.split('.');
      return parts[0] === 'v2' ? parts[1]! : ORIGINAL_KEY_ID;
    },
  };
  return box;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new API key: a recognisable prefix plus 32 random bytes. */
export function generateApiKey(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
