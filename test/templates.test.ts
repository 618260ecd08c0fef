import { describe, it, expect, beforeAll } from 'vitest';
import {
  locales,
  templateCatalogue,
  precompileTemplates,
  renderEmail,
  renderEmailUncompiled,
  renderPush,
  resolveLocale,
  TemplateError,
  type Locale,
  type RenderContext,
} from '../templates/index.js';
import { compileWithPlaceholders } from '../templates/compile.js';

const ctx: RenderContext = { tenantName: 'Nordbank', timezone: 'Europe/Paris' };
const withUnsubscribe: RenderContext = { ...ctx, unsubscribeUrl: 'https://nordbank.example/u?t=abc&l=1' };

const samples: Record<string, Record<string, unknown>> = {
  'account.transaction': { amount: 42.5, currency: 'EUR', merchant: 'Boulangerie Dupont', accountLast4: '4821' },
  'account.low_balance': { balance: '12.30', currency: 'EUR', threshold: 50 },
  'security.new_device': { device: 'Pixel 9', city: 'Lyon', at: '2025-03-14T09:30:00Z' },
  'marketing.newsletter': { headline: 'Spring rates', body: 'Line one\nLine two' },
};

/** Words a reader of each language would see; none of them appears in the other languages. */
const expected: Record<string, Record<Locale, { subject: string; text: string; push: string }>> = {
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
    en: { subject: 'Spring rates', text: 'News from Nordbank', push: 'Spring rates' },
    fr: { subject: 'Spring rates', text: 'Les actualités de Nordbank', push: 'Spring rates' },
    de: { subject: 'Spring rates', text: 'Neuigkeiten von Nordbank', push: 'Spring rates' },
    nl: { subject: 'Spring rates', text: 'Nieuws van Nordbank', push: 'Spring rates' },
  },
};

const footer: Record<Locale, { text: string; unsubscribe: string }> = {
  en: { text: 'Nordbank will never ask for your password', unsubscribe: 'Unsubscribe' },
  fr: { text: 'Nordbank ne vous demandera jamais votre mot de passe', unsubscribe: 'Se désabonner' },
  de: { text: 'Nordbank wird Sie niemals per E-Mail nach Ihrem Passwort', unsubscribe: 'Abmelden' },
  nl: { text: 'Nordbank vraagt u nooit per e-mail om uw wachtwoord', unsubscribe: 'Afmelden' },
};

async function rejection(promise: Promise<unknown>): Promise<TemplateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TemplateError);
  return error as TemplateError;
}

function thrown(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return e as TemplateError;
  }
  throw new Error('expected a TemplateError');
}

beforeAll(async () => {
  await precompileTemplates();
}, 30_000);

describe('catalogue', () => {
  it('lists the public types with their category and fields', () => {
    expect(templateCatalogue).toEqual({
      'account.transaction': { category: 'transactions', fields: ['amount', 'currency', 'merchant', 'accountLast4'] },
      'account.low_balance': { category: 'balance', fields: ['balance', 'currency', 'threshold'] },
      'security.new_device': { category: 'security', fields: ['device', 'city', 'at'] },
      'marketing.newsletter': { category: 'marketing', fields: ['headline', 'body'] },
    });
  });
});

describe('locales', () => {
  it('resolves regional tags and falls back to en', () => {
    expect(locales).toEqual(['en', 'fr', 'de', 'nl']);
    expect(resolveLocale('fr-FR')).toBe('fr');
    expect(resolveLocale('nl_BE')).toBe('nl');
    expect(resolveLocale('DE')).toBe('de');
    expect(resolveLocale('es')).toBe('en');
    expect(resolveLocale('')).toBe('en');
    expect(resolveLocale(undefined)).toBe('en');
    expect(resolveLocale(null)).toBe('en');
  });

  it('renders an unknown locale in English and fr-FR in French', async () => {
    const data = samples['account.transaction']!;
    expect((await renderEmail('account.transaction', 'es-ES', data, ctx)).subject).toBe(expected['account.transaction']!.en.subject);
    expect((await renderEmail('account.transaction', 'fr-FR', data, ctx)).subject).toBe(expected['account.transaction']!.fr.subject);
    expect(renderPush('account.transaction', 'xx', data, ctx).title).toBe('Payment of €42.50');
  });

  it('keeps the region for formatting', async () => {
    const { text } = await renderEmail('security.new_device', 'en-GB', samples['security.new_device']!, ctx);
    expect(text).toContain('14 March 2025 at 10:30');
  });
});

