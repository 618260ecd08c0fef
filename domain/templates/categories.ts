import { eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories } from '../../db/schema.js';
import type { TemplateKind } from '../../templates/version-types.js';

export interface CategoryView {
  key: string;
  kind: TemplateKind;
  defaultChannels: ('email' | 'push')[];
  allowFallback: boolean;
  label: Record<string, string>;
}

/** required: always reaches the user (as security does); marketing: only with a recorded opt-in. */
export const kindOf = (row: { mandatory: boolean; requiresOptIn: boolean }): TemplateKind =>
  row.mandatory ? 'required' : row.requiresOptIn ? 'marketing' : 'service';

export const flagsOf = (kind: TemplateKind) => ({ mandatory: kind === 'required', requiresOptIn: kind === 'marketing' });

/** Channels a type of this category may be sent on: its defaults, and the other one where it may fall back. */
export function usableChannels(row: { defaultChannels: string[]; allowFallback: boolean; mandatory: boolean }): ('email' | 'push')[] {
  const all = ['email', 'push'] as const;
  return all.filter((c) => row.defaultChannels.includes(c) || row.allowFallback || row.mandatory);
}

const view = (r: typeof categories.$inferSelect): CategoryView => ({
  key: r.key,
  kind: kindOf(r),
  defaultChannels: r.defaultChannels as CategoryView['defaultChannels'],
  allowFallback: r.allowFallback,
  label: r.label,
});

export async function listCategories(db: Db, tenantId: string): Promise<CategoryView[]> {
  const rows = await db.select().from(categories).where(eq(categories.tenantId, tenantId)).orderBy(categories.key);
  return rows.map(view);
}

/** Creates or replaces one category; `created` tells which. */
export async function putCategory(db: Pick<Db, 'insert'>, tenantId: string, c: CategoryView): Promise<{ category: CategoryView; created: boolean }> {
  const values = { tenantId, key: c.key, defaultChannels: c.defaultChannels, allowFallback: c.allowFallback, label: c.label, ...flagsOf(c.kind) };
  const [row] = await db
    .insert(categories)
    .values(values)
    .onConflictDoUpdate({ target: [categories.tenantId, categories.key], set: values })
    .returning({ ...getTableColumns(categories), created: sql<boolean>`xmax = 0` });
  const { created, ...category } = row!;
  return { category: view(category), created };
}
