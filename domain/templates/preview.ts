import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, notificationTypes, templateVersions, tenants } from '../../db/schema.js';
import { compileBusy, TemplateError } from '../../templates/errors.js';
import { checkSpam, type SpamReport } from '../../templates/spam/check.js';
import { withSpamd } from '../../templates/version-check.js';
import { DEFAULT_LIST } from '../../lib/digest-spec.js';
import { digestData, digestVersion } from '../../templates/digest-render.js';
import { renderVersionEmail, renderVersionPush } from '../../templates/version-render.js';
import { invalid, notFound } from './errors.js';
import { dataProblems } from './types.js';
import { loadVersion, type SpamSettings } from './versions.js';

export interface PreviewRequest {
  version?: number;
  locale: string;
  data: Record<string, unknown>;
  /** Preview the digest of these items instead (each checked like a trigger's data). */
  digestItems?: Record<string, unknown>[];
}

export interface Preview {
  type: string;
  version: number;
  email: { locale: string; subject: string; html: string; text: string } | null;
  push: { locale: string; title: string; body: string } | null;
  spam: SpamReport;
}

// Previews show where the engine puts the link; the real one is signed per recipient at send time.
const PREVIEW_UNSUBSCRIBE = 'https://unsubscribe.example/preview';

/**
 * A version rendered as a user with `locale` would get it, with the given data (checked against the
 * version's variables, as a trigger is), and the spam check of the result. Default version: the
 * published one, else the newest.
 */
export async function previewVersion(db: Db, tenantId: string, type: string, req: PreviewRequest, settings: SpamSettings = {}): Promise<Preview> {
  const [facts] = await db
    .select({
      published: notificationTypes.publishedVersion,
      tenantName: tenants.name,
      mandatory: categories.mandatory,
      requiresOptIn: categories.requiresOptIn,
      digest: notificationTypes.digest,
    })
    .from(notificationTypes)
    .innerJoin(tenants, eq(tenants.id, notificationTypes.tenantId))
    .innerJoin(categories, and(eq(categories.tenantId, notificationTypes.tenantId), eq(categories.key, notificationTypes.categoryKey)))
    .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)));
  if (!facts) throw notFound(`Notification type '${type}' does not exist`);
  let n = req.version ?? facts.published;
  if (n === null) {
    const [newest] = await db
      .select({ version: templateVersions.version })
      .from(templateVersions)
      .where(and(eq(templateVersions.tenantId, tenantId), eq(templateVersions.typeKey, type)))
      .orderBy(desc(templateVersions.version))
      .limit(1);
    if (!newest) throw notFound(`Notification type '${type}' has no version yet (POST /v1/notification-types/${type}/versions)`);
    n = newest.version;
  }
  const version = await loadVersion(db, tenantId, type, n);
  if (!version) throw notFound(`Version ${n} of '${type}' does not exist`);
  const wrong = req.digestItems
    ? req.digestItems.flatMap((d, i) => dataProblems(version.variables, d, `body.digestItems.${i}`))
    : dataProblems(version.variables, req.data);
  if (wrong.length)
    throw invalid(`Invalid data for ${type} v${n}: ${wrong.map((w) => `${w.path.replace('body.data.', '')} ${w.message}`).join('; ')}`, wrong);

  const ctx = { tenantName: facts.tenantName, unsubscribeUrl: facts.mandatory ? undefined : PREVIEW_UNSUBSCRIBE };
  if (req.digestItems) {
    // A digest renders every channel (the engine's wording stands in for missing digest content).
    try {
      const list = facts.digest?.list ?? DEFAULT_LIST;
      const v = digestVersion(version);
      const data = digestData(version, req.locale, req.digestItems, list, ctx);
      const email = await renderVersionEmail(v, req.locale, data, ctx);
      const push = renderVersionPush(v, req.locale, data, ctx);
      const spam = await withSpamd(
        checkSpam([{ locale: email.locale, subject: email.subject, html: email.html, text: email.text }]),
        email,
        settings.spamd,
      );
      return { type, version: n, email, push, spam };
    } catch (err) {
      rethrow(err);
    }
  }
  try {
    const email = Object.keys(version.content.email ?? {}).length ? await renderVersionEmail(version, req.locale, req.data, ctx) : null;
    const push = Object.keys(version.content.push ?? {}).length ? renderVersionPush(version, req.locale, req.data, ctx) : null;
    const parts = [
      ...(email ? [{ locale: email.locale, subject: email.subject, html: email.html, text: email.text }] : []),
      ...(push ? [{ locale: `${push.locale} push`, subject: push.title, html: '', text: push.body }] : []),
    ];
    const spam = await withSpamd(checkSpam(parts), email ?? undefined, settings.spamd);
    return { type, version: n, email, push, spam };
  } catch (err) {
    if (err instanceof TemplateError && !compileBusy(err)) throw invalid(err.message);
    throw err;
  }
}

function rethrow(err: unknown): never {
  if (err instanceof TemplateError && !compileBusy(err)) throw invalid(err.message);
  throw err;
}
