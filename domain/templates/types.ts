import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, notificationTypes } from '../../db/schema.js';
import { isIsoCurrency } from '../../templates/format.js';
import type { DigestSpec } from '../../lib/digest-spec.js';
import type { VariableSpec } from '../../templates/version-types.js';
import { invalid } from './errors.js';

export interface TypeView {
  type: string;
  category: string;
  variables: Record<string, VariableSpec>;
  publishedVersion: number | null;
  digest: DigestSpec | null;
}

const view = (r: typeof notificationTypes.$inferSelect): TypeView => ({
  type: r.key,
  category: r.categoryKey,
  variables: r.variables as Record<string, VariableSpec>,
  publishedVersion: r.publishedVersion,
  digest: r.digest ?? null,
});

export async function listTypes(db: Db, tenantId: string): Promise<TypeView[]> {
  const rows = await db.select().from(notificationTypes).where(eq(notificationTypes.tenantId, tenantId)).orderBy(notificationTypes.key);
  return rows.map(view);
}

export async function getType(db: Db, tenantId: string, type: string): Promise<TypeView | undefined> {
  const [row] = await db
    .select()
    .from(notificationTypes)
    .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, type)));
  return row ? view(row) : undefined;
}

/** Creates or replaces a type's category and variables; its versions and published pointer stay. */
export async function putType(
  db: Db,
  tenantId: string,
  type: string,
  body: { category: string; variables: Record<string, VariableSpec>; digest?: DigestSpec | null },
): Promise<{ type: TypeView; created: boolean }> {
  const [category] = await db
    .select({ key: categories.key, mandatory: categories.mandatory })
    .from(categories)
    .where(and(eq(categories.tenantId, tenantId), eq(categories.key, body.category)));
  if (!category)
    throw invalid(`Category '${body.category}' does not exist (create it with PUT /v1/categories/${body.category})`, [
      { path: 'body.category', message: 'unknown category' },
    ]);
  // Security alerts and OTPs must reach the user at once: a mandatory category is never digested.
  if (body.digest && category.mandatory)
    throw invalid(`Category '${body.category}' is mandatory: its notifications always go at once and cannot be digested`, [
      { path: 'body.digest', message: 'not allowed for a mandatory category' },
    ]);
  if (body.digest?.key && !Object.hasOwn(body.variables, body.digest.key))
    throw invalid(`digest.key '${body.digest.key}' is not one of the type's variables`, [{ path: 'body.digest.key', message: 'unknown variable' }]);
  const digest = body.digest ?? null;
  const values = { tenantId, key: type, categoryKey: body.category, variables: body.variables, digest, updatedAt: new Date() };
  const [row] = await db
    .insert(notificationTypes)
    .values(values)
    .onConflictDoUpdate({
      target: [notificationTypes.tenantId, notificationTypes.key],
      set: { categoryKey: values.categoryKey, variables: values.variables, digest, updatedAt: values.updatedAt },
    })
    .returning({ ...getTableColumns(notificationTypes), created: sql<boolean>`xmax = 0` });
  const { created, ...rest } = row!;
  return { type: view(rest), created };
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
// An offset is required: without one the instant would depend on the server's zone.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

function wrongType(spec: VariableSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'number':
    case 'money':
      return typeof value === 'number' || (typeof value === 'string' && NUMERIC.test(value.trim())) ? undefined : `must be a number (${spec.type})`;
    case 'datetime':
      return typeof value === 'string' && ISO_TIMESTAMP.test(value.trim()) && !Number.isNaN(Date.parse(value))
        ? undefined
        : 'must be an ISO 8601 date-time with an offset, e.g. 2025-03-14T09:30:00Z';
    case 'url':
      try {
        const url = new URL(String(value));
        return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : 'must be an http(s) URL';
      } catch {
        return 'must be an absolute http(s) URL';
      }
    default:
      return typeof value === 'boolean' ? 'must be a string' : undefined;
  }
}

const isMissing = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** Every problem of `data` against a type's variables: missing required ones and wrong types, each named. */
export function dataProblems(
  variables: Record<string, VariableSpec>,
  data: Record<string, unknown>,
  path = 'body.data',
): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const [name, spec] of Object.entries(variables)) {
    const value = Object.hasOwn(data, name) ? data[name] : undefined;
    if (isMissing(value)) {
      if (spec.required) out.push({ path: `${path}.${name}`, message: `required (${spec.type})` });
      continue;
    }
    const wrong = wrongType(spec, value);
    if (wrong) out.push({ path: `${path}.${name}`, message: wrong });
  }
  // money is shown in data.currency: without one the amount has no unit.
  const money = Object.values(variables).some((v) => v.type === 'money');
  const currency = Object.hasOwn(data, 'currency') ? data.currency : undefined;
  if (money && !Object.hasOwn(variables, 'currency') && isMissing(currency)) {
    out.push({ path: `${path}.currency`, message: 'required: money variables are shown in data.currency (ISO 4217, e.g. EUR)' });
  } else if (money && !isMissing(currency) && !isIsoCurrency(currency)) {
    // Each currency keys a formatter in the renderer: only the few real codes may.
    out.push({ path: `${path}.currency`, message: 'must be an ISO 4217 currency code in capitals, e.g. EUR' });
  }
  return out;
}
