// DATA_REGION=eu: the production entry points refuse to start when Postgres or Temporal is on a
// host outside RESIDENCY_ALLOWED_HOSTS, and start when both are listed.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../dev/ports.js';
import { startApiProcess as startApi } from './helpers/api-process.js';

describe('residency check', () => {
  const base = async () => ({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_PAYLOAD_KEYS: `k:${randomBytes(32).toString('base64')}`,
    API_PORT: String(await freePort()),
    DATA_REGION: 'eu',
    PUBLIC_URL: 'https://notify.example.test',
    LOG_LEVEL: 'info',
  });

  it('refuses to start when the database and Temporal hosts are not on the allow-list', async () => {
    const { code, stderr } = await startApi({ ...(await base()), RESIDENCY_ALLOWED_HOSTS: 'pg.eu-west-3.example,*.eu.temporal.example' });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toMatch(
      /DATA_REGION=eu: DATABASE_URL host '127\.0\.0\.1' and TEMPORAL_ADDRESS host '127\.0\.0\.1' not in RESIDENCY_ALLOWED_HOSTS/,
    );
  });

  it('refuses when only Temporal is elsewhere, and starts when both hosts are listed', async () => {
    const { code, stderr } = await startApi({
      ...(await base()),
      TEMPORAL_ADDRESS: `temporal.us-east-1.example:7233`,
      RESIDENCY_ALLOWED_HOSTS: '127.0.0.1',
    });
    expect(code).not.toBeNull();
    expect(stderr).toMatch(/TEMPORAL_ADDRESS host 'temporal\.us-east-1\.example' not in RESIDENCY_ALLOWED_HOSTS/);
    expect(stderr).not.toMatch(/DATABASE_URL host/);
    const ok = await startApi({ ...(await base()), RESIDENCY_ALLOWED_HOSTS: '127.0.0.1' });
    expect(ok).toMatchObject({ code: null });
  });
});
