// Parts of the engine under test run as their own processes, as in production: the load
// generator in this process then does not steal the event loop from the API or the worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The last few kB of its output. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs an entry point (TypeScript through tsx, or compiled JavaScript) and waits until a line of
 * its output matches `ready`.
 * `ipc` opens a message channel (for the inbox child's arrival reports); `nodeArgs` go to node
 * itself (e.g. --cpu-prof, which NODE_OPTIONS refuses).
 */
export async function startChild(
  script: string,
  env: Record<string, string>,
  opts: { ready: RegExp; ipc?: boolean; timeoutMs?: number; label: string; nodeArgs?: string[] },
): Promise<Child> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  // A child must not outlive the bench (one stopped by --max-s or a signal mid-phase).
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  proc.once('exit', () => process.off('exit', killOnExit));
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  };
  proc.stderr?.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${opts.label} did not start within ${opts.timeoutMs ?? 60_000} ms:\n${tail}`)),
      opts.timeoutMs ?? 60_000,
    );
    const onData = (d: Buffer) => {
      keep(d);
      if (opts.ready.test(tail)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.label} exited (${code}) before it was ready:\n${tail}`));
    });
  });
  // Keep draining its output so a chatty child never blocks on a full pipe.
  proc.stdout?.removeAllListeners('data');
  proc.stdout?.on('data', keep);
  return {
    proc,
    pid: proc.pid!,
    output: () => tail,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What `npm run <name>` runs when it is `node [flags] <script>`: the bench starts it the same way, without npm in between. */
export function npmNodeScript(name: string): { nodeArgs: string[]; script: string } {
  const scripts = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [node, ...args] = (scripts[name] ?? '').split(/\s+/);
  if (node !== 'node' || args.length === 0) throw new Error(`npm script ${name} is not "node [flags] <script>": ${scripts[name]}`);
  return { nodeArgs: args.slice(0, -1), script: args.at(-1)! };
}

/** Resident memory of a process from /proc: current (VmRSS) and the kernel's high-water mark (VmHWM), in MB. */
export function memoryOf(pid: number): { rssMb: number; peakRssMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Resets the kernel's peak-RSS mark so each measurement reports its own peak (Linux: clear_refs 5). */
export function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not Linux, or not permitted: the peak then covers the whole run */
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, 100 ticks a second). */
export function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** CPU time the whole machine has spent busy (all cores, everyone's processes), in ms. */
export function machineBusyMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = ticks.map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return (n.reduce((a, b) => a + b, 0) - idle) * 10;
}
