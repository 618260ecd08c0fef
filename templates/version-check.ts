import { compileWithPlaceholders } from './compile.js';
import { compileBusy, TemplateError } from './errors.js';
import type { MjmlProblem } from './mjml.js';
import { canonicalTag, isKnownLocale } from './locale.js';
import { checkSpam, verdictFor, type SpamReport } from './spam/check.js';
import { messageForSpamd, spamdCheck } from './spam/spamd.js';
import { placeholderNames } from './substitute.js';
import { textFromHtml } from './text-from-html.js';
import { engineVariables, renderVersionEmail } from './version-render.js';
import type { TemplateVersion, VariableSpec, VersionContent } from './version-types.js';

/** One thing wrong with a posted version, and where: `email.fr.mjml`, line and tag for MJML. */
export interface VersionProblem {
  where: string;
  message: string;
  line?: number;
  tag?: string;
}

export interface VersionChecks {
  problems: VersionProblem[];
  /** The content as stored: text parts generated from the HTML where none was given. */
  content: VersionContent;
  generatedText: string[];
  spam?: SpamReport;
}

export type { Channel } from '../lib/notification-vocabulary.js';
import type { Channel } from '../lib/notification-vocabulary.js';

// Content sits inside the layout's column, so it is validated inside one; line 1 is the wrapper.
const WRAP_OPEN = '<mjml><mj-body><mj-section><mj-column>\n';
const WRAP_CLOSE = '\n</mj-column></mj-section></mj-body></mjml>';

/** Values that look like real data, for rendering every locale once before a version is accepted. */
export function sampleData(variables: Record<string, VariableSpec>): Record<string, unknown> {
  const sample: Record<string, unknown> = { currency: 'EUR' };
  for (const [name, spec] of Object.entries(variables)) {
    sample[name] =
      spec.type === 'money'
        ? 42.5
        : spec.type === 'number'
          ? 3
          : spec.type === 'datetime'
            ? '2025-03-14T09:30:00Z'
            : spec.type === 'url'
              ? 'https://example.com/'
              : name === 'currency'
                ? 'EUR'
                : `Sample ${name}`;
  }
  return sample;
}

function placeholderProblems(source: string | undefined, allowed: ReadonlySet<string>, where: string): VersionProblem[] {
  if (source === undefined) return [];
  const out: VersionProblem[] = placeholderNames(source)
    .filter((n) => !allowed.has(n))
    .map((n) => ({ where, message: `{{${n}}} is not a variable of this type (declare it with PUT /v1/notification-types/{type}, or remove it)` }));
  const stray = source.replace(/\{\{[A-Za-z_][A-Za-z0-9_]*\}\}/g, '').match(/\{\{[^}]*\}?\}?|\}\}/);
  if (stray) out.push({ where, message: `malformed placeholder "${stray[0]}" (variables are written {{name}})` });
  return out;
}

/**
 * Every check a version must pass before it is stored, all reported at once: locale tags, a
 * channel missing in a locale while the category can use it, undeclared variables, MJML strict
 * validation with line and tag, then a render of every locale with sample data and the spam check.
 */
