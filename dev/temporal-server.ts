import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';

/** The Temporal CLI version we build when none is installed: the newest tag whose go.mod allows `go install`. */
const CLI_VERSION = 'v1.5.1';

/** Search attributes the notification workflow sets, so operators can filter in the UI. */
export const searchAttributeTypes = {
  TenantId: 'Keyword',
  UserId: 'Keyword',
  NotificationType: 'Keyword',
  Category: 'Keyword',
  Channel: 'KeywordList',
  DeliveryStatus: 'Keyword',
} as const;

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'notiflow', 'bin');
}

function onPath(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Finds the Temporal CLI (explicit path, PATH, project cache) or builds it once into the cache. */
export function resolveTemporalCli(explicitPath?: string, log: (m: string) => void = console.log): string {
  if (explicitPath) {
    if (!existsSync(explicitPath)) throw new Error(`TEMPORAL_CLI_PATH=${explicitPath} does not exist`);
    return explicitPath;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const cached = join(cacheDir(), 'temporal');
  if (existsSync(cached)) return cached;
  if (!onPath('go')) {
    throw new Error('No Temporal CLI found: install `temporal`, set TEMPORAL_CLI_PATH, or install Go so it can be built.');
  }
  mkdirSync(cacheDir(), { recursive: true });
  log(`Building the Temporal CLI ${CLI_VERSION} into ${cacheDir()} (once; takes a few minutes)...`);
  execFileSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${CLI_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: cacheDir() },
  });
  return cached;
}

export interface TemporalDevServer {
  address: string;
  /** The server process (its CPU time, for the bench). */
  pid: number | undefined;
  uiUrl: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  cliPath?: string;
  port: number;
  uiPort: number;
  /** Persist workflow state across restarts (dev run); tests use an in-memory server. */
  dbFile?: string;
  headless?: boolean;
  /** The codec endpoint the Web UI decodes payloads through (--ui-codec-endpoint). */
  uiCodecEndpoint?: string;
  /** Serve the server's Prometheus metrics (its `action` counter, for the bench) on this port. */
  metricsPort?: number;
  log?: (m: string) => void;
}

/** Starts `temporal server start-dev` with our search attributes and waits until it answers. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const cli = resolveTemporalCli(opts.cliPath, opts.log);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--ui-port', String(opts.uiPort), '--log-level', 'error'];
  if (opts.headless) args.push('--headless');
  if (opts.metricsPort) args.push('--metrics-port', String(opts.metricsPort));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.uiCodecEndpoint && !opts.headless) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  for (const [name, type] of Object.entries(searchAttributeTypes)) args.push('--search-attribute', `${name}=${type}`);
  // Task queue fairness (priority first, then round-robin per tenant, workflows/queues.ts):
  // off by default on a self-hosted server; without it priority keys are ignored too.
  args.push('--dynamic-config-value', 'matching.enableFairness=true');
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Like the embedded Postgres, the server must not outlive the process that started it (even one that crashed).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${opts.port}`;
  await waitForTemporal(address, child, () => stderr);
  return {
    address,
    pid: child.pid,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForTemporal(address: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Temporal dev server exited (${child.exitCode}): ${stderr()}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`Temporal dev server did not answer on ${address} within 60 s: ${stderr()}`);
}
