import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { layoutVersions } from '../../db/schema.js';
import { compileWithPlaceholders } from '../../templates/compile.js';
import { compileBusy, TemplateError } from '../../templates/errors.js';
import type { MjmlProblem } from '../../templates/mjml.js';
import { assembleEmail } from '../../templates/version-render.js';
import type { LayoutContent } from '../../templates/version-types.js';
import { appendAudit } from '../audit/append.js';
import { conflict, invalid, notFound } from './errors.js';

/** The slots a layout may use (the API document states them too). */
export const LAYOUT_SLOTS = new Set([
  'content',
  'links',
  'lang',
  'subject',
  'preheader',
  'legal',
  'footer',
  'primaryColor',
  'backgroundColor',
  'logo',
]);

/** Problems of a layout: one content slot in each part, known slots only, strict MJML (line and tag). */
async function layoutProblems(layout: LayoutContent): Promise<{ path: string; message: string; line?: number; tag?: string }[]> {
  const out: { path: string; message: string; line?: number; tag?: string }[] = [];
  for (const part of ['mjml', 'text'] as const) {
    const slots = [...layout[part].matchAll(/\{\{> ([A-Za-z]+)\}\}/g)].map((m) => m[1]!);
    const contents = slots.filter((s) => s === 'content').length;
    if (contents !== 1) out.push({ path: `body.${part}`, message: `needs exactly one {{> content}} slot (found ${contents})` });
    for (const s of slots.filter((x) => !LAYOUT_SLOTS.has(x)))
      out.push({ path: `body.${part}`, message: `unknown slot {{> ${s}}} (known: ${[...LAYOUT_SLOTS].join(', ')})` });
  }
  if (out.length) return out;
  // Rendered once around a one-line sample, so MJML line numbers are the layout's own.
  const sample = {
    tenantId: '-',
    type: 'layout-check',
    version: -1,
    variables: {},
    defaultLocale: 'en',
    layout: { version: 0, content: layout },
    content: { email: { en: { subject: 'Sample', mjml: '<mj-text>Sample</mj-text>', text: 'Sample' } } },
  };
  try {
    await compileWithPlaceholders(assembleEmail(sample, 'en', { unsubscribe: true, preferences: true }).mjml, 'layout');
  } catch (err) {
    if (!(err instanceof TemplateError) || compileBusy(err)) throw err;
    const errors = (err.details as { errors?: MjmlProblem[] } | undefined)?.errors;
    if (errors?.length)
      for (const e of errors) out.push({ path: 'body.mjml', line: e.line, tag: e.tagName, message: `line ${e.line} <${e.tagName}>: ${e.message}` });
    else out.push({ path: 'body.mjml', message: err.message });
  }
  return out;
}

/** Stores a new immutable layout version; with `publish`, new template versions pin it from now on. */
export async function createLayout(
  db: Db,
  tenantId: string,
  layout: LayoutContent,
  publish: boolean,
): Promise<{ version: number; publishedAt: string | null }> {
  const problems = await layoutProblems(layout);
  if (problems.length) throw invalid(`The layout was not created: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  const publishedAt = publish ? new Date() : null;
  try {
    const [row] = await db
      .insert(layoutVersions)
      .values({
        tenantId,
        version: sql`(select coalesce(max(version), 0) + 1 from layout_versions where tenant_id = ${tenantId})`,
        content: layout,
        publishedAt,
      })
      .returning({ version: layoutVersions.version });
    if (publish) await appendAudit(db, { tenantId, step: 'layout.published', detail: { version: row!.version } });
    return { version: row!.version, publishedAt: publishedAt?.toISOString() ?? null };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('Another layout version was created at the same moment; post again');
    throw err;
  }
}

export async function publishLayout(db: Db, tenantId: string, version: number): Promise<{ version: number; publishedAt: string }> {
  const publishedAt = new Date();
  const rows = await db
    .update(layoutVersions)
    .set({ publishedAt })
    .where(and(eq(layoutVersions.tenantId, tenantId), eq(layoutVersions.version, version)))
    .returning({ version: layoutVersions.version });
  if (!rows.length) throw notFound(`Layout version ${version} does not exist`);
  await appendAudit(db, { tenantId, step: 'layout.published', detail: { version } });
  return { version, publishedAt: publishedAt.toISOString() };
}

export async function listLayouts(db: Db, tenantId: string) {
  const rows = await db.select().from(layoutVersions).where(eq(layoutVersions.tenantId, tenantId)).orderBy(desc(layoutVersions.version));
  return rows.map((r) => ({
    version: r.version,
    createdAt: r.createdAt.toISOString(),
    publishedAt: r.publishedAt?.toISOString() ?? null,
    content: r.content,
  }));
}
