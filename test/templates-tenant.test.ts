import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, notifications, templateVersions } from '../db/schema.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData } from './helpers/notify.js';
import { confirmTestRecipient } from './helpers/test-recipients.js';
import { waitUntil } from './helpers/wait.js';

// A tenant defines its own alert, writes it in English and French, publishes, rolls forward and
// back, and the user gets exactly the wording of the version the notification was accepted with.

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  await putUser(engine, 'alice', { email: 'alice@example.fr', locale: 'fr-BE', timezone: 'Europe/Brussels' }, { transactions: ['email'] });
});
afterAll(async () => engine?.stop());

const variables = {
  amount: { type: 'money', required: true },
  currency: { type: 'string', required: true },
  merchant: { type: 'string', required: true },
  reason: { type: 'string', required: true },
};

const body = (subjectFr: string) => ({
  email: {
    en: {
      subject: 'Card payment of {{amount}} declined',
      mjml: '<mj-text>Your card payment of {{amount}} at {{merchant}} was declined: {{reason}}.</mj-text>',
    },
    fr: {
      subject: subjectFr,
      mjml: '<mj-text>Votre paiement par carte de {{amount}} chez {{merchant}} a été refusé\u00a0: {{reason}}.</mj-text>\n<mj-button href="https://bank.example/cartes">Voir ma carte</mj-button>',
    },
  },
  push: {
    en: { title: 'Card payment declined', body: '{{amount}} at {{merchant}}: {{reason}}' },
    fr: { title: 'Paiement refusé', body: '{{amount}} chez {{merchant}}\u00a0: {{reason}}' },
  },
});

const data = { amount: 89.9, currency: 'EUR', merchant: 'Fnac Bruxelles', reason: 'plafond atteint' };

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** The audit step of this test send (the recipient's confirmation code has one of its own). */
const sentBy = (r: { detail: unknown }, id: string) => (r.detail as { testSendId?: string }).testSendId === id;

async function triggerAndReceive(key: string) {
  const { id } = await json<{ id: string }>(
    await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': key },
      body: { userId: 'alice', type: 'card.declined', data },
    }),
    202,
  );
  const mail = await engine.inbox
    .waitFor(engine.inbox.messages.length + 1, 30_000)
    .then((all) => all.find((m) => m.headers['x-notification-id'] === id));
  const done = await settled(engine, id);
  return { id, mail: mail!, done };
}

