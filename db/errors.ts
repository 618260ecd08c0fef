// What a failed query may say outside Postgres. drizzle's DrizzleQueryError quotes the query and
// its bound values ("params: ...": addresses, push tokens, rendered mail), and PostgreSQL's own
// messages can quote a value ('invalid input syntax for type uuid: "..."', 'Key (email)=(...)').
// Such an error must not leave an activity as is: its message becomes the workflow history's
// failure and a line of Temporal's log.

import { DrizzleQueryError } from 'drizzle-orm';

interface DriverError extends Error {
  code?: string;
  constraint_name?: string;
  query?: string;
  params?: unknown[];
}

const isDriverError = (e: unknown): e is DriverError =>
  e instanceof DrizzleQueryError ||
  (e instanceof Error &&
    (e.name === 'PostgresError' || (typeof (e as DriverError).code === 'string' && /^CONNECT|^ECONN/.test((e as DriverError).code!))));

/**
 * A database error reduced to what carries no data: the SQLSTATE or driver code, the constraint's
 * name, the connection error's own text (host and port only). Anything else is returned unchanged.
 */
export function withoutQueryValues(err: unknown): unknown {
  if (!isDriverError(err)) return err;
  const drizzle = err instanceof DrizzleQueryError;
  const cause: DriverError = drizzle && isDriverError(err.cause) ? err.cause : err;
  const code = cause.code ?? 'unknown';
  const text =
    cause.name === 'PostgresError'
      ? `database error ${code}${cause.constraint_name ? ` (constraint ${cause.constraint_name})` : ''}`
      : !drizzle
        ? err.message
        : `database query failed (${code}${cause.name === 'Error' ? `: ${cause.message}` : ''})`;
  return Object.assign(new Error(text), { name: 'DatabaseError', code });
}
