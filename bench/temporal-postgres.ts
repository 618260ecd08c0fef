// A production-grade Temporal for the bench (`--temporal=postgres`): the `temporal-server` binary
// (built by bench/temporal-server.sh from its Go module, never kept in this repository) with
// PostgreSQL persistence and visibility on an embedded PostgreSQL of its own, four history shards,
// default task queue partitions, Prometheus metrics, fairness on as the dev server has it.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { freePort } from '../dev/ports.js';
import { searchAttributeTypes } from '../dev/temporal-server.js';
import { repoRoot } from './children.js';
import { sleep } from './stats.js';

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

export interface PostgresTemporal {
  address: string;
  pid: number | undefined;
  metricsUrl: string;
  stop(): Promise<void>;
}

const VERSION = 'v1.29.1';

export async function startPostgresTemporal(log: (m: string) => void): Promise<PostgresTemporal> {
  log('building the Temporal server (bench/temporal-server.sh; once)');
  const bin = execFileSync('bash', [join(repoRoot, 'bench', 'temporal-server.sh')], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_SERVER_VERSION: VERSION },
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const schema = join(
    execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim(),
    `go.temporal.io/server@${VERSION}`,
    'schema',
    'postgresql',
    'v12',
  );

  log('starting PostgreSQL for Temporal');
  const pg = await startEmbeddedPostgres({ port: await freePort(), ephemeral: true, database: 'temporal', settings: { max_connections: '300' } });
  const url = new URL(pg.url);
  const db = { host: url.hostname, port: url.port, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  const sqlTool = (database: string, ...args: string[]) =>
    execFileSync(
      join(bin, 'sql'),
      [
        '--quiet',
        '--plugin',
        'postgres12',
        '--endpoint',
        db.host,
        '--port',
        db.port,
        '--user',
        db.user,
        '--password',
        db.password,
        '--database',
        database,
        ...args,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  sqlTool('temporal_visibility', 'create-database');
  for (const [database, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    sqlTool(database, 'setup-schema', '-v', '0.0');
    sqlTool(database, 'update-schema', '-d', join(schema, dir, 'versioned'));
  }

  const root = mkdtempSync(join(tmpdir(), 'notiflow-temporal-'));
  mkdirSync(join(root, 'config', 'dynamicconfig'), { recursive: true });
  // The server stores membership ports as smallint: they must be below 32768 (the OS's free ports are not).
  const port = async () => {
    for (;;) {
      const candidate = 20_000 + Math.floor(Math.random() * 12_000);
      if (await isFree(candidate)) return candidate;
    }
  };
  const p = {
    grpc: await port(),
    http: await port(),
    metrics: await port(),
    fm: await port(),
    hg: await port(),
    hm: await port(),
    mg: await port(),
    mm: await port(),
    wg: await port(),
    wm: await port(),
  };
  const store = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${db.host}:${db.port}`,
      connectProtocol: 'tcp',
      user: db.user,
      password: db.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...(httpPort ? { httpPort } : {}) },
  });
  // JSON is YAML: the server reads config/development.yaml.
  const config = {
    log: { stdout: true, level: 'error' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${p.metrics}` } },
    },
    services: {
      frontend: service(p.grpc, p.fm, p.http),
      history: service(p.hg, p.hm),
      matching: service(p.mg, p.mm),
      worker: service(p.wg, p.wm),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${p.grpc}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: join(root, 'config', 'dynamicconfig', 'bench.yaml'), pollInterval: '10s' },
  };
  writeFileSync(join(root, 'config', 'development.yaml'), JSON.stringify(config, null, 2));
  writeFileSync(
    join(root, 'config', 'dynamicconfig', 'bench.yaml'),
    JSON.stringify({
      'matching.enableFairness': [{ value: true }],
      'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
    }),
  );

  log('starting temporal-server (PostgreSQL persistence)');
  const child = spawn(join(bin, 'server'), ['--root', root, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  // Its log (errors only) goes to stdout: kept with stderr for the reason if it exits.
  const keep = (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await pg.stop();
    rmSync(root, { recursive: true, force: true });
  };
  const address = `127.0.0.1:${p.grpc}`;
  try {
    const deadline = Date.now() + 120_000;
    let connection: Connection | undefined;
    while (!connection) {
      if (child.exitCode !== null) throw new Error(`temporal-server exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`temporal-server did not answer within 120 s: ${stderr}`);
      try {
        const c = await Connection.connect({ address, connectTimeout: 2000 });
        await c.workflowService.getSystemInfo({});
        connection = c;
      } catch {
        await sleep(500);
      }
    }
    // A SQL-backed server starts with no namespace; the engine uses `default` and the dev server's search attributes.
    await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') });
    const { IndexedValueType } = proto.temporal.api.enums.v1;
    await connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        Object.entries(searchAttributeTypes).map(([name, type]) => [
          name,
          type === 'KeywordList' ? IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
    // The frontend's namespace cache refreshes every 10 s.
    for (;;) {
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error('namespace default not ready within 120 s');
        await sleep(1000);
      }
    }
    await sleep(11_000);
    await connection.close();
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, pid: child.pid, metricsUrl: `http://127.0.0.1:${p.metrics}/metrics`, stop };
}
