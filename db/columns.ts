import { customType, timestamp } from 'drizzle-orm/pg-core';

// Column builders every schema file shares.

/** A time with its zone, the only kind the schema stores. */
export const at = (name: string) => timestamp(name, { withTimezone: true });

export const createdAt = () => at('created_at').notNull().defaultNow();

/** Raw bytes (hashes of the audit chain). */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
