import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWithPlaceholders } from '../templates/compile.js';
import { TemplateError } from '../templates/errors.js';
import type { ReceivedMessage } from '../dev/smtp-inbox.js';
import type { ReceivedPush } from '../dev/fcm-endpoint.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { expectProblem } from './helpers/problem.js';
import { waitUntil } from './helpers/wait.js';

// The default templates as every new tenant gets them (its own version 1 of each type, stored in
// Postgres by seedTenantDefaults), checked where they end up: the mail at the SMTP inbox and the
// push at the FCM endpoint, rendered by the pipeline that sends.

const locales = ['en', 'fr', 'de', 'nl'] as const;
type Locale = (typeof locales)[number];
const types = ['account.transaction', 'account.low_balance', 'security.new_device', 'marketing.newsletter'] as const;

const samples: Record<string, Record<string, unknown>> = {
  'account.transaction': { amount: 42.5, currency: 'EUR', merchant: 'Boulangerie Dupont', accountLast4: '4821' },
  'account.low_balance': { balance: '12.30', currency: 'EUR', threshold: 50 },
  'security.new_device': { device: 'Pixel 9', city: 'Lyon', at: '2025-03-14T09:30:00Z' },
  'marketing.newsletter': { headline: 'Spring rates', body: 'Line one\nLine two' },
};

let engine: TestEngine;
let bank: string;

/** Words a reader of each language would see; none of them appears in the other languages. */
const expected = (): Record<string, Record<Locale, { subject: string; text: string; push: string }>> => ({
  'account.transaction': {
    en: { subject: 'Payment of €42.50 at Boulangerie Dupont', text: "Don't recognise this payment?", push: 'Payment of €42.50' },
    fr: {
      subject: 'Paiement de 42,50\u00a0€ chez Boulangerie Dupont',
      text: 'Vous ne reconnaissez pas ce paiement',
      push: 'Paiement de 42,50\u00a0€',
    },
    de: { subject: 'Zahlung über 42,50\u00a0€ bei Boulangerie Dupont', text: 'Sperren Sie Ihre Karte', push: 'Zahlung über 42,50\u00a0€' },
    nl: { subject: 'Betaling van €\u00a042,50 bij Boulangerie Dupont', text: 'Herkent u deze betaling niet?', push: 'Betaling van €\u00a042,50' },
  },
  'account.low_balance': {
    en: { subject: 'Your balance is below €50.00', text: 'Current balance: €12.30', push: 'Low balance' },
    fr: { subject: 'Votre solde est passé sous 50,00\u00a0€', text: 'Solde actuel\u00a0: 12,30\u00a0€', push: 'Solde bas' },
    de: { subject: 'Ihr Kontostand liegt unter 50,00\u00a0€', text: 'Aktueller Kontostand: 12,30\u00a0€', push: 'Niedriger Kontostand' },
    nl: { subject: 'Uw saldo is lager dan €\u00a050,00', text: 'Huidig saldo: €\u00a012,30', push: 'Laag saldo' },
  },
  'security.new_device': {
    en: { subject: 'New sign-in to your account from Pixel 9', text: 'March 14, 2025 at 10:30', push: 'New sign-in' },
    fr: { subject: 'Nouvelle connexion à votre compte depuis Pixel 9', text: '14 mars 2025 à 10:30', push: 'Nouvelle connexion' },
    de: { subject: 'Neue Anmeldung bei Ihrem Konto von Pixel 9', text: '14. März 2025 um 10:30', push: 'Neue Anmeldung' },
    nl: { subject: 'Nieuwe aanmelding op uw account vanaf Pixel 9', text: '14 maart 2025 om 10:30', push: 'Nieuwe aanmelding' },
  },
  'marketing.newsletter': {
    en: { subject: 'Spring rates', text: `News from ${bank}`, push: 'Spring rates' },
    fr: { subject: 'Spring rates', text: `Les actualités de ${bank}`, push: 'Spring rates' },
    de: { subject: 'Spring rates', text: `Neuigkeiten von ${bank}`, push: 'Spring rates' },
    nl: { subject: 'Spring rates', text: `Nieuws van ${bank}`, push: 'Spring rates' },
  },
});

const footer = (): Record<Locale, { text: string; unsubscribe: string }> => ({
  en: { text: `${bank} will never ask for your password`, unsubscribe: 'Unsubscribe' },
  fr: { text: `${bank} ne vous demandera jamais votre mot de passe`, unsubscribe: 'Se désabonner' },
  de: { text: `${bank} wird Sie niemals per E-Mail nach Ihrem Passwort`, unsubscribe: 'Abmelden' },
  nl: { text: `${bank} vraagt u nooit per e-mail om uw wachtwoord`, unsubscribe: 'Afmelden' },
});

/** Every category by e-mail and push (marketing's choice records the opt-in it needs). */
const everything = { transactions: ['email', 'push'], balance: ['email', 'push'], marketing: ['email', 'push'] };

