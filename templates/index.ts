export { locales, resolveLocale, type Locale } from './locale.js';
export { templateCatalogue } from './catalogue.js';
export { TemplateError, type TemplateErrorCode } from './errors.js';
export type { RenderContext } from './variables.js';
export { renderEmail, renderEmailUncompiled, type RenderedEmail } from './render-email.js';
export { renderPush, type RenderedPush } from './render-push.js';
export { precompileTemplates } from './compile.js';
