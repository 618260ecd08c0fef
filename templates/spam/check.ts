import { decodeEntities, textFromHtml } from '../text-from-html.js';
import { allowedCaps, phrases, urlShorteners, type Phrase } from './phrases.js';

export interface SpamFinding {
  rule: string;
  text: string;
  /** subject, html or text, with the locale: "fr subject". */
  where: string;
  advice: string;
  score: number;
}

export interface SpamReport {
  score: number;
  verdict: 'ok' | 'review' | 'likely-spam';
  findings: SpamFinding[];
  /** SpamAssassin's own verdict when SPAMD_HOST is set. */
  spamassassin?: { score: number; threshold: number; rules: string[] };
}

export interface SpamInput {
  locale: string;
  subject: string;
  html: string;
  text: string;
}

/** Below REVIEW the message is fine; from LIKELY it is refused at publish time unless forced. */
export const REVIEW = 3;
export const LIKELY = 6;

export function verdictFor(score: number): SpamReport['verdict'] {
  return score >= LIKELY ? 'likely-spam' : score >= REVIEW ? 'review' : 'ok';
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const phraseRe = new Map<Phrase, RegExp>();
const reFor = (ph: Phrase) => {
  let re = phraseRe.get(ph);
  if (!re) phraseRe.set(ph, (re = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(ph.text)}(?![\\p{L}\\p{N}])`, 'iu')));
  return re;
};

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return undefined;
  }
}

/** The built-in checker: phrase lists (all four languages), shouting, and structural rules on the HTML. */
export function checkSpam(parts: readonly SpamInput[]): SpamReport {
  const findings: SpamFinding[] = [];
  const seen = new Set<string>();
  const add = (f: SpamFinding) => {
    // The same words in the HTML and in the text part are one finding, not two.
    const key = `${f.rule}|${f.text.toLowerCase()}|${f.where.replace(/ (body|text)$/, '')}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(f);
  };
  for (const part of parts) {
    const visible = textFromHtml(part.html);
    const places: [string, string][] = [
      [`${part.locale} subject`, part.subject],
      [`${part.locale} body`, visible],
      [`${part.locale} text`, part.text],
    ];
    for (const [where, text] of places) {
      for (const list of Object.values(phrases)) {
        for (const ph of list) {
          const m = reFor(ph).exec(text);
          if (m) add({ rule: `phrase.${ph.kind}`, text: m[0], where, advice: ph.advice, score: ph.weight });
        }
      }
      for (const m of text.matchAll(/!{2,}/g))
        add({ rule: 'exclamation-run', text: m[0], where, advice: 'Use one full stop or one "!" at most.', score: 1.5 });
      for (const m of text.matchAll(/(?<![\p{L}\p{N}])\p{Lu}{4,}(?![\p{L}\p{N}])/gu)) {
        if (!allowedCaps.has(m[0]))
          add({
            rule: 'all-caps',
            text: m[0],
            where,
            advice: `Write "${m[0][0]}${m[0].slice(1).toLowerCase()}" in normal case; capitals read as shouting.`,
            score: 1,
          });
      }
    }
    structural(part, visible, add);
  }
  findings.sort((a, b) => b.score - a.score);
  const score = Math.round(findings.reduce((sum, f) => sum + f.score, 0) * 10) / 10;
  return { score, verdict: verdictFor(score), findings };
}

function structural(part: SpamInput, visible: string, add: (f: SpamFinding) => void): void {
  const where = `${part.locale} html`;
  if (!part.text.trim())
    add({
      rule: 'no-text-part',
      text: '',
      where: `${part.locale} text`,
      advice: 'Add a plain-text part (or leave it out of the version and it is generated).',
      score: 2,
    });
  const images = part.html.match(/<img\b/gi)?.length ?? 0;
  if (images > 0 && visible.replace(/\s+/g, '').length < 60) {
    add({
      rule: 'image-only',
      text: `${images} image(s), little text`,
      where,
      advice: 'Put the message in text; images alone look like spam and are blocked by default.',
      score: 3,
    });
  }
  for (const m of part.html.matchAll(/<a\b[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi)) {
    const href = decodeEntities(m[1]!);
    const label = decodeEntities(m[2]!.replace(/<[^>]+>/g, '')).trim();
    const host = hostOf(href);
    if (host && urlShorteners.includes(host))
      add({ rule: 'url-shortener', text: href, where, advice: 'Link to your own domain; shortened links hide the destination.', score: 2.5 });
    const shown = /^(https?:\/\/)?([a-z0-9-]+\.)+[a-z]{2,}(\/\S*)?$/i.test(label)
      ? hostOf(/^https?:/i.test(label) ? label : `https://${label}`)
      : undefined;
    if (shown && host && shown !== host && !href.includes('{{')) {
      add({
        rule: 'link-domain-mismatch',
        text: label,
        where,
        advice: `The link shows ${shown} but goes to ${host}: show the real address or a plain label.`,
        score: 3,
      });
    }
  }
  for (const m of part.html.matchAll(/style="([^"]*)"/gi)) {
    const style = m[1]!.toLowerCase();
    const color = /(?:^|;)\s*color\s*:\s*([^;]+)/.exec(style)?.[1]?.trim();
    const background = /background(?:-color)?\s*:\s*([^;]+)/.exec(style)?.[1]?.trim();
    if (color && background && color === background) {
      add({
        rule: 'hidden-text',
        text: `color ${color} on ${background}`,
        where,
        advice: 'Text in the colour of its background is hidden text; filters treat it as a trick. Remove it or give it contrast.',
        score: 3,
      });
    }
  }
}
