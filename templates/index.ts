export { locales, resolveLocale, type Locale } from './locale.js';
export { TemplateError, type TemplateErrorCode } from './errors.js';
export { builtinLayout } from './builtin-layout.js';
export { renderVersionEmail, renderVersionPush, type VersionContext } from './version-render.js';
export type { TemplateVersion, VersionContent, LayoutContent, VariableSpec } from './version-types.js';
export { renderDigestEmail, renderDigestPush, type DigestList } from './digest-render.js';