let n = 0;
async function user(profile: Record<string, unknown>, categories: Record<string, string[]> = everything): Promise<string> {
  const id = `u${++n}`;
  await putUser(
    engine,
    id,
    { email: `${id}@example.org`, pushTokens: [`tok-${engine.tenantId}-${id}`], timezone: 'Europe/Paris', ...profile },
    categories,
  );
  return id;
}

const mailOf = (id: string): Promise<ReceivedMessage> =>
  waitUntil(async () => engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id), 60_000, `the mail of ${id}`);
const pushOf = (id: string): Promise<ReceivedPush> =>
  waitUntil(async () => engine.fcm.received.find((p) => p.data?.notificationId === id), 60_000, `the push of ${id}`);

/** Triggers one notification and returns the mail that arrives for it. */
async function mailFor(userId: string, type: string, data: Record<string, unknown>): Promise<ReceivedMessage> {
  return mailOf(await trigger(engine, userId, `k-${++n}`, type, data));
}

// One user per locale, each sent every default type at once: the matrix below reads what arrived.
const sent: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
  bank = `Bank ${engine.tenantId}`;
  await Promise.all(
    locales.map(async (locale) => {
      const id = await user({ locale });
      sent[locale] = {};
      for (const type of types) sent[locale]![type] = await trigger(engine, id, `${locale}-${type}`, type, samples[type]);
    }),
  );
});
afterAll(async () => engine?.stop());

describe('a new tenant', () => {
  it('starts with the four default types, version 1 published, with their categories and variables', async () => {
    const res = await engine.request('GET', '/v1/notification-types');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      types: { type: string; category: string; publishedVersion: number | null; variables: Record<string, unknown> }[];
    };
    const summary = Object.fromEntries(
      body.types.map((t) => [t.type, { category: t.category, fields: Object.keys(t.variables).sort(), v: t.publishedVersion }]),
    );
    expect(summary).toEqual({
      'account.transaction': { category: 'transactions', fields: ['accountLast4', 'amount', 'currency', 'merchant'], v: 1 },
      'account.low_balance': { category: 'balance', fields: ['balance', 'currency', 'threshold'], v: 1 },
      'security.new_device': { category: 'security', fields: ['at', 'city', 'device'], v: 1 },
      'marketing.newsletter': { category: 'marketing', fields: ['body', 'headline'], v: 1 },
    });
  });
});

describe.each(types)('%s', (type) => {
  it.each(locales)('arrives by e-mail and push in %s, from stored version 1', async (locale) => {
    const id = sent[locale]![type]!;
    const want = expected()[type]![locale];
    const mail = await mailOf(id);
    expect(mail.dkim.result).toBe('pass');
    expect(mail.subject).toBe(want.subject);
    expect(mail.text).toContain(want.text);
    expect(mail.text).toContain(footer()[locale].text);
    expect(mail.html).toContain(`<html lang="${locale}"`);
    expect(mail.html).toContain(footer()[locale].text);
    expect(mail.html).not.toMatch(/\{\{|\}\}|NFVAR/);
    expect(mail.text).not.toMatch(/\{\{|\}\}/);
    // Every category but security carries a one-click unsubscribe link, in both parts.
    const link = /href="(http[^"]+)"[^>]*>([^<]+)<\/a>/.exec(mail.html);
    if (type === 'security.new_device') {
      expect(link).toBeNull();
    } else {
      expect(link?.[2]).toBe(footer()[locale].unsubscribe);
      expect(mail.text).toContain(link![1]!.replace(/&amp;/g, '&'));
    }

    const push = await pushOf(id);
    expect(push.title).toContain(want.push);
    expect(push.body?.length).toBeGreaterThan(0);
    expect(`${push.title} ${push.body}`).not.toMatch(/\{\{|\}\}/);
    expect((await settled(engine, id)).templateVersion).toBe(1);
  });
});

describe('locales', () => {
  it('sends an unknown locale in English and fr-FR in French; en-GB keeps its own date format', async () => {
    const data = samples['account.transaction']!;
    const [es, frFr, gb] = await Promise.all([user({ locale: 'es-ES' }), user({ locale: 'fr-FR' }), user({ locale: 'en-GB' })]);
    expect((await mailFor(es, 'account.transaction', data)).subject).toBe('Payment of €42.50 at Boulangerie Dupont');
    expect((await mailFor(frFr, 'account.transaction', data)).subject).toBe('Paiement de 42,50\u00a0€ chez Boulangerie Dupont');
    expect((await mailFor(gb, 'security.new_device', samples['security.new_device']!)).text).toContain('14 March 2025 at 10:30');
  });
});