describe.each(Object.keys(expected))('%s', (type) => {
  const data = samples[type]!;

  it.each(locales)('renders e-mail and push in %s', async (locale) => {
    const want = expected[type]![locale];
    const email = await renderEmail(type, locale, data, withUnsubscribe);
    expect(email.subject).toBe(want.subject);
    expect(email.text).toContain(want.text);
    expect(email.text).toContain(footer[locale].text);
    expect(email.text).toContain('https://nordbank.example/u?t=abc&l=1');
    expect(email.html).toContain(`<html lang="${locale}"`);
    expect(email.html).toContain(footer[locale].text);
    expect(email.html).toContain(`>${footer[locale].unsubscribe}</a>`);
    expect(email.html).toContain('href="https://nordbank.example/u?t=abc&amp;l=1"');
    expect(email.html).not.toMatch(/\{\{|\}\}|NFVAR/);

    const push = renderPush(type, locale, data, withUnsubscribe);
    expect(push.title).toContain(want.push);
    expect(push.body.length).toBeGreaterThan(0);
    expect(`${push.title} ${push.body}`).not.toMatch(/\{\{|\}\}/);
  });

  it('throws missing_variable naming each absent, null or empty field', async () => {
    const fields = templateCatalogue[type]!.fields;
    const [first, second] = fields;
    const broken = { ...data, [first!]: undefined, ...(second ? { [second]: '' } : {}) };
    const error = await rejection(renderEmail(type, 'en', broken, withUnsubscribe));
    expect(error.code).toBe('missing_variable');
    expect(error.message).toContain(first!);
    if (second) expect(error.message).toContain(second);
    expect(error.details).toMatchObject({ missing: second ? [first, second] : [first] });

    const nulled = thrown(() => renderPush(type, 'fr', { ...data, [first!]: null }, ctx));
    expect(nulled.code).toBe('missing_variable');
    expect(nulled.message).toContain(first!);
  });

  it('produces the same output compiled and uncompiled', async () => {
    for (const locale of locales) {
      const tricky = { ...data, [templateCatalogue[type]!.fields.at(-1)!]: `<script>alert("x")</script> & 'co'\nnext` };
      for (const c of [withUnsubscribe, { ...withUnsubscribe, unsubscribeUrl: undefined }]) {
        if (type === 'marketing.newsletter' && !c.unsubscribeUrl) continue;
        const compiled = await renderEmail(type, locale, tricky, c);
        const uncompiled = await renderEmailUncompiled(type, locale, tricky, c);
        expect(compiled).toEqual(uncompiled);
      }
    }
  }, 30_000);
});