export async function checkVersion(
  draft: Omit<TemplateVersion, 'content'> & { content: VersionContent },
  usableChannels: readonly Channel[],
  opts: { spamd?: { host: string; port: number } } = {},
): Promise<VersionChecks> {
  const problems: VersionProblem[] = [];
  const content: VersionContent = structuredClone(draft.content);
  const allowed = new Set<string>([...Object.keys(draft.variables), ...engineVariables]);
  const generatedText: string[] = [];

  const email = content.email ?? {};
  const push = content.push ?? {};
  for (const [channel, map] of [
    ['email', email],
    ['push', push],
  ] as const) {
    for (const tag of Object.keys(map)) {
      if (canonicalTag(tag) !== tag || !isKnownLocale(tag))
        problems.push({
          where: `${channel}.${tag}`,
          message: `"${tag}" is not a BCP 47 language tag in canonical form${canonicalTag(tag) ? ` (write "${canonicalTag(tag)}")` : ''}`,
        });
    }
  }
  const locales = [...new Set([...Object.keys(email), ...Object.keys(push)])];
  if (locales.length === 0) problems.push({ where: 'content', message: 'the version has no content: give email and/or push per locale' });
  for (const locale of locales) {
    for (const channel of usableChannels) {
      if (!(channel === 'email' ? email : push)[locale]) {
        problems.push({
          where: `${channel}.${locale}`,
          message: `locale ${locale} has no ${channel} content, and the type's category can use ${channel}`,
        });
      }
    }
  }

  for (const [locale, part] of Object.entries(push)) {
    problems.push(
      ...placeholderProblems(part.title, allowed, `push.${locale}.title`),
      ...placeholderProblems(part.body, allowed, `push.${locale}.body`),
    );
  }
  for (const [locale, part] of Object.entries(email)) {
    for (const field of ['subject', 'preheader', 'footer', 'text', 'mjml'] as const) {
      problems.push(...placeholderProblems(part[field], allowed, `email.${locale}.${field}`));
    }
    // What MJML editors export is a whole document; ours goes inside the tenant's layout, whose
    // column it would otherwise break into (mjml drops what it cannot nest, placeholders with it).
    const outer = /<(mjml|mj-head|mj-body|mj-section|mj-wrapper|mj-column)[\s>/]/i.exec(part.mjml ?? '');
    if (outer) {
      problems.push({
        where: `email.${locale}.mjml`,
        tag: outer[1]!.toLowerCase(),
        message:
          `<${outer[1]!.toLowerCase()}> is not taken here: mjml is only the body that goes inside the layout's column ` +
          '(mj-text, mj-button, mj-image, mj-divider, mj-table...), not a whole <mjml> document or its sections; ' +
          "the tenant's layout (POST /v1/layouts) supplies <mjml>, <mj-head>, <mj-body>, the sections and the column. " +
          "Paste what is inside the editor's <mj-column> instead",
      });
      continue;
    }
    try {
      const html = await compileWithPlaceholders(`${WRAP_OPEN}${part.mjml}${WRAP_CLOSE}`, `email.${locale}.mjml`);
      if (!part.text?.trim()) {
        part.text = textFromHtml(html);
        generatedText.push(locale);
      }
    } catch (err) {
      if (!(err instanceof TemplateError) || compileBusy(err)) throw err;
      const errors = (err.details as { errors?: MjmlProblem[] } | undefined)?.errors;
      if (errors?.length) {
        for (const e of errors)
          problems.push({
            where: `email.${locale}.mjml`,
            line: Math.max(1, e.line - 1),
            tag: e.tagName,
            message: `line ${Math.max(1, e.line - 1)} <${e.tagName}>: ${e.message}`,
          });
      } else {
        problems.push({ where: `email.${locale}.mjml`, message: err.message.replace(/^[^:]*: /, '') });
      }
    }
  }
  if (problems.length) return { problems, content, generatedText };

  // Every locale rendered in its layout with sample data: what the spam check reads.
  const version: TemplateVersion = { ...draft, content, version: -Date.now() };
  const data = sampleData(draft.variables);
  const parts = [];
  for (const locale of Object.keys(email)) {
    try {
      const r = await renderVersionEmail(version, locale, data, { tenantName: 'Sample Bank', unsubscribeUrl: 'https://example.com/unsubscribe' });
      parts.push({ locale, subject: r.subject, html: r.html, text: r.text });
    } catch (err) {
      if (!(err instanceof TemplateError) || compileBusy(err)) throw err;
      problems.push({ where: `email.${locale}`, message: `does not render in the layout: ${err.message}` });
    }
  }
  for (const [locale, part] of Object.entries(push)) parts.push({ locale: `${locale} push`, subject: part.title, html: '', text: part.body });
  const spam = await withSpamd(checkSpam(parts), parts[0], opts.spamd);
  return { problems, content, generatedText, spam };
}

/** Adds SpamAssassin's own score when a spamd is configured; its absence or failure never blocks. */
export async function withSpamd(
  report: SpamReport,
  part: { subject: string; html: string; text: string } | undefined,
  spamd?: { host: string; port: number },
): Promise<SpamReport> {
  if (!spamd || !part) return report;
  try {
    const sa = await spamdCheck(spamd.host, spamd.port, messageForSpamd(part.subject, part.html, part.text));
    // SpamAssassin's verdict counts: a message it calls spam is likely spam here too.
    const verdict = sa.score >= sa.threshold ? 'likely-spam' : report.verdict === 'ok' && sa.score >= sa.threshold / 2 ? 'review' : report.verdict;
    return { ...report, verdict: verdictFor(report.score) === verdict ? report.verdict : verdict, spamassassin: sa };
  } catch (err) {
    return {
      ...report,
      findings: [
        ...report.findings,
        {
          rule: 'spamassassin-unavailable',
          text: err instanceof Error ? err.message : String(err),
          where: 'spamd',
          advice: 'Check SPAMD_HOST; the built-in check still applies.',
          score: 0,
        },
      ],
    };
  }
}