describe('a tenant template', () => {
  it('is defined, written in en and fr, published, and reaches alice in French with DKIM pass; v2 and the rollback to v1 follow', async () => {
    const category = await engine.request('GET', '/v1/categories');
    const { categories } = await json<{ categories: { key: string; kind: string }[] }>(category, 200);
    expect(categories).toContainEqual(expect.objectContaining({ key: 'transactions', kind: 'service' }));
    expect(categories).toContainEqual(expect.objectContaining({ key: 'security', kind: 'required' }));

    const put = await engine.request('PUT', '/v1/notification-types/card.declined', { body: { category: 'transactions', variables } });
    expect((await json<{ publishedVersion: number | null }>(put, 201)).publishedVersion).toBeNull();

    const v1 = await json<{ version: number; status: string; checks: { generatedText: string[] }; spam: { verdict: string } }>(
      await engine.request('POST', '/v1/notification-types/card.declined/versions', {
        body: body('Paiement de {{amount}} refusé chez {{merchant}}'),
      }),
      201,
    );
    expect(v1).toMatchObject({ version: 1, status: 'draft', spam: { verdict: 'ok' } });
    expect(v1.checks.generatedText).toEqual(['en', 'fr']);

    // Not published yet: nothing is accepted.
    const early = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'cd-0' },
      body: { userId: 'alice', type: 'card.declined', data },
    });
    expect(early.status).toBe(422);
    expect((await early.json()) as { detail: string }).toMatchObject({ detail: expect.stringContaining('no published version') });

    await json(await engine.request('POST', '/v1/notification-types/card.declined/versions/1/publish'), 200);
    const first = await triggerAndReceive('cd-1');
    expect(first.mail.dkim.result).toBe('pass');
    expect(first.mail.subject).toBe('Paiement de 89,90\u00a0€ refusé chez Fnac Bruxelles');
    expect(first.mail.html).toContain('a été refusé');
    expect(first.mail.html).toContain('<html lang="fr"');
    // The text part was generated from the HTML; the engine placed the unsubscribe link.
    expect(first.mail.text).toContain('Votre paiement par carte de 89,90\u00a0€ chez Fnac Bruxelles a été refusé');
    expect(first.mail.text).toContain('Voir ma carte (https://bank.example/cartes)');
    expect(first.mail.html).toContain('>Se désabonner</a>');
    expect(first.done).toMatchObject({ status: 'delivered', templateVersion: 1 });

    const v2 = await json<{ version: number }>(
      await engine.request('POST', '/v1/notification-types/card.declined/versions', { body: body('Carte refusée\u00a0: {{merchant}}') }),
      201,
    );
    expect(v2.version).toBe(2);
    await json(await engine.request('POST', '/v1/notification-types/card.declined/versions/2/publish', { body: {} }), 200);
    const second = await triggerAndReceive('cd-2');
    expect(second.mail.subject).toBe('Carte refusée\u00a0: Fnac Bruxelles');
    expect(second.done.templateVersion).toBe(2);

    const rollback = await json<{ version: number; previous: number }>(
      await engine.request('POST', '/v1/notification-types/card.declined/versions/1/publish'),
      200,
    );
    expect(rollback).toMatchObject({ version: 1, previous: 2 });
    const third = await triggerAndReceive('cd-3');
    expect(third.mail.subject).toBe('Paiement de 89,90\u00a0€ refusé chez Fnac Bruxelles');
    expect(third.done.templateVersion).toBe(1);

    const audit = await json<{ events: { step: string; detail: Record<string, unknown> }[] }>(
      await engine.request('GET', `/v1/notifications/${second.id}/audit`),
      200,
    );
    expect(audit.events.find((e) => e.step === 'notification.accepted')!.detail).toMatchObject({ templateVersion: 2 });
    expect(audit.events.find((e) => e.step === 'email.rendered')!.detail).toMatchObject({ templateVersion: 2, locale: 'fr' });

    const list = await json<{ publishedVersion: number; versions: { version: number; status: string; publishedAt: string | null }[] }>(
      await engine.request('GET', '/v1/notification-types/card.declined/versions'),
      200,
    );
    expect(list.publishedVersion).toBe(1);
    expect(list.versions.map((v) => [v.version, v.status])).toEqual([
      [2, 'retired'],
      [1, 'published'],
    ]);
  });

  it("refuses a whole <mjml> document (an MJML editor's export) with a 422 that says the API takes the body inside the layout's column", async () => {
    const count_ = async () =>
      engine.database.db
        .select({ n: count() })
        .from(templateVersions)
        .where(and(eq(templateVersions.tenantId, engine.tenantId), eq(templateVersions.typeKey, 'card.declined')));
    const before = await count_();
    const exported = body('Paiement refusé');
    exported.email.en.mjml = `<mjml>\n<mj-head><mj-title>Declined</mj-title></mj-head>\n<mj-body>\n<mj-section><mj-column>\n${exported.email.en.mjml}\n</mj-column></mj-section>\n</mj-body>\n</mjml>`;
    const res = await engine.request('POST', '/v1/notification-types/card.declined/versions', { body: exported });
    const problem = await json<{ detail: string; errors: { path: string; message: string }[] }>(res, 422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const error = problem.errors.find((e) => e.path === 'body.email.en.mjml');
    expect(error?.message).toContain("only the body that goes inside the layout's column");
    expect(error?.message).toContain('<mjml>');
    expect(problem.errors.map((e) => e.message).join('\n')).not.toContain('dropped or altered');
    // The French part, a body as the API takes it, is not blamed; nothing is written.
    expect(problem.errors.filter((e) => e.path.startsWith('body.email.fr'))).toEqual([]);
    expect(await count_()).toEqual(before);
  });

  it('refuses an MJML error, an undeclared variable and a trigger without reason with a 422 naming each; nothing is written or started', async () => {
    const before = await engine.database.db
      .select({ n: count() })
      .from(templateVersions)
      .where(and(eq(templateVersions.tenantId, engine.tenantId), eq(templateVersions.typeKey, 'card.declined')));
    const broken = body('Paiement refusé');
    broken.email.fr.mjml = '<mj-text>ok</mj-text>\n<mj-txt>typo</mj-txt>';
    broken.email.en.subject = 'Declined at {{shop}}';
    const res = await engine.request('POST', '/v1/notification-types/card.declined/versions', { body: broken });
    const problem = await json<{ detail: string; errors: { path: string; message: string; line?: number; tag?: string }[] }>(res, 422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(problem.errors).toContainEqual(expect.objectContaining({ path: 'body.email.fr.mjml', line: 2, tag: 'mj-txt' }));
    expect(problem.errors).toContainEqual(expect.objectContaining({ path: 'body.email.en.subject', message: expect.stringContaining('{{shop}}') }));
    const after = await engine.database.db
      .select({ n: count() })
      .from(templateVersions)
      .where(and(eq(templateVersions.tenantId, engine.tenantId), eq(templateVersions.typeKey, 'card.declined')));
    expect(after).toEqual(before);

    const noPush = { email: body('x').email };
    const missing = await json<{ errors: { path: string }[] }>(
      await engine.request('POST', '/v1/notification-types/card.declined/versions', { body: noPush }),
      422,
    );
    expect(missing.errors.map((e) => e.path)).toEqual(['body.push.en', 'body.push.fr']);

    const { reason: _, ...withoutReason } = data;
    const refused = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'cd-noreason' },
      body: { userId: 'alice', type: 'card.declined', data: withoutReason },
    });
    const p = await json<{ detail: string; errors: { path: string }[] }>(refused, 422);
    expect(p.detail).toContain('reason');
    expect(p.errors).toEqual([expect.objectContaining({ path: 'body.data.reason' })]);
    const wrongType = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'cd-wrongtype' },
      body: { userId: 'alice', type: 'card.declined', data: { ...data, amount: 'lots' } },
    });
    expect((await json<{ errors: { path: string }[] }>(wrongType, 422)).errors).toEqual([expect.objectContaining({ path: 'body.data.amount' })]);
    const batch = await json<{ results: { status: number; problem?: { detail: string } }[] }>(
      await engine.request('POST', '/v1/notifications/batch', {
        body: { notifications: [{ idempotencyKey: 'cd-b1', userId: 'alice', type: 'card.declined', data: withoutReason }] },
      }),
      202,
    );
    expect(batch.results[0]).toMatchObject({ status: 422, problem: { detail: expect.stringContaining('reason') } });
    const written = await engine.database.db
      .select({ n: count() })
      .from(notifications)
      .where(and(eq(notifications.tenantId, engine.tenantId), eq(notifications.type, 'card.declined')));
    expect(written[0]!.n).toBe(3);
    // Visibility is eventually consistent: wait until a workflow started after the refused triggers
    // (another type) is listed, then the card.declined workflows are exactly the three accepted ones.
    const later = await json<{ id: string; workflowId: string }>(
      await engine.request('POST', '/v1/notifications', {
        headers: { 'idempotency-key': 'cd-after-refusals' },
        body: { userId: 'alice', type: 'account.transaction', data: transactionData },
      }),
      202,
    );
    await waitUntil(
      async () => (await engine.client.workflow.count(`WorkflowId = "${later.workflowId}"`)).count === 1,
      30_000,
      'visibility to list a workflow started after the refused triggers',
    );
    const workflows = await engine.client.workflow.count(`TenantId = "${engine.tenantId}" AND NotificationType = "card.declined"`);
    expect(workflows.count).toBe(3);
    expect((await settled(engine, later.id)).status).toBe('delivered');
  });

  it('previews "GRATUIT !!! Cliquez ici" with findings and advice, and a likely-spam version needs force to publish', async () => {
    const res = await engine.request('POST', '/v1/notification-types/card.declined/preview', {
      body: { locale: 'fr-BE', data: { ...data, reason: 'GRATUIT !!! Cliquez ici' } },
    });
    const preview = await json<{
      email: { subject: string; locale: string };
      push: { title: string };
      spam: { score: number; verdict: string; findings: { rule: string; text: string; where: string; advice: string }[] };
    }>(res, 200);
    expect(preview.email.locale).toBe('fr');
    expect(preview.push.title).toBe('Paiement refusé');
    const texts = preview.spam.findings.map((f) => f.text.toLowerCase());
    expect(texts).toEqual(expect.arrayContaining(['gratuit', '!!!', 'cliquez ici']));
    for (const f of preview.spam.findings) expect(f.advice.length).toBeGreaterThan(10);
    expect(preview.spam.verdict).not.toBe('ok');

    const spammy = body('GRATUIT !!! Cliquez ici, offre limitée, URGENT');
    spammy.email.fr.mjml =
      '<mj-text>GRATUIT !!! Cliquez ici pour gagnez de l’argent facile, sans risque, garanti. <a href="https://bit.ly/x">www.mabanque.fr</a></mj-text>';
    const created = await json<{ version: number; spam: { verdict: string } }>(
      await engine.request('POST', '/v1/notification-types/card.declined/versions', { body: spammy }),
      201,
    );
    expect(created.spam.verdict).toBe('likely-spam');
    const refused = await engine.request('POST', `/v1/notification-types/card.declined/versions/${created.version}/publish`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toContain('force');
    const forced = await json<{ forced: boolean }>(
      await engine.request('POST', `/v1/notification-types/card.declined/versions/${created.version}/publish`, { body: { force: true } }),
      200,
    );
    expect(forced.forced).toBe(true);
    const [event] = await engine.database.db
      .select({ detail: auditEvents.detail })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, engine.tenantId), eq(auditEvents.step, 'template.published')))
      .orderBy(auditEvents.id)
      .then((rows) => rows.slice(-1));
    expect(event!.detail).toMatchObject({ type: 'card.declined', version: created.version, forced: true });
    await json(await engine.request('POST', '/v1/notification-types/card.declined/versions/1/publish'), 200);
  });

  it('sends a test message marked as a test, through the tenant pool, recorded in the audit', async () => {
    await confirmTestRecipient(engine, 'reviewer@bank.example');
    const before = engine.inbox.messages.length;
    const res = await json<{ id: string; version: number }>(
      await engine.request('POST', '/v1/notification-types/card.declined/test-send', {
        body: { version: 2, locale: 'fr', data, to: 'reviewer@bank.example' },
      }),
      202,
    );
    expect(res.version).toBe(2);
    const all = await engine.inbox.waitFor(before + 1, 30_000);
    const mail = all.find((m) => m.rcptTo.includes('reviewer@bank.example') && m.headers['x-notiflow-test'] === 'card.declined v2')!;
    expect(mail.subject).toBe('[TEST] Carte refusée\u00a0: Fnac Bruxelles');
    expect(mail.headers['x-notiflow-test']).toBe('card.declined v2');
    expect(mail.dkim.result).toBe('pass');
    expect(engine.ips).toContain(mail.remoteAddress);
    // The outcome is recorded once the receiver has answered.
    const steps = await waitUntil(async () => {
      const rows = await engine.database.db
        .select({ step: auditEvents.step, detail: auditEvents.detail })
        .from(auditEvents)
        .where(eq(auditEvents.tenantId, engine.tenantId));
      return rows.some((r) => r.step === 'template.test_sent' && sentBy(r, res.id)) ? rows : undefined;
    });
    expect(steps.find((s) => s.step === 'template.test_sent' && sentBy(s, res.id))!.detail).toMatchObject({
      testSendId: res.id,
      type: 'card.declined',
      version: 2,
      domain: 'bank.example',
    });
    expect(JSON.stringify(steps)).not.toContain('reviewer@');
  });

  it("uses the tenant's published brand layout for versions made after it, with the engine's links", async () => {
    const { layouts } = await json<{ layouts: { version: number }[] }>(await engine.request('GET', '/v1/layouts'), 200);
    expect(layouts.map((l) => l.version)).toEqual([1]);
    const mjml =
      '<mjml>\n<mj-body background-color="{{> backgroundColor}}">\n<mj-section background-color="{{> primaryColor}}"><mj-column>{{> logo}}</mj-column></mj-section>\n<mj-section><mj-column>\n{{> content}}\n<mj-text>{{> legal}} {{> footer}}</mj-text>\n</mj-column></mj-section>\n</mj-body>\n</mjml>';
    const brand = {
      text: '{{> content}}\n--\n{{> legal}}',
      logoUrl: 'https://bank.example/logo.png',
      colors: { primary: '#123456', background: '#fafafa' },
      footer: { fr: 'Banque Exemple SA, Bruxelles' },
      legal: { fr: 'Agréée par la BNB.', en: 'Authorised by the NBB.' },
    };
    const broken = await json<{ errors: { path: string; line?: number; tag?: string }[] }>(
      await engine.request('POST', '/v1/layouts', { body: { ...brand, mjml: mjml.replace('<mj-section><mj-column>', '<mj-section><mj-colum>') } }),
      422,
    );
    expect(broken.errors).toContainEqual(expect.objectContaining({ path: 'body.mjml', line: 4, tag: 'mj-colum' }));
    const created = await json<{ version: number }>(await engine.request('POST', '/v1/layouts', { body: { ...brand, mjml, publish: true } }), 201);
    expect(created.version).toBe(2);
    const v = await json<{ version: number; layoutVersion: number }>(
      await engine.request('POST', '/v1/notification-types/card.declined/versions', { body: body('Carte refusée') }),
      201,
    );
    expect(v.layoutVersion).toBe(2);
    const preview = await json<{ email: { html: string; text: string } }>(
      await engine.request('POST', '/v1/notification-types/card.declined/preview', { body: { version: v.version, locale: 'fr', data } }),
      200,
    );
    expect(preview.email.html).toContain('#123456');
    expect(preview.email.html).toContain('https://bank.example/logo.png');
    expect(preview.email.html).toContain('Banque Exemple SA, Bruxelles');
    expect(preview.email.html).toContain('>Se désabonner</a>');
    expect(preview.email.text).toContain('Agréée par la BNB.');
    // Versions made before keep the layout they pinned.
    const old = await json<{ email: { html: string } }>(
      await engine.request('POST', '/v1/notification-types/card.declined/preview', { body: { version: 1, locale: 'fr', data } }),
      200,
    );
    expect(old.email.html).not.toContain('#123456');
  });

  it('is invisible to another tenant, which cannot trigger it', async () => {
    const other = await engine.addTenant();
    const types = await json<{ types: { type: string }[] }>(await engine.request('GET', '/v1/notification-types', { key: other.apiKey }), 200);
    expect(types.types.map((t) => t.type).sort()).toEqual([
      'account.low_balance',
      'account.transaction',
      'marketing.newsletter',
      'security.new_device',
    ]);
    expect((await engine.request('GET', '/v1/notification-types/card.declined/versions', { key: other.apiKey })).status).toBe(404);
    expect(
      (await engine.request('POST', '/v1/notification-types/card.declined/preview', { key: other.apiKey, body: { locale: 'fr', data } })).status,
    ).toBe(404);
    await engine.request('PUT', '/v1/users/alice', { key: other.apiKey, body: { email: 'alice@other.example', locale: 'fr' } });
    const res = await engine.request('POST', '/v1/notifications', {
      key: other.apiKey,
      headers: { 'idempotency-key': 'x-1' },
      body: { userId: 'alice', type: 'card.declined', data },
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: string }).detail).toContain("Unknown notification type 'card.declined'");
  });
});