describe('escaping', () => {
  const data = { ...samples['account.transaction']!, merchant: '<script>alert("pwn")</script> & Söhne' };

  it('escapes variables in html but not in text, push or subject', async () => {
    const email = await renderEmail('account.transaction', 'de', data, { ...ctx, tenantName: 'A&B <Bank>' });
    expect(email.html).not.toContain('<script>alert');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt; &amp; Söhne');
    expect(email.html).toContain('A&amp;B &lt;Bank&gt;');
    expect(email.text).toContain('<script>alert("pwn")</script> & Söhne');
    expect(email.subject).toBe('Zahlung über 42,50\u00a0€ bei <script>alert("pwn")</script> & Söhne');
    expect(renderPush('account.transaction', 'de', data, ctx).body).toContain('<script>alert("pwn")</script> & Söhne');
  });

  it('strips CR/LF from the subject', async () => {
    const email = await renderEmail('account.transaction', 'en', { ...data, merchant: 'Shop\r\nBcc: victim@example.com' }, ctx);
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.subject).toBe('Payment of €42.50 at Shop Bcc: victim@example.com');
  });

  it('keeps newsletter line breaks as <br /> in html', async () => {
    const email = await renderEmail('marketing.newsletter', 'en', { headline: 'Hi', body: 'a < b\nc' }, withUnsubscribe);
    expect(email.html).toContain('a &lt; b<br />c');
    expect(email.text).toContain('a < b\nc');
  });

  it('does not expand placeholders found inside data', async () => {
    const email = await renderEmail('account.transaction', 'en', { ...data, merchant: '{{accountLast4}}' }, ctx);
    expect(email.text).toContain('Merchant: {{accountLast4}}');
  });
});

describe('formatting', () => {
  it('formats numeric amounts per locale and shows other values as given', async () => {
    const fr = await renderEmail('account.transaction', 'fr', { ...samples['account.transaction']!, amount: '1234.5' }, ctx);
    expect(fr.text).toContain('Montant\u00a0: 1\u202f234,50\u00a0€');
    const odd = await renderEmail('account.transaction', 'en', { ...samples['account.transaction']!, amount: 'about 40' }, ctx);
    expect(odd.text).toContain('Amount: about 40');
    const chf = await renderEmail('account.low_balance', 'de', { balance: 5, currency: 'chf', threshold: 20 }, ctx);
    expect(chf.subject).toBe('Ihr Kontostand liegt unter 20,00\u00a0CHF');
  });

  it('formats timestamps in ctx.timezone, and shows non-ISO values as given', async () => {
    const data = samples['security.new_device']!;
    const ny = await renderEmail('security.new_device', 'en', data, { ...ctx, timezone: 'America/New_York' });
    expect(ny.text).toContain('March 14, 2025 at 5:30');
    const paris = await renderEmail('security.new_device', 'fr', data, { tenantName: 'Nordbank' });
    expect(paris.text).toContain('14 mars 2025 à 10:30');
    const raw = await renderEmail('security.new_device', 'fr', { ...data, at: 'hier soir' }, ctx);
    expect(raw.text).toContain('Date et heure\u00a0: hier soir');
  });
});

describe('errors and footer', () => {
  it('throws unknown_type for an unknown or prototype type', async () => {
    for (const type of ['account.unknown', 'toString', '__proto__', '../layout']) {
      const error = await rejection(renderEmail(type, 'en', {}, ctx));
      expect(error.code).toBe('unknown_type');
      expect(thrown(() => renderPush(type, 'en', {}, ctx)).code).toBe('unknown_type');
    }
  });

  it('requires a tenant name and, for marketing, an unsubscribe URL', async () => {
    const error = await rejection(renderEmail('account.transaction', 'en', samples['account.transaction']!, { tenantName: ' ' }));
    expect(error.code).toBe('missing_variable');
    expect(error.message).toContain('tenantName');
    const marketing = await rejection(renderEmail('marketing.newsletter', 'en', samples['marketing.newsletter']!, ctx));
    expect(marketing.code).toBe('missing_variable');
    expect(marketing.message).toContain('unsubscribeUrl');
  });

  it('shows no unsubscribe link when none is given', async () => {
    const email = await renderEmail('account.transaction', 'en', samples['account.transaction']!, ctx);
    expect(email.html).not.toContain('Unsubscribe');
    expect(email.text).not.toContain('To stop receiving');
    expect(email.text).toContain('Nordbank will never ask for your password');
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
    const error = await rejection(compileWithPlaceholders('<mjml><mj-body><mj-section><mj-text>{{x}}</mj-text></mj-section></mj-body></mjml>'));
    expect(error.code).toBe('invalid_template');
  });
});
