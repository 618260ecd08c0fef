import { digestVersion } from '../../templates/digest-render.js';
import { and, desc, eq, isNotNull, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/append.js';
import type { Db } from '../../db/client.js';
import { categories, layoutVersions, notificationTypes, templateVersions, tenants } from '../../db/schema.js';
import type { SpamReport } from '../../templates/spam/check.js';
import { checkVersion } from '../../templates/version-check.js';
import type { TemplateVersion, VersionContent } from '../../templates/version-types.js';
import { usableChannels } from './categories.js';
import { conflict, fromVersionProblems, invalid, notFound } from './errors.js';

export interface SpamSettings {
  spamd?: { host: string; port: number };
}

export interface CreatedVersion {
  version: number;
  status: 'draft';
  layoutVersion: number | null;
  checks: { generatedText: string[]; spam: SpamReport };
  spam: SpamReport;
}

/**
 * Checks and stores a new immutable version of a type (not yet sending). The type's variables
 * and the layout (the given one, else the newest published) are pinned into it. Every problem
 * is reported at once and nothing is written when there is one.
 */
export async function createVersion(
  db: Db,
  tenantId: string,
  type: string,
  body: VersionContent & { layout?: number },
  settings: SpamSettings = {},
): Promise<CreatedVersion> {
  const [facts] = await db
    .select({
      variables: notificationTypes.variables,
      defaultChannels: categories.defaultChannels,
      allowFallback: categories.allowFallback,
      mandatory: categories.mandatory,
      defaultLocale: tenants.defaultLocale,
    })
    .from(notificationTypes)
    .innerJoin(tenants, eq(tenants.id, notificationTypes.tenantId))
    .innerJoin(categories, and(eq(categories.tenantId, notificationTypes.tenantId), eq(categories.key, notificationTypes.categoryKey)))
    .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)));
  if (!facts) throw notFound(`Notification type '${type}' does not exist`);
  const layout = await pinnedLayout(db, tenantId, body.layout);
  const { layout: _, ...content } = body;
  const checks = await checkVersion(
    { tenantId, type, version: 0, variables: facts.variables, layout, defaultLocale: facts.defaultLocale, content },
    usableChannels(facts),
    settings,
  );
  if (checks.problems.length) throw fromVersionProblems(checks.problems);
  if (content.digest?.email || content.digest?.push) {
    // The digest's own message, checked like any content against the digest variables.
    const digest = await checkVersion(
      digestVersion({ tenantId, type, version: 0, variables: facts.variables, layout, defaultLocale: facts.defaultLocale, content }),
      usableChannels(facts),
      settings,
    );
    if (digest.problems.length) throw fromVersionProblems(digest.problems.map((p) => ({ ...p, where: `digest.${p.where}` })));
  }
  const stored = { generatedText: checks.generatedText, spam: checks.spam! };
  try {
    const [row] = await db
      .insert(templateVersions)
      .values({
        tenantId,
        typeKey: type,
        version: sql`(select coalesce(max(version), 0) + 1 from template_versions where tenant_id = ${tenantId} and type_key = ${type})`,
        content: checks.content,
        variables: facts.variables,
        layoutVersion: layout?.version ?? null,
        checks: stored,
      })
      .returning({ version: templateVersions.version });
    return { version: row!.version, status: 'draft', layoutVersion: layout?.version ?? null, checks: stored, spam: stored.spam };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('Another version of this type was created at the same moment; post again');
    throw err;
  }
}

async function pinnedLayout(db: Db, tenantId: string, wanted: number | undefined): Promise<TemplateVersion['layout']> {
  const where =
    wanted === undefined
      ? and(eq(layoutVersions.tenantId, tenantId), isNotNull(layoutVersions.publishedAt))
      : and(eq(layoutVersions.tenantId, tenantId), eq(layoutVersions.version, wanted));
  const [row] = await db.select().from(layoutVersions).where(where).orderBy(desc(layoutVersions.publishedAt)).limit(1);
  if (!row && wanted !== undefined)
    throw invalid(`Layout version ${wanted} does not exist`, [{ path: 'body.layout', message: 'unknown layout version' }]);
  return row ? { version: row.version, content: row.content } : null;
}

export interface VersionListItem {
  version: number;
  status: 'published' | 'draft' | 'retired';
  createdAt: string;
  publishedAt: string | null;
  forced: boolean;
  layoutVersion: number | null;
  spam: { score: number; verdict: string } | null;
}

export async function listVersions(db: Db, tenantId: string, type: string): Promise<VersionListItem[]> {
  const [t] = await db
    .select({ published: notificationTypes.publishedVersion })
    .from(notificationTypes)
    .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)));
  if (!t) throw notFound(`Notification type '${type}' does not exist`);
  const rows = await db
    .select()
    .from(templateVersions)
    .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.typeKey, type)))
    .orderBy(desc(templateVersions.version));
  return rows.map((r) => {
    const spam = (r.checks as { spam?: SpamReport }).spam;
    return {
      version: r.version,
      status: r.version === t.published ? 'published' : r.publishedAt ? 'retired' : 'draft',
      createdAt: r.createdAt.toISOString(),
      publishedAt: r.publishedAt?.toISOString() ?? null,
      forced: r.forced,
      layoutVersion: r.layoutVersion,
      spam: spam ? { score: spam.score, verdict: spam.verdict } : null,
    };
  });
}

