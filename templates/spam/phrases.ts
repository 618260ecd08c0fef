/**
 * Words and phrases spam filters weigh against a message, per language, with what to write
 * instead. Matched case-insensitively on word boundaries in the subject and the visible text.
 * Kinds: free (free offers), urgency, money (money promises), click (vague calls to action).
 */
export interface Phrase {
  text: string;
  kind: 'free' | 'urgency' | 'money' | 'click' | 'prize';
  weight: number;
  advice: string;
}

const p = (text: string, kind: Phrase['kind'], weight: number, advice: string): Phrase => ({ text, kind, weight, advice });

export const phrases: Record<'en' | 'fr' | 'de' | 'nl', Phrase[]> = {
  en: [
    p('free', 'free', 1.5, 'Say what is included instead, e.g. "included in your plan" or "at no extra cost".'),
    p('100% free', 'free', 2.5, 'State the actual terms, e.g. "no monthly fee".'),
    p('click here', 'click', 1.5, 'Name where the link goes, e.g. "View your statement".'),
    p('act now', 'urgency', 2, 'Give the real date instead, e.g. "before 31 March".'),
    p('limited time', 'urgency', 1.5, 'Give the real end date.'),
    p('urgent', 'urgency', 1.5, 'Describe what happened; the facts convey the urgency.'),
    p('guaranteed', 'money', 1.5, 'Describe the actual terms.'),
    p('earn money', 'money', 2.5, 'Describe the product, e.g. "interest of 2% a year".'),
    p('cash bonus', 'money', 2, 'Say what the customer receives and when.'),
    p('risk-free', 'money', 2, 'Describe the terms, e.g. "cancel at any time".'),
    p('winner', 'prize', 2, 'Avoid prize language in account mail.'),
    p('congratulations', 'prize', 1, 'Get to the point: say what changed.'),
  ],
  fr: [
    p('gratuit', 'free', 1.5, 'Précisez ce qui est inclus, p. ex. « inclus dans votre offre » ou « sans frais ».'),
    p('gratuitement', 'free', 1.5, 'Préférez « sans frais supplémentaires ».'),
    p('cliquez ici', 'click', 1.5, 'Nommez la destination du lien, p. ex. « Voir mon relevé ».'),
    p('offre limitée', 'urgency', 1.5, 'Donnez la date de fin réelle, p. ex. « jusqu’au 31 mars ».'),
    p('dépêchez-vous', 'urgency', 2, 'Donnez la date réelle plutôt qu’une injonction.'),
    p('urgent', 'urgency', 1.5, 'Décrivez les faits ; ils suffisent à montrer l’urgence.'),
    p('gagnez', 'prize', 2, 'Décrivez l’avantage réel, p. ex. « 2 % d’intérêts par an ».'),
    p('argent facile', 'money', 2.5, 'Décrivez le produit et ses conditions.'),
    p('sans risque', 'money', 2, 'Décrivez les conditions, p. ex. « résiliable à tout moment ».'),
    p('garanti', 'money', 1.5, 'Décrivez les conditions réelles.'),
    p('félicitations', 'prize', 1, 'Allez droit au but : dites ce qui a changé.'),
  ],
  de: [
    p('kostenlos', 'free', 1.5, 'Nennen Sie, was enthalten ist, z. B. „ohne Aufpreis“.'),
    p('gratis', 'free', 1.5, 'Nennen Sie, was enthalten ist, z. B. „im Kontomodell enthalten“.'),
    p('hier klicken', 'click', 1.5, 'Nennen Sie das Ziel des Links, z. B. „Kontoauszug ansehen“.'),
    p('jetzt handeln', 'urgency', 2, 'Nennen Sie das tatsächliche Datum.'),
    p('nur heute', 'urgency', 1.5, 'Nennen Sie das tatsächliche Enddatum.'),
    p('dringend', 'urgency', 1.5, 'Beschreiben Sie den Vorgang; die Fakten zeigen die Dringlichkeit.'),
    p('gewinnen', 'prize', 2, 'Beschreiben Sie den tatsächlichen Vorteil.'),
    p('garantiert', 'money', 1.5, 'Beschreiben Sie die tatsächlichen Bedingungen.'),
    p('schnelles geld', 'money', 2.5, 'Beschreiben Sie das Produkt und seine Bedingungen.'),
    p('risikofrei', 'money', 2, 'Beschreiben Sie die Bedingungen, z. B. „jederzeit kündbar“.'),
  ],
  nl: [
    p('gratis', 'free', 1.5, 'Zeg wat inbegrepen is, bijv. "zonder extra kosten".'),
    p('klik hier', 'click', 1.5, 'Noem waar de link heen gaat, bijv. "Bekijk uw afschrift".'),
    p('nu actie', 'urgency', 2, 'Noem de werkelijke datum.'),
    p('alleen vandaag', 'urgency', 1.5, 'Noem de werkelijke einddatum.'),
    p('dringend', 'urgency', 1.5, 'Beschrijf wat er gebeurde; de feiten tonen de urgentie.'),
    p('winnen', 'prize', 2, 'Beschrijf het werkelijke voordeel.'),
    p('gegarandeerd', 'money', 1.5, 'Beschrijf de werkelijke voorwaarden.'),
    p('snel geld', 'money', 2.5, 'Beschrijf het product en de voorwaarden.'),
    p('zonder risico', 'money', 2, 'Beschrijf de voorwaarden, bijv. "altijd opzegbaar".'),
  ],
};

/** Hosts whose links hide the destination; filters distrust them. */
export const urlShorteners = [
  'bit.ly',
  'tinyurl.com',
  't.co',
  'goo.gl',
  'ow.ly',
  'is.gd',
  'buff.ly',
  'rebrand.ly',
  'cutt.ly',
  'shorturl.at',
  'tiny.cc',
  'rb.gy',
];

/** Capitalised words that are normal in bank mail and never count as shouting. */
export const allowedCaps = new Set(['IBAN', 'SEPA', 'BIC', 'SWIFT', 'EUR', 'USD', 'GBP', 'CHF', 'ATM', 'PIN', 'CVV', 'FAQ', 'HTML', 'HTTPS', 'URL']);
