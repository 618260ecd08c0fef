// npm run templates -- pull <dir> | push <dir> [--publish]: a tenant's templates as files, for teams
// that keep them in git, through the same API (NOTIFLOW_API, NOTIFLOW_API_KEY).
//
// One folder per type:
//   <type>/type.json          { "category", "variables" }
//   <type>/email.<locale>.mjml  the body; `<!-- subject: … -->`, `<!-- preheader: … -->`, `<!-- footer: … -->` on top
//   <type>/email.<locale>.txt   the text part (optional: generated from the HTML when absent)
//   <type>/push.<locale>.json   { "title", "body" }
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const api = (process.env.NOTIFLOW_API ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const key = process.env.NOTIFLOW_API_KEY;
const [command, dir, ...flags] = process.argv.slice(2);

type Email = { subject: string; mjml: string; text?: string; preheader?: string; footer?: string };
type Content = { email?: Record<string, Email>; push?: Record<string, { title: string; body: string }> };

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const HEADER = /^<!-- (subject|preheader|footer): (.*) -->\n/;

async function pull(root: string): Promise<void> {
  const { types } = await call<{ types: { type: string; category: string; variables: unknown; publishedVersion: number | null }[] }>(
    'GET',
    '/v1/notification-types',
  );
  for (const t of types) {
    const folder = join(root, t.type);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'type.json'), `${JSON.stringify({ category: t.category, variables: t.variables }, null, 2)}\n`);
    if (t.publishedVersion === null) continue;
    const { content } = await call<{ content: Content }>('GET', `/v1/notification-types/${t.type}/versions/${t.publishedVersion}`);
    for (const [locale, e] of Object.entries(content.email ?? {})) {
      const header = (['subject', 'preheader', 'footer'] as const)
        .filter((f) => e[f] !== undefined)
        .map((f) => `<!-- ${f}: ${e[f]!.replace(/\n/g, ' ')} -->\n`)
        .join('');
      await writeFile(join(folder, `email.${locale}.mjml`), `${header}${e.mjml}\n`);
      if (e.text !== undefined) await writeFile(join(folder, `email.${locale}.txt`), `${e.text}\n`);
    }
    for (const [locale, p] of Object.entries(content.push ?? {}))
      await writeFile(join(folder, `push.${locale}.json`), `${JSON.stringify(p, null, 2)}\n`);
    console.log(`${t.type}: v${t.publishedVersion}`);
  }
}

async function readContent(folder: string): Promise<Content> {
  const content: Content = {};
  for (const file of (await readdir(folder)).sort()) {
    const m = /^(email|push)\.([A-Za-z0-9-]+)\.(mjml|txt|json)$/.exec(file);
    if (!m) continue;
    const [, channel, locale, ext] = m as unknown as [string, 'email' | 'push', string, string];
    const raw = await readFile(join(folder, file), 'utf8');
    if (channel === 'push') (content.push ??= {})[locale] = JSON.parse(raw) as { title: string; body: string };
    else if (ext === 'txt') ((content.email ??= {})[locale] ??= { subject: '', mjml: '' }).text = raw.replace(/\n$/, '');
    else {
      const email = ((content.email ??= {})[locale] ??= { subject: '', mjml: '' });
      let rest = raw;
      for (let h = HEADER.exec(rest); h; h = HEADER.exec(rest)) {
        email[h[1] as 'subject' | 'preheader' | 'footer'] = h[2]!;
        rest = rest.slice(h[0].length);
      }
      email.mjml = rest.replace(/\n$/, '');
    }
  }
  return content;
}

const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

async function push(root: string, publish: boolean): Promise<void> {
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const type = entry.name;
    const folder = join(root, type);
    const spec = JSON.parse(await readFile(join(folder, 'type.json'), 'utf8')) as unknown;
    const current = await call<{ publishedVersion: number | null }>('PUT', `/v1/notification-types/${type}`, spec);
    const content = await readContent(folder);
    if (current.publishedVersion !== null) {
      const live = await call<{ content: Content }>('GET', `/v1/notification-types/${type}/versions/${current.publishedVersion}`);
      if (canonical(live.content) === canonical(content)) {
        console.log(`${type}: unchanged (v${current.publishedVersion} is live)`);
        continue;
      }
    }
    const created = await call<{ version: number; spam: { score: number; verdict: string } }>(
      'POST',
      `/v1/notification-types/${type}/versions`,
      content,
    );
    console.log(`${type}: v${created.version} created (spam ${created.spam.verdict}, ${created.spam.score})`);
    if (publish) {
      await call('POST', `/v1/notification-types/${type}/versions/${created.version}/publish`, {});
      console.log(`${type}: v${created.version} published`);
    }
  }
}

if (!key || !dir || (command !== 'pull' && command !== 'push')) {
  console.error(
    'usage: NOTIFLOW_API_KEY=... npm run templates -- pull <dir> | push <dir> [--publish]   (NOTIFLOW_API defaults to http://127.0.0.1:3000)',
  );
  process.exit(2);
}
try {
  await (command === 'pull' ? pull(dir) : push(dir, flags.includes('--publish')));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