describe('escaping', () => {
  const data = { ...samples['account.transaction']!, merchant: '<script>alert("pwn")</script> & Söhne' };

  it('escapes data in the HTML part only; subject, text and push carry it as given', async () => {
    const id = await trigger(engine, await user({ locale: 'de' }), 'esc-1', 'account.transaction', data);
    const mail = await mailOf(id);
    expect(mail.html).not.toContain('<script>alert');
    expect(mail.html).toContain('&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt; &amp; Söhne');
    expect(mail.text).toContain('<script>alert("pwn")</script> & Söhne');
    expect(mail.subject).toBe('Zahlung über 42,50\u00a0€ bei <script>alert("pwn")</script> & Söhne');
    expect((await pushOf(id)).body).toContain('<script>alert("pwn")</script> & Söhne');
  });

  it('strips CR/LF from the subject, so data cannot add a header', async () => {
    const mail = await mailFor(await user({ locale: 'en' }), 'account.transaction', { ...data, merchant: 'Shop\r\nBcc: victim@example.com' });
    expect(mail.subject).toBe('Payment of €42.50 at Shop Bcc: victim@example.com');
    expect(mail.headers.bcc).toBeUndefined();
    expect(mail.rcptTo).toHaveLength(1);
  });

  it('keeps newsletter line breaks as <br /> in HTML', async () => {
    const mail = await mailFor(await user({ locale: 'en' }), 'marketing.newsletter', { headline: 'Hi', body: 'a < b\nc' });
    expect(mail.html).toContain('a &lt; b<br />c');
    expect(mail.text).toContain('a < b\nc');
  });

  it('does not expand placeholders found inside data', async () => {
    const mail = await mailFor(await user({ locale: 'en' }), 'account.transaction', { ...data, merchant: '{{accountLast4}}' });
    expect(mail.text).toContain('Merchant: {{accountLast4}}');
  });
});

describe('formatting', () => {
  it('formats amounts per locale in the given currency', async () => {
    const [fr, de] = await Promise.all([user({ locale: 'fr' }), user({ locale: 'de' })]);
    const big = await mailFor(fr, 'account.transaction', { ...samples['account.transaction']!, amount: '1234.5' });
    expect(big.text).toContain('Montant\u00a0: 1\u202f234,50\u00a0€');
    const chf = await mailFor(de, 'account.low_balance', { balance: 5, currency: 'CHF', threshold: 20 });
    expect(chf.subject).toBe('Ihr Kontostand liegt unter 20,00\u00a0CHF');
  });

  it("formats times in the user's time zone", async () => {
    const ny = await user({ locale: 'en', timezone: 'America/New_York' });
    expect((await mailFor(ny, 'security.new_device', samples['security.new_device']!)).text).toContain('March 14, 2025 at 5:30');
  });

  it('refuses an amount or a time that is not one, naming the field; nothing is sent', async () => {
    const id = await user({ locale: 'en' });
    const before = engine.inbox.messages.length;
    const post = (key: string, type: string, data: Record<string, unknown>) =>
      engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { userId: id, type, data } });
    const amount = await expectProblem(await post('bad-1', 'account.transaction', { ...samples['account.transaction']!, amount: 'about 40' }), 422);
    expect(JSON.stringify(amount)).toContain('data.amount');
    const at = await expectProblem(await post('bad-2', 'security.new_device', { ...samples['security.new_device']!, at: 'hier soir' }), 422);
    expect(JSON.stringify(at)).toContain('data.at');
    expect(engine.inbox.messages.length).toBe(before);
  });
});

describe('refusals', () => {
  it('refuses an unknown or prototype type, and names every absent or empty field', async () => {
    const id = await user({ locale: 'en' });
    const post = (key: string, type: string, data: Record<string, unknown>) =>
      engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { userId: id, type, data } });
    for (const type of ['account.unknown', 'toString', '__proto__']) {
      await expectProblem(await post(`unknown-${type}`, type, {}), 422, /Unknown notification type/);
    }
    const missing = await expectProblem(await post('missing', 'account.transaction', { currency: 'EUR', merchant: ' ', accountLast4: '1' }), 422);
    expect(JSON.stringify(missing)).toContain('data.amount');
    expect(JSON.stringify(missing)).toContain('data.merchant');
  });
});

describe('compilation', () => {
  it('keeps placeholders intact through mjml, in text and attributes', async () => {
    const html = await compileWithPlaceholders(
      '<mjml><mj-body><mj-section><mj-column><mj-button href="{{url}}">{{label}}</mj-button><mj-text>{{label}}</mj-text></mj-column></mj-section></mj-body></mjml>',
    );
    expect(html).toContain('href="{{url}}"');
    expect(html.split('{{label}}').length - 1).toBe(2);
  });

  it('rejects invalid MJML as invalid_template', async () => {
    const error = await compileWithPlaceholders('<mjml><mj-body><mj-section><mj-text>{{x}}</mj-text></mj-section></mj-body></mjml>').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).code).toBe('invalid_template');
  });
});
