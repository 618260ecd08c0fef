import { getTypeSpec, typeNames } from './catalogue.js';
import { locales } from './locale.js';
import { expand, readMessages, readTemplateFile } from './sources.js';
import { escapeHtml } from './substitute.js';
import type { LayoutContent, VariableSpec, VersionContent } from './version-types.js';

/**
 * The repository's templates as tenant data: what every new tenant starts with (version 1 of each
 * demo type, and layout version 1), and may change. Built from the same files as before, so the
 * demo's wording is unchanged.
 */

const noBlocks = { unsubscribe: false };
const plain = (s: string) => s;

let layout: LayoutContent | undefined;

/** The built-in brand layout: the repository's header and footer, default colours, no logo. */
export function defaultLayout(): LayoutContent {
  layout ??= {
    mjml: readTemplateFile('layout/tenant.mjml'),
    text: readTemplateFile('layout/tenant.txt'),
    logoUrl: null,
    colors: { primary: '#0b3d91', background: '#f3f4f6' },
    legal: Object.fromEntries(locales.map((l) => [l, readMessages('layout', l).securityNotice!])),
    footer: Object.fromEntries(locales.map((l) => [l, readMessages('layout', l).footerNotice!])),
  };
  return layout;
}

/** The declared variables of a built-in type. */
export function defaultVariables(type: string): Record<string, VariableSpec> {
  const spec = getTypeSpec(type);
  return Object.fromEntries(
    spec.fields.map((f) => {
      const kind: VariableSpec['type'] = spec.money?.includes(f) ? 'money' : spec.timestamps?.includes(f) ? 'datetime' : 'string';
      return [f, { type: kind, required: true, ...(spec.multiline?.includes(f) ? { multiline: true } : {}) }];
    }),
  );
}

/** Version 1 of a built-in type: its e-mail and push text in every locale of the repository. */
export function defaultContent(type: string): VersionContent {
  const email: NonNullable<VersionContent['email']> = {};
  const push: NonNullable<VersionContent['push']> = {};
  const layoutKeys = new Set(Object.keys(readMessages('layout', 'en')));
  for (const locale of locales) {
    const own = readMessages(type, locale);
    const messages = { ...readMessages('layout', locale), ...own, lang: locale };
    const where = `${type}/${locale}`;
    email[locale] = {
      subject: own.subject!,
      preheader: own.preheader,
      mjml: expand(readTemplateFile(`${type}/email.mjml`), messages, noBlocks, escapeHtml, where).trim(),
      text: expand(readTemplateFile(`${type}/email.txt`), messages, noBlocks, plain, where).trim(),
      // A type that rewords a layout line (the newsletter's footer) keeps it.
      ...(layoutKeys.has('footerNotice') && own.footerNotice ? { footer: own.footerNotice } : {}),
    };
    push[locale] = { title: own.pushTitle!, body: own.pushBody! };
  }
  return { email, push };
}

export const defaultTypes = typeNames;
export { getTypeSpec as defaultTypeSpec };
