import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

// The shell every server-rendered page shares: no script, one small stylesheet inline, readable
// without CSS, focus always visible.

const style = `
:root{--brand:#1f4f8a;--ink:#1b1f24;--muted:#555d66;--line:#d0d5db;--bad:#a4141b;--ok:#1d6b34}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--ink);background:#f6f7f9}
header{background:var(--brand);color:#fff;padding:.8rem 1.2rem}header a{color:#fff}
main{max-width:52rem;margin:1.5rem auto;padding:0 1rem}
fieldset{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0 0 1rem;padding:1rem 1.2rem}
legend{font-weight:600;padding:0 .3rem}.hint{color:var(--muted);margin:.2rem 0 .6rem}
.toggle{display:flex;align-items:center;gap:.6rem;margin:.4rem 0}
.toggle input{appearance:none;width:2.6rem;height:1.5rem;border-radius:1rem;background:#9aa3ad;position:relative;cursor:pointer;margin:0;flex:none}
.toggle input::after{content:"";position:absolute;top:.2rem;left:.2rem;width:1.1rem;height:1.1rem;border-radius:50%;background:#fff;transition:left .1s}
.toggle input:checked{background:var(--brand)}.toggle input:checked::after{left:1.3rem}
.toggle input:disabled{opacity:.6;cursor:not-allowed}
input:focus-visible,button:focus-visible,a:focus-visible,select:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.locked{color:var(--muted)}.consent{border-top:1px solid var(--line);margin-top:.8rem;padding-top:.6rem}
.consent label{display:flex;gap:.6rem;align-items:flex-start}
button{font:inherit;background:var(--brand);color:#fff;border:0;border-radius:6px;padding:.6rem 1.2rem;cursor:pointer}
button.secondary{background:#fff;color:var(--brand);border:1px solid var(--brand)}
.status{background:#e5f4ea;color:var(--ok);padding:.6rem 1rem;border-radius:6px}
.alert{background:#fbe9ea;color:var(--bad);padding:.6rem 1rem;border-radius:6px}
table{border-collapse:collapse;width:100%;background:#fff;margin:0 0 1rem}th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4}section{margin:0 0 2rem}input[type=text],input[type=password],input[type=search]{font:inherit;padding:.4rem;border:1px solid var(--line);border-radius:4px}
form.inline{display:inline}nav a{margin-right:1rem}
`;

export function page(o: {
  lang: string;
  title: string;
  brand: string;
  body: HtmlEscapedString | Promise<HtmlEscapedString>;
  header?: HtmlEscapedString | Promise<HtmlEscapedString>;
}) {
  return html`<!doctype html>
    <html lang="${o.lang}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex" />
        <title>${o.title} · ${o.brand}</title>
        <style>
          ${raw(style)}
        </style>
      </head>
      <body>
        <header><strong>${o.brand}</strong>${o.header ?? ''}</header>
        <main id="main">${o.body}</main>
      </body>
    </html>`;
}

/** Headers for every page: nothing framed, no script, no referrer leaking the signed link. */
export const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};
