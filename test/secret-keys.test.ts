// The engine's secrets come from a keyring: a derived key per use, the newest key encrypts and
// signs, older ones (and material from before the keyring) still open and verify, and each
// ciphertext is bound to its row so it cannot be moved to another tenant's.
import { createCipheriv, createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createSecretBox, parseKeyring, sealedFor, secretBoxFromEnv } from '../config/secrets.js';
import { connectDatabase, type Database } from '../db/client.js';
import { provisionTenant, upsertPool } from '../db/provision.js';
import { sendingDomains, suppressions, tenantWebhookSecrets } from '../db/schema.js';
import { attemptFromReturnPath, returnPathFor } from '../domain/email/return-path.js';
import { senderCache } from '../domain/email/sender.js';
import { signPreferenceToken, verifyPreferenceToken } from '../domain/preferences/link-token.js';
import { restoreErasedSuppression } from '../domain/privacy/suppression-hash.js';
import { resealSecrets } from '../domain/reseal-secrets.js';
import { webhookSecretOf } from '../domain/webhooks/tenant-secret.js';

const b64 = () => randomBytes(32).toString('base64');

// What the engine wrote before the keyring, byte for byte: one key, HMAC sub-keys, no key id, no AAD.
const before = (secretKey: string) => {
  const key = Buffer.from(secretKey, 'base64');
  const encKey = createHmac('sha256', key).update('notiflow/encrypt').digest();
  const macKey = createHmac('sha256', key).update('notiflow/sign').digest();
  return {
    encrypt(plain: string) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    sign: (payload: string) => createHmac('sha256', macKey).update(payload).digest('base64url'),
  };
};

describe('keyring', () => {
  it('reads SECRET_KEYS newest first with SECRET_KEY as k0, and refuses malformed or repeated entries', () => {
    const ring = parseKeyring(`2027-01:${b64()}, 2026-12:${b64()}`, b64());
    expect(ring.map((k) => k.id)).toEqual(['2027-01', '2026-12', 'k0']);
    expect(() => parseKeyring(`a:${b64()},a:${b64()}`, undefined)).toThrow(/unique/);
    expect(() => parseKeyring(`bad id:${b64()}`, undefined)).toThrow(/<key id>:<32 bytes base64>/);
    expect(() => parseKeyring(`x:${randomBytes(16).toString('base64')}`, undefined)).toThrow(/32 bytes/);
    expect(secretBoxFromEnv({})).toBeUndefined();
  });

  it('the newest key seals and signs; after a rotation the older key still opens and verifies, and a key removed says so', () => {
    const old = { id: 'k0', key: randomBytes(32) };
    const next = { id: '2027-01', key: randomBytes(32) };
    const aad = sealedFor.webhookSecret('t-1');
    const sealedOld = createSecretBox([old]).encrypt('webhook-secret', aad, 'whsec_old');
    const oldMac = createSecretBox([old]).sign('link', 'payload');
    const rotated = createSecretBox([next, old]);
    const sealedNew = rotated.encrypt('webhook-secret', aad, 'whsec_new');
    expect(rotated.keyIdOf(sealedNew)).toBe('2027-01');
    expect(rotated.keyIdOf(sealedOld)).toBe('k0');
    expect(rotated.decrypt('webhook-secret', aad, sealedOld)).toBe('whsec_old');
    expect(rotated.decrypt('webhook-secret', aad, sealedNew)).toBe('whsec_new');
    expect(rotated.verify('link', 'payload', oldMac)).toBe(true);
    expect(rotated.sign('link', 'payload')).not.toBe(oldMac);
    expect(() => createSecretBox([next]).decrypt('webhook-secret', aad, sealedOld)).toThrow(/key k0, which is not in the keyring/);
  });

  it('binds a ciphertext to its purpose and row: another tenant, domain or use cannot open it', () => {
    const box = createSecretBox(randomBytes(32));
    const sealed = box.encrypt('dkim-key', sealedFor.dkimKey('t-a', 'a.fr', 'nf1'), 'PEM');
    expect(box.decrypt('dkim-key', sealedFor.dkimKey('t-a', 'a.fr', 'nf1'), sealed)).toBe('PEM');
    expect(() => box.decrypt('dkim-key', sealedFor.dkimKey('t-b', 'a.fr', 'nf1'), sealed)).toThrow();
    expect(() => box.decrypt('dkim-key', sealedFor.dkimKey('t-a', 'b.fr', 'nf1'), sealed)).toThrow();
    expect(() => box.decrypt('push-credential', sealedFor.dkimKey('t-a', 'a.fr', 'nf1'), sealed)).toThrow();
  });

  it('signs each use with its own key: a MAC made for one use is refused for another', () => {
    const box = createSecretBox(randomBytes(32));
    const payload = 'return-path:0123456789abcdef0123456789abcdef';
    expect(box.sign('link', payload)).not.toBe(box.sign('return-path', payload));
    expect(box.verify('return-path', payload, box.sign('link', payload))).toBe(false);
    expect(box.verify('csrf', payload, box.sign('csrf', payload))).toBe(true);
  });

  it('keeps what was made before the keyring readable: ciphertexts, links, return paths', () => {
    const secretKey = b64();
    const legacy = before(secretKey);
    const box = createSecretBox([{ id: 'new', key: randomBytes(32) }, ...parseKeyring(undefined, secretKey)]);
    expect(box.decrypt('dkim-key', sealedFor.dkimKey('t', 'd', 's'), legacy.encrypt('PEM'))).toBe('PEM');

    const attempt = randomUUID();
    const hex = attempt.replace(/-/g, '');
    const oldTag = Buffer.from(legacy.sign(`return-path:${hex}`), 'base64url')
      .toString('hex')
      .slice(0, 16);
    expect(attemptFromReturnPath(box, `bounces+${hex}.${oldTag}@bank.fr`)).toBe(attempt);
    expect(attemptFromReturnPath(box, returnPathFor(box, attempt, 'bank.fr'))).toBe(attempt);
    expect(attemptFromReturnPath(box, `bounces+${hex}.${'0'.repeat(16)}@bank.fr`)).toBeNull();

    const exp = Math.floor(Date.now() / 1000) + 3600;
    const body = Buffer.from(JSON.stringify(['t', 'u', exp])).toString('base64url');
    const oldLink = `${body}.${legacy.sign(`preferences:${body}`)}`;
    expect(verifyPreferenceToken(box, oldLink)).toMatchObject({ ok: true, claim: { tenantId: 't', userId: 'u', exp } });
    expect(verifyPreferenceToken(box, signPreferenceToken(box, { tenantId: 't', userId: 'u', exp }))).toMatchObject({ ok: true });
  });
});

