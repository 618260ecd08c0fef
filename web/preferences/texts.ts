// The preference centre's words in the four locales users have (en, fr, de, nl).

export const locales = ['en', 'fr', 'de', 'nl'] as const;
export type Locale = (typeof locales)[number];

export interface Texts {
  title: string;
  intro: (tenant: string) => string;
  categories: Record<string, { name: string; hint: string }>;
  channels: Record<string, string>;
  locked: string;
  mandatoryReason: string;
  consentLabel: (tenant: string) => string;
  consentRecorded: (date: string) => string;
  save: string;
  saved: string;
  /** How often: each notification on its own, or in a daily digest. */
  frequency: { label: string; each: string; digest: string };
  errors: { 'consent-needed': string; 'unknown-channel': string; 'opt-out-only': string; heading: string };
  /** The page opened from an unsubscribe page's link, which may only turn things off. */
  optOutOnly: string;
  expired: string;
  invalid: string;
  notFound: string;
  unsubscribeMore: string;
  /** The unsubscribe page (api/unsubscribe.ts), for a person who followed a footer link. */
  unsubscribe: { title: string; ask: (category: string) => string; button: string; done: (category: string) => string; dead: string };
}

const en: Texts = {
  title: 'Your notification preferences',
  intro: (t) => `Choose how ${t} keeps you informed.`,
  categories: {
    transactions: { name: 'Transactions', hint: 'Payments and transfers on your accounts' },
    balance: { name: 'Balance alerts', hint: 'When your balance drops below a threshold' },
    security: { name: 'Security alerts', hint: 'New devices and sign-ins' },
    marketing: { name: 'News and offers', hint: 'Our newsletter and product news' },
  },
  channels: { email: 'E-mail', push: 'Push notification' },
  locked: 'Always on',
  mandatoryReason: 'Security alerts protect your account, so they are always sent.',
  consentLabel: (t) => `I agree to receive news and offers from ${t}. I can withdraw this consent at any time on this page.`,
  consentRecorded: (d) => `Consent given on ${d}.`,
  save: 'Save preferences',
  frequency: { label: 'How often', each: 'Each time', digest: 'Daily digest' },
  saved: 'Your preferences have been saved.',
  errors: {
    heading: 'Nothing was saved',
    'consent-needed': 'To receive news and offers, tick the consent box.',
    'unknown-channel': 'A channel that does not exist was chosen.',
    'opt-out-only': 'From an unsubscribe link, notifications can only be turned off.',
  },
  expired: 'This link has expired. Ask for a new one in the app.',
  invalid: 'This link is not valid.',
  notFound: 'This account no longer exists.',
  optOutOnly: 'You came here from an unsubscribe link, so this page can only turn notifications off. To turn any on, use the app.',
  unsubscribeMore: 'Turn off other notifications',
  unsubscribe: {
    title: 'Unsubscribe',
    ask: (c) => `Stop e-mail about ${c}?`,
    button: 'Unsubscribe',
    done: (c) => `You will no longer receive e-mail about ${c}.`,
    dead: 'This unsubscribe link is no longer valid: it was used, revoked or has expired, or you subscribed again.',
  },
};

const fr: Texts = {
  title: 'Vos préférences de notification',
  intro: (t) => `Choisissez comment ${t} vous tient informé.`,
  categories: {
    transactions: { name: 'Opérations', hint: 'Paiements et virements sur vos comptes' },
    balance: { name: 'Alertes de solde', hint: 'Quand votre solde passe sous un seuil' },
    security: { name: 'Alertes de sécurité', hint: 'Nouveaux appareils et connexions' },
    marketing: { name: 'Actualités et offres', hint: 'Notre lettre d’information et nos nouveautés' },
  },
  channels: { email: 'E-mail', push: 'Notification push' },
  locked: 'Toujours activé',
  mandatoryReason: 'Les alertes de sécurité protègent votre compte : elles sont toujours envoyées.',
  consentLabel: (t) => `J’accepte de recevoir les actualités et offres de ${t}. Je peux retirer ce consentement à tout moment sur cette page.`,
  consentRecorded: (d) => `Consentement donné le ${d}.`,
  save: 'Enregistrer mes préférences',
  frequency: { label: 'Fréquence', each: 'À chaque fois', digest: 'Récapitulatif quotidien' },
  saved: 'Vos préférences ont été enregistrées.',
  errors: {
    heading: 'Rien n’a été enregistré',
    'consent-needed': 'Pour recevoir les actualités et offres, cochez la case de consentement.',
    'unknown-channel': 'Un canal inexistant a été choisi.',
    'opt-out-only': 'Depuis un lien de désabonnement, les notifications peuvent seulement être désactivées.',
  },
  expired: 'Ce lien a expiré. Demandez-en un nouveau dans l’application.',
  invalid: 'Ce lien n’est pas valide.',
  notFound: 'Ce compte n’existe plus.',
  optOutOnly:
    'Vous venez d’un lien de désabonnement : cette page peut seulement désactiver des notifications. Pour en activer, utilisez l’application.',
  unsubscribeMore: 'Désactiver d’autres notifications',
  unsubscribe: {
    title: 'Se désabonner',
    ask: (c) => `Ne plus recevoir d’e-mails « ${c} » ?`,
    button: 'Me désabonner',
    done: (c) => `Vous ne recevrez plus d’e-mails « ${c} ».`,
    dead: 'Ce lien de désabonnement n’est plus valable : il a déjà servi, a été révoqué ou a expiré, ou vous vous êtes réabonné.',
  },
};

