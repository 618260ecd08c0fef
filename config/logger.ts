import { pino, type Logger } from 'pino';

/** JSON logs on stdout. Callers log ids and codes only: addresses and tokens stay in Postgres. */
export function createLogger(level: string, name = 'notiflow'): Logger {
  return pino({ name, level, redact: { paths: ['*.email', '*.token', '*.to', 'email', 'token'], censor: '[redacted]' } });
}
