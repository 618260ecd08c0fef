// The typed client package (packages/client) as an app uses it: built by tsc from the committed
// sources, imported from its dist/, talking to the real API over a socket.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ClientSource from '../packages/client/src/index.js';
import { clientTypes, clientTypesPath } from '../scripts/client-types.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, transactionData } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

type ClientModule = typeof ClientSource;

const packageDir = join(import.meta.dirname, '..', 'packages', 'client');
let engine: TestEngine;
let base: string;
let pkg: ClientModule;

beforeAll(async () => {
  // Built as `npm run build:client` builds it: a compile error in the package fails here.
  await promisify(execFile)(join(import.meta.dirname, '..', 'node_modules', '.bin', 'tsc'), ['-p', packageDir]);
  pkg = (await import(join(packageDir, 'dist', 'index.js'))) as ClientModule;
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  base = await engine.listen();
}, 180_000);
afterAll(async () => engine?.stop());

describe('the typed client', () => {
  it('has types equal to a fresh generation from the live /openapi.json', async () => {
    const document = await (await fetch(`${base}/openapi.json`)).json();
    // On a difference: npm run client:types, and commit packages/client/src/api-types.ts.
    expect(readFileSync(clientTypesPath, 'utf8')).toBe(await clientTypes(document));
  });

  it('sends an alert, reads its status and finds it in the list', async () => {
    const client = pkg.createNotiflowClient({ baseUrl: base, apiKey: engine.apiKey });
    await putUser(engine, 'kai', { email: 'kai.client@example.fr', locale: 'fr' });
    const prefs = await client.preferences.set('kai', { categories: { transactions: ['email'] } });
    expect(prefs.categories.transactions?.channels).toEqual(['email']);
    expect((await client.preferences.get('kai')).categories.transactions?.source).toBe('user');

    const key = `client-${randomUUID()}`;
    const accepted = await client.notifications.send({ userId: 'kai', type: 'account.transaction', data: transactionData }, { idempotencyKey: key });
    const again = await client.notifications.send({ userId: 'kai', type: 'account.transaction', data: transactionData }, { idempotencyKey: key });
    expect(again.id).toBe(accepted.id);

    const delivered = await waitUntil(
      async () => {
        const n = await client.notifications.get(accepted.id);
        return n.status === 'delivered' ? n : undefined;
      },
      60_000,
      'the delivered status',
    );
    expect(delivered.deliveredChannels).toEqual(['email']);
    expect(delivered.attempts.map((a) => [a.channel, a.outcome])).toEqual([['email', 'accepted']]);
    const mail = engine.inbox.messages.filter((m) => m.headers['x-notification-id'] === accepted.id);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.rcptTo).toEqual(['kai.client@example.fr']);

    const page = await client.notifications.list({ user: 'kai', status: 'delivered', limit: 10 });
    expect(page.notifications.map((n) => n.id)).toEqual([accepted.id]);
    expect(page.nextCursor).toBeNull();
  });

  it('surfaces a refusal as a typed problem, and the refused trigger started nothing', async () => {
    const client = pkg.createNotiflowClient({ baseUrl: base, apiKey: engine.apiKey });
    await putUser(engine, 'lou', { email: 'lou.client@example.fr' });
    const { merchant: _merchant, ...withoutMerchant } = transactionData;
    const refusal = await client.notifications
      .send({ userId: 'lou', type: 'account.transaction', data: withoutMerchant }, { idempotencyKey: `client-${randomUUID()}` })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refusal).toBeInstanceOf(pkg.NotiflowProblem);
    const problem = refusal as InstanceType<ClientModule['NotiflowProblem']>;
    expect(problem.status).toBe(422);
    expect(problem.problem.status).toBe(422);
    expect(problem.problem.detail).toContain('merchant');
    expect(problem.message).toContain('merchant');
    expect((await client.notifications.list({ user: 'lou' })).notifications).toEqual([]);

    const stranger = pkg.createNotiflowClient({ baseUrl: base, apiKey: 'nf_test_not-a-key' });
    const unauthorized = await stranger.notifications.get(randomUUID()).catch((err: unknown) => err);
    expect(unauthorized).toBeInstanceOf(pkg.NotiflowProblem);
    expect((unauthorized as InstanceType<ClientModule['NotiflowProblem']>).status).toBe(401);
  });
});
