import { spawn } from 'node:child_process';

export interface ApiProcess {
  /** Exit code when it stopped at start; null when it said it listens. */
  code: number | null;
  stderr: string;
  /** The "api listening" log line. */
  listening?: string;
  /** Ends the process (when it started and was kept). */
  stop(): void;
}

/**
 * Runs the production entry point bin/api.ts with `env` until it says it listens or exits. It is
 * killed at once unless `keep` (then the caller talks to it and calls stop()).
 */
export function startApiProcess(env: Record<string, string>, opts: { keep?: boolean } = {}): Promise<ApiProcess> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/api.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = () => void child.kill('SIGKILL');
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      const line = d.toString();
      if (!/api listening/.test(line)) return;
      if (!opts.keep) stop();
      resolve({ code: null, stderr, listening: line, stop });
    });
    child.once('exit', (code) => resolve({ code, stderr, stop }));
  });
}
