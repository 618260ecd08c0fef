export { locales, resolveLocale, type Locale } from './locale.js';
export { templateCatalogue } from './catalogue.js';
export { TemplateError, type TemplateErrorCode } from './errors.js';
export type { RenderContext } from './variables.js';
export { renderEmail, renderEmailUncompiled, type RenderedEmail } from './render-email.js';
export { renderPush, type RenderedPush } from './render-push.js';
export { precompileTemplates } from './warm.js';
export { renderVersionEmail, renderVersionPush, type VersionContext } from './version-render.js';
export type { TemplateVersion, VersionContent, LayoutContent, VariableSpec } from './version-types.js';
