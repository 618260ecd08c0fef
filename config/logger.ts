import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

/** Keys under which database drivers keep a failed query's bound values (Postgres's `detail` quotes them too: "Key (email)=(...)"). */
const PARAMETER_KEYS = new Set(['params', 'parameters', 'args', 'detail']);

/** Drops bound parameters from a serialized error: drizzle puts them in its message ("params: ..."). */
function withoutParameters(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(/\nparams: .*$/gm, '\nparams: [redacted]');
  if (depth > 5 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutParameters(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !PARAMETER_KEYS.has(k))
      .map(([k, v]) => [k, withoutParameters(v, depth + 1)]),
  );
}

/** pino's error serializer (causes included), minus any query parameter values. */
export const errorSerializer = (err: Error) => withoutParameters(stdSerializers.errWithCause(err));

/**
 * JSON logs on stdout (or `destination`). Callers log ids and codes only: addresses and tokens stay
 * in Postgres; errors are serialized without the values bound to a failed query.
 */
export function createLogger(level: string, name = 'notiflow', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: { paths: ['*.email', '*.token', '*.to', 'email', 'token'], censor: '[redacted]' },
    serializers: { err: errorSerializer },
  };
  return destination ? pino(options, destination) : pino(options);
}