const de: Texts = {
  title: 'Ihre Benachrichtigungseinstellungen',
  intro: (t) => `Wählen Sie, wie ${t} Sie informiert.`,
  categories: {
    transactions: { name: 'Umsätze', hint: 'Zahlungen und Überweisungen auf Ihren Konten' },
    balance: { name: 'Kontostand-Warnungen', hint: 'Wenn Ihr Kontostand unter einen Schwellenwert fällt' },
    security: { name: 'Sicherheitswarnungen', hint: 'Neue Geräte und Anmeldungen' },
    marketing: { name: 'Neuigkeiten und Angebote', hint: 'Unser Newsletter und Produktneuheiten' },
  },
  channels: { email: 'E-Mail', push: 'Push-Benachrichtigung' },
  locked: 'Immer aktiv',
  mandatoryReason: 'Sicherheitswarnungen schützen Ihr Konto und werden daher immer gesendet.',
  consentLabel: (t) =>
    `Ich willige ein, Neuigkeiten und Angebote von ${t} zu erhalten. Ich kann diese Einwilligung jederzeit auf dieser Seite widerrufen.`,
  consentRecorded: (d) => `Einwilligung erteilt am ${d}.`,
  save: 'Einstellungen speichern',
  frequency: { label: 'Wie oft', each: 'Jedes Mal', digest: 'Tägliche Zusammenfassung' },
  saved: 'Ihre Einstellungen wurden gespeichert.',
  errors: {
    heading: 'Nichts wurde gespeichert',
    'consent-needed': 'Um Neuigkeiten und Angebote zu erhalten, setzen Sie das Häkchen bei der Einwilligung.',
    'unknown-channel': 'Ein unbekannter Kanal wurde gewählt.',
    'opt-out-only': 'Über einen Abmeldelink können Benachrichtigungen nur abgeschaltet werden.',
  },
  expired: 'Dieser Link ist abgelaufen. Fordern Sie in der App einen neuen an.',
  invalid: 'Dieser Link ist ungültig.',
  notFound: 'Dieses Konto existiert nicht mehr.',
  optOutOnly: 'Sie kommen über einen Abmeldelink: Auf dieser Seite können Sie Benachrichtigungen nur abschalten. Zum Einschalten nutzen Sie die App.',
  unsubscribeMore: 'Weitere Benachrichtigungen abschalten',
  unsubscribe: {
    title: 'Abmelden',
    ask: (c) => `Keine E-Mails mehr zu „${c}“?`,
    button: 'Abmelden',
    done: (c) => `Sie erhalten keine E-Mails mehr zu „${c}“.`,
    dead: 'Dieser Abmeldelink ist nicht mehr gültig: Er wurde bereits verwendet, widerrufen oder ist abgelaufen, oder Sie haben sich erneut angemeldet.',
  },
};

const nl: Texts = {
  title: 'Uw meldingsvoorkeuren',
  intro: (t) => `Kies hoe ${t} u op de hoogte houdt.`,
  categories: {
    transactions: { name: 'Transacties', hint: 'Betalingen en overschrijvingen op uw rekeningen' },
    balance: { name: 'Saldomeldingen', hint: 'Wanneer uw saldo onder een drempel zakt' },
    security: { name: 'Beveiligingsmeldingen', hint: 'Nieuwe apparaten en aanmeldingen' },
    marketing: { name: 'Nieuws en aanbiedingen', hint: 'Onze nieuwsbrief en productnieuws' },
  },
  channels: { email: 'E-mail', push: 'Pushmelding' },
  locked: 'Altijd aan',
  mandatoryReason: 'Beveiligingsmeldingen beschermen uw rekening en worden daarom altijd verstuurd.',
  consentLabel: (t) =>
    `Ik ga akkoord met het ontvangen van nieuws en aanbiedingen van ${t}. Ik kan deze toestemming op elk moment op deze pagina intrekken.`,
  consentRecorded: (d) => `Toestemming gegeven op ${d}.`,
  save: 'Voorkeuren opslaan',
  frequency: { label: 'Hoe vaak', each: 'Elke keer', digest: 'Dagelijks overzicht' },
  saved: 'Uw voorkeuren zijn opgeslagen.',
  errors: {
    heading: 'Er is niets opgeslagen',
    'consent-needed': 'Vink het toestemmingsvakje aan om nieuws en aanbiedingen te ontvangen.',
    'unknown-channel': 'Er is een onbekend kanaal gekozen.',
    'opt-out-only': 'Via een afmeldlink kunnen meldingen alleen worden uitgezet.',
  },
  expired: 'Deze link is verlopen. Vraag een nieuwe aan in de app.',
  invalid: 'Deze link is ongeldig.',
  notFound: 'Dit account bestaat niet meer.',
  optOutOnly: 'U komt via een afmeldlink: op deze pagina kunt u meldingen alleen uitzetten. Gebruik de app om ze aan te zetten.',
  unsubscribeMore: 'Andere meldingen uitzetten',
  unsubscribe: {
    title: 'Afmelden',
    ask: (c) => `Geen e-mails meer over “${c}”?`,
    button: 'Afmelden',
    done: (c) => `U ontvangt geen e-mails meer over “${c}”.`,
    dead: 'Deze afmeldlink is niet meer geldig: hij is al gebruikt, ingetrokken of verlopen, of u hebt zich opnieuw aangemeld.',
  },
};

const all: Record<Locale, Texts> = { en, fr, de, nl };

export function textsFor(locale: string | undefined): { locale: Locale; t: Texts } {
  const base = (locale ?? 'en').slice(0, 2).toLowerCase();
  const l = (locales as readonly string[]).includes(base) ? (base as Locale) : 'en';
  return { locale: l, t: all[l] };
}
