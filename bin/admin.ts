// `npm run admin -- <command>`: the operator's tenant and pool commands, for those who would rather
// not use curl. Talks to DATABASE_URL through the same domain code as /v1/admin (same checks, same audit).
//   tenant create --id acme-pay --name "Acme Pay" --pool shared-eu [--sandbox]
//   tenant list | tenant show <id>
//   tenant suspend <id> --reason "..." | tenant reinstate <id> [--reason "..."] | tenant sandbox <id> on|off
//   tenant limits <id> [--requests-per-second N] [--requests-burst N] [--notifications-per-second N] [--notifications-burst N]
//     (shows them without options; an option set to "default" goes back to RATE_LIMIT_*)
//   pool put <id> --name "Shared EU" --kind shared|dedicated [--relay host:port] --ip id,address,ehlo[,weight] ...
//   pool list
//   cert add <tenant id> --file client.pem [--name "..."] | cert list <tenant id> | cert remove <tenant id> <sha-256 fingerprint>
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PoolBody } from '../api/tenants-admin.js';
import { parseEnv, rateLimitsOf } from '../config/env.js';
import { connectDatabase } from '../db/client.js';
import { sendingIps, pools } from '../db/schema.js';
import { getTenantLimits, setTenantLimits } from '../domain/tenancy/limits.js';
import { listClientCerts, normalizeFingerprint, registerClientCert, removeClientCert } from '../domain/tenancy/client-certs.js';
import { putPool } from '../domain/tenancy/pools.js';
import { createTenant, getTenant, listTenants, setTenantSandbox, setTenantStatus, TenantError } from '../domain/tenancy/tenants.js';

const env = parseEnv(process.env);
if (!env.DATABASE_URL) throw new Error('Set DATABASE_URL (the same database the API uses)');
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    id: { type: 'string' },
    name: { type: 'string' },
    pool: { type: 'string' },
    sandbox: { type: 'boolean' },
    reason: { type: 'string' },
    kind: { type: 'string' },
    relay: { type: 'string' },
    ip: { type: 'string', multiple: true },
    'requests-per-second': { type: 'string' },
    'requests-burst': { type: 'string' },
    'notifications-per-second': { type: 'string' },
    'notifications-burst': { type: 'string' },
    file: { type: 'string' },
  },
});
const database = connectDatabase(env.DATABASE_URL, { max: 2 });
const db = database.db;
const by = `cli:${process.env.USER ?? 'operator'}`;
const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
const need = (v: string | undefined, what: string): string => {
  if (!v) throw new TenantError('invalid', `missing ${what}`);
  return v;
};

try {
  const [subject, verb, arg] = positionals;
  const command = `${subject ?? ''} ${verb ?? ''}`.trim();
  switch (command) {
    case 'tenant create': {
      const { tenant, apiKey } = await createTenant(db, {
        id: need(values.id, '--id'),
        name: need(values.name, '--name'),
        poolId: need(values.pool, '--pool'),
        sandbox: values.sandbox,
        by,
      });
      print(tenant);
      console.log(`\nFirst API key (shown once, keep it now): ${apiKey.key}`);
      break;
    }
    case 'tenant list':
      print(await listTenants(db));
      break;
    case 'tenant show':
      print((await getTenant(db, need(arg, '<id>'))) ?? `no tenant ${arg}`);
      break;
    case 'tenant suspend':
      print(await setTenantStatus(db, need(arg, '<id>'), { status: 'suspended', reason: need(values.reason, '--reason'), by }));
      break;
    case 'tenant reinstate':
      print(await setTenantStatus(db, need(arg, '<id>'), { status: 'active', reason: values.reason ?? null, by }));
      break;
    case 'tenant sandbox':
      await setTenantSandbox(db, need(arg, '<id>'), positionals[3] !== 'off', by);
      print(await getTenant(db, arg!));
      break;
    case 'tenant limits': {
      const id = need(arg, '<id>');
      const defaults = rateLimitsOf(env);
      const { configured } = await getTenantLimits(db, id, defaults);
      const option = (name: keyof typeof values, current: number | null): number | null => {
        const v = values[name] as string | undefined;
        if (v === undefined) return current;
        if (v === 'default') return null;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new TenantError('invalid', `--${name} must be a positive integer or "default"`);
        return n;
      };
      const changed = ['requests-per-second', 'requests-burst', 'notifications-per-second', 'notifications-burst'].some(
        (k) => values[k as keyof typeof values] !== undefined,
      );
      print(
        changed
          ? await setTenantLimits(
              db,
              id,
              {
                requestsPerSecond: option('requests-per-second', configured.requestsPerSecond),
                requestsBurst: option('requests-burst', configured.requestsBurst),
                notificationsPerSecond: option('notifications-per-second', configured.notificationsPerSecond),
                notificationsBurst: option('notifications-burst', configured.notificationsBurst),
              },
              by,
              defaults,
            )
          : await getTenantLimits(db, id, defaults),
      );
      break;
    }
    case 'pool put': {
      const [relayHost, relayPort] = values.relay?.split(':') ?? [];
      const spec = PoolBody.safeParse({
        name: values.name,
        kind: values.kind,
        relay: relayHost ? { host: relayHost, port: Number(relayPort ?? 25) } : undefined,
        ips: (values.ip ?? []).map((s) => {
          const [id, ip, ehloName, weight] = s.split(',');
          return { id, ip, ehloName, weight: weight ? Number(weight) : undefined };
        }),
      });
      if (!spec.success) throw new TenantError('invalid', spec.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      print({ id: need(arg, '<id>'), ...(await putPool(db, arg!, spec.data, by)) });
      break;
    }
    case 'pool list': {
      const [rows, ips] = await Promise.all([db.select().from(pools), db.select().from(sendingIps)]);
      print(rows.map((p) => ({ ...p, ips: ips.filter((s) => s.poolId === p.id) })));
      break;
    }
    case 'cert add':
      print(
        await registerClientCert(db, need(arg, '<tenant id>'), {
          certificate: readFileSync(need(values.file, '--file'), 'utf8'),
          name: values.name,
          by,
        }),
      );
      break;
    case 'cert list':
      print(await listClientCerts(db, need(arg, '<tenant id>')));
      break;
    case 'cert remove': {
      const fingerprint = normalizeFingerprint(need(positionals[3], '<fingerprint>'));
      if (!fingerprint || !(await removeClientCert(db, need(arg, '<tenant id>'), fingerprint, by)))
        throw new TenantError('not-found', `tenant ${arg} has no client certificate ${positionals[3]}`);
      print({ removed: fingerprint });
      break;
    }
    default:
      console.error(
        'usage: npm run admin -- tenant create|list|show|suspend|reinstate|sandbox|limits ... | pool put|list ... | cert add|list|remove ... (see bin/admin.ts)',
      );
      process.exitCode = 2;
  }
} catch (err) {
  if (!(err instanceof TenantError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
