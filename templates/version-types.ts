/** Template content as tenants store it (db/schema-templates.ts keeps it as jsonb). */

/** One locale's e-mail: subject, MJML body (slotted into the layout), text part (generated when absent). */
export interface EmailContent {
  subject: string;
  mjml: string;
  text?: string;
  preheader?: string;
  /** Replaces the layout's footer line for this type (a newsletter says why it is sent). */
  footer?: string;
}
export interface PushContent {
  title: string;
  body: string;
}
/**
 * A digest's message, per locale: e-mail and push with the digest variables (itemCount, items,
 * totals, moreCount), and `item`, one line per item in the type's own variables.
 */
export interface DigestContent {
  email?: Record<string, EmailContent>;
  push?: Record<string, PushContent>;
  item?: Record<string, string>;
}
/** What a version holds: per channel, per BCP 47 locale. */
export interface VersionContent {
  email?: Record<string, EmailContent>;
  push?: Record<string, PushContent>;
  /** The digest of this type (templates/digest-render.ts); the engine's default wording when absent. */
  digest?: DigestContent;
}
export type VariableSpec = { type: 'string' | 'number' | 'money' | 'datetime' | 'url'; required: boolean; multiline?: boolean };

/** A tenant's brand: MJML with one `{{> content}}` slot, logo, colours, footer and legal text per locale. */
export interface LayoutContent {
  mjml: string;
  text: string;
  logoUrl?: string | null;
  colors: { primary: string; background: string };
  footer: Record<string, string>;
  legal: Record<string, string>;
}

export type TemplateKind = 'required' | 'service' | 'marketing';

/** Everything rendering one version needs, read once and cached (versions never change). */
export interface TemplateVersion {
  tenantId: string;
  type: string;
  version: number;
  content: VersionContent;
  variables: Record<string, VariableSpec>;
  /** null: the built-in default layout. */
  layout: { version: number; content: LayoutContent } | null;
  defaultLocale: string;
}