describe('keyring and the database', () => {
  let database: Database;
  const secretKey = b64();
  const legacy = before(secretKey);
  const original = createSecretBox(parseKeyring(undefined, secretKey));
  const rotatedKey = b64();
  const rotated = createSecretBox(parseKeyring(`2027-01:${rotatedKey}`, secretKey));
  const a = `t-${randomUUID().slice(0, 8)}`;
  const b = `t-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    database = connectDatabase(inject('databaseUrl'));
    await upsertPool(database.db, {
      id: `${a}-pool`,
      name: 'pool',
      kind: 'shared',
      relayHost: null,
      relayPort: null,
      ips: [{ id: `${a}-ip`, localAddress: '127.0.0.9', ehloName: 'mta.test' }],
    });
    for (const t of [a, b])
      await provisionTenant(database.db, original, {
        id: t,
        name: t,
        poolId: `${a}-pool`,
        domain: `${t}.bank.test`,
        apiKey: `nf_test_${randomUUID()}`,
      });
  });
  afterAll(async () => database?.close());

  const dkimOf = async (t: string) => (await database.db.select().from(sendingDomains).where(eq(sendingDomains.tenantId, t)))[0]!;

  it('signs with a DKIM key sealed before the keyring, after a rotation', async () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await database.db
      .update(sendingDomains)
      .set({ dkimPrivateKeyEnc: legacy.encrypt(pem) })
      .where(eq(sendingDomains.tenantId, a));
    expect((await senderCache(database.db, rotated).get(a))?.dkimPrivateKey).toBe(pem);
  });

  it("refuses a DKIM key copied from another tenant's row", async () => {
    const theirs = await dkimOf(b);
    await database.db
      .update(sendingDomains)
      .set({ dkimPrivateKeyEnc: (await dkimOf(a)).dkimPrivateKeyEnc })
      .where(eq(sendingDomains.tenantId, b));
    await database.db.update(sendingDomains).set({ dkimPrivateKeyEnc: theirs.dkimPrivateKeyEnc }).where(eq(sendingDomains.tenantId, a));
    // (a now holds b's v2 ciphertext: bound to b's tenant and domain, it does not open as a's)
    await expect(senderCache(database.db, rotated).get(a)).rejects.toThrow();
  });

  it('keeps the webhook secret a tenant holds: derived ones as before, issued ones sealed to the tenant', async () => {
    expect(await webhookSecretOf(database.db, rotated, a)).toBe(`whsec_${legacy.sign(`status-webhook:${a}`)}`);
    await database.db.insert(tenantWebhookSecrets).values({ tenantId: a, secretEnc: legacy.encrypt('whsec_issued_before') });
    expect(await webhookSecretOf(database.db, rotated, a)).toBe('whsec_issued_before');
    const sealedForA = rotated.encrypt('webhook-secret', sealedFor.webhookSecret(a), 'whsec_a');
    await database.db.insert(tenantWebhookSecrets).values({ tenantId: b, secretEnc: sealedForA });
    await expect(webhookSecretOf(database.db, rotated, b)).rejects.toThrow();
  });

  it('recognises an address erased under the original key after a rotation', async () => {
    const oldHash = `hmac:${legacy.sign(`suppression|${a}|gone@example.fr`)}`;
    await database.db.insert(suppressions).values({ tenantId: a, email: oldHash, reason: 'complaint', source: 'fbl' });
    expect(await restoreErasedSuppression(database.db, rotated, a, 'gone@example.fr')).toBe(true);
  });

  it('reseals every secret under the newest key, bound to its row: then the old key is not needed to open them', async () => {
    const c = `t-${randomUUID().slice(0, 8)}`;
    await provisionTenant(database.db, original, {
      id: c,
      name: c,
      poolId: `${a}-pool`,
      domain: `${c}.bank.test`,
      apiKey: `nf_test_${randomUUID()}`,
    });
    const pem = 'PEM of c';
    await database.db
      .update(sendingDomains)
      .set({ dkimPrivateKeyEnc: legacy.encrypt(pem) })
      .where(eq(sendingDomains.tenantId, c));
    const report = await resealSecrets(database.db, rotated, { tenantIds: [c] });
    expect(report).toEqual({ resealed: 1, current: 0, failed: [] });
    const row = await dkimOf(c);
    expect(rotated.keyIdOf(row.dkimPrivateKeyEnc)).toBe('2027-01');
    const newOnly = createSecretBox(parseKeyring(`2027-01:${rotatedKey}`, undefined));
    expect(newOnly.decrypt('dkim-key', sealedFor.dkimKey(c, `${c}.bank.test`, row.dkimSelector), row.dkimPrivateKeyEnc)).toBe(pem);
    expect(await resealSecrets(database.db, rotated, { tenantIds: [c] })).toEqual({ resealed: 0, current: 1, failed: [] });
  });
});