/**
 * A version the spam check called likely-spam goes out (published, or sent as a test) only with
 * `force`, which the caller records; without it, 409. True when the verdict was likely-spam.
 */
export function spamGate(spam: SpamReport | undefined, what: string, verb: string, force: boolean): boolean {
  const likelySpam = spam?.verdict === 'likely-spam';
  if (likelySpam && !force) {
    throw conflict(
      `${what} scored ${spam!.score} (likely spam: ${spam!.findings
        .slice(0, 3)
        .map((f) => `"${f.text}"`)
        .join(', ')}); change the wording, or ${verb} with {"force": true}`,
    );
  }
  return likelySpam;
}

/**
 * Makes version `n` the one that sends (an older `n` is the rollback). A version the spam check
 * called likely-spam needs `force`, which is recorded on the version and in the audit trail.
 * Notifications already accepted keep the version they were accepted with.
 */
export async function publishVersion(
  db: Db,
  tenantId: string,
  type: string,
  n: number,
  force = false,
): Promise<{ version: number; previous: number | null; publishedAt: string; forced: boolean }> {
  return db.transaction(async (tx) => {
    const [t] = await tx
      .select({ published: notificationTypes.publishedVersion })
      .from(notificationTypes)
      .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)))
      .for('update');
    if (!t) throw notFound(`Notification type '${type}' does not exist`);
    const [v] = await tx
      .select({ checks: templateVersions.checks })
      .from(templateVersions)
      .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.typeKey, type), eq(templateVersions.version, n)));
    if (!v) throw notFound(`Version ${n} of '${type}' does not exist`);
    const spam = (v.checks as { spam?: SpamReport }).spam;
    const likelySpam = spamGate(spam, `Version ${n}`, 'publish', force);
    const publishedAt = new Date();
    await tx
      .update(templateVersions)
      .set({ publishedAt, ...(likelySpam ? { forced: true } : {}) })
      .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.typeKey, type), eq(templateVersions.version, n)));
    await tx
      .update(notificationTypes)
      .set({ publishedVersion: n, updatedAt: publishedAt })
      .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)));
    await appendAudit(tx, {
      tenantId,
      step: 'template.published',
      detail: { type, version: n, previous: t.published, forced: likelySpam && force, spamScore: spam?.score ?? null },
    });
    return { version: n, previous: t.published, publishedAt: publishedAt.toISOString(), forced: likelySpam && force };
  });
}

// Versions never change: one read per (tenant, type, version) per process, the oldest dropped first.
const loaded = new Map<string, Promise<TemplateVersion | undefined>>();
const MAX_LOADED = 5000;

/** A version with its pinned layout and the tenant's default locale; `n` null: the published one. */
export async function loadVersion(db: Db, tenantId: string, type: string, n: number | null): Promise<TemplateVersion | undefined> {
  if (n === null) {
    const [t] = await db
      .select({ published: notificationTypes.publishedVersion })
      .from(notificationTypes)
      .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)));
    if (!t?.published) return undefined;
    n = t.published;
  }
  const key = `${tenantId}|${type}|${n}`;
  let entry = loaded.get(key);
  if (!entry) {
    entry = readVersion(db, tenantId, type, n);
    if (loaded.size >= MAX_LOADED) loaded.delete(loaded.keys().next().value as string);
    loaded.set(key, entry);
    void entry.then(
      (v) => v ?? loaded.delete(key),
      () => loaded.delete(key),
    );
  }
  return entry;
}

async function readVersion(db: Db, tenantId: string, type: string, n: number): Promise<TemplateVersion | undefined> {
  const [row] = await db
    .select({ v: templateVersions, layout: layoutVersions.content, defaultLocale: tenants.defaultLocale })
    .from(templateVersions)
    .innerJoin(tenants, eq(tenants.id, templateVersions.tenantId))
    .leftJoin(layoutVersions, and(eq(layoutVersions.tenantId, templateVersions.tenantId), eq(layoutVersions.version, templateVersions.layoutVersion)))
    .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.typeKey, type), eq(templateVersions.version, n)));
  if (!row) return undefined;
  return {
    tenantId,
    type,
    version: n,
    content: row.v.content,
    variables: row.v.variables,
    layout: row.layout && row.v.layoutVersion !== null ? { version: row.v.layoutVersion, content: row.layout } : null,
    defaultLocale: row.defaultLocale,
  };
}

/** One version's stored content, for export (npm run templates -- pull) and review. */
export async function getVersion(db: Db, tenantId: string, type: string, n: number) {
  const [row] = await db
    .select()
    .from(templateVersions)
    .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.typeKey, type), eq(templateVersions.version, n)));
  if (!row) throw notFound(`Version ${n} of '${type}' does not exist`);
  return {
    version: row.version,
    content: row.content,
    variables: row.variables,
    layoutVersion: row.layoutVersion,
    createdAt: row.createdAt.toISOString(),
    publishedAt: row.publishedAt?.toISOString() ?? null,
  };
}
