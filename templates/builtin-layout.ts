import { readFileSync } from 'node:fs';
import { locales } from './locale.js';
import type { LayoutContent } from './version-types.js';

// The engine's own brand layout (builtin-layout/: MJML, text and one <locale>.json per language):
// what a version pinned to no layout is rendered in, and what seedTenantDefaults stores as every
// new tenant's layout version 1. Read once, next to this module (the build copies the folder).
const read = (file: string) => readFileSync(new URL(`./builtin-layout/${file}`, import.meta.url), 'utf8');

let layout: LayoutContent | undefined;

/** Header (tenant name or logo), default colours, no logo, and per-locale legal line and footer. */
export function builtinLayout(): LayoutContent {
  if (!layout) {
    const texts = Object.fromEntries(locales.map((l) => [l, JSON.parse(read(`${l}.json`)) as { legal: string; footer: string }]));
    layout = {
      mjml: read('layout.mjml'),
      text: read('layout.txt'),
      logoUrl: null,
      colors: { primary: '#0b3d91', background: '#f3f4f6' },
      legal: Object.fromEntries(locales.map((l) => [l, texts[l]!.legal])),
      footer: Object.fromEntries(locales.map((l) => [l, texts[l]!.footer])),
    };
  }
  return layout;
}
