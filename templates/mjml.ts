// Where MJML becomes HTML. mjml costs ~50 MB of code and heap once loaded, and each template needs
// compiling once per process: compilations run in a worker thread that exits as soon as it has
// nothing left to do, handing that memory back (BENCHMARKS.md, section 7). Only the per-message
// path kept for benchmarks loads mjml on the calling thread.
import { Worker } from 'node:worker_threads';
import { TemplateError } from './errors.js';

// No web fonts: the layout uses system fonts, and a Google Fonts link would leak opens.
const options = { validationLevel: 'strict', fonts: {}, keepComments: false } as const;

/** One strict-validation problem, as mjml reports it. */
export interface MjmlProblem {
  line: number;
  tagName: string;
  message: string;
}

const invalid = (where: string, cause: unknown) => {
  const errors = (cause as { errors?: MjmlProblem[] } | undefined)?.errors;
  return new TemplateError('invalid_template', `${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { where, errors }, { cause });
};

/** How long one compile may run, and how many may wait for the compile thread. */
export interface CompileLimits {
  /** A compile running longer fails (compile_timeout) and its thread is terminated and replaced. */
  timeoutMs: number;
  /** Compiles queued or running beyond this are refused at once (compile_busy). */
  maxQueued: number;
}

/** The worker's limits (no queue bound: its compiles are versions already accepted); the API sets its own. */
export const DEFAULT_COMPILE_LIMITS: CompileLimits = { timeoutMs: 10_000, maxQueued: Number.POSITIVE_INFINITY };
const limits: CompileLimits = { ...DEFAULT_COMPILE_LIMITS };

/** Sets this process's compile limits (an entry point, once; tests per file). */
export function setCompileLimits(next: Partial<CompileLimits>): void {
  Object.assign(limits, next);
}

/** MJML -> HTML in the compile thread, refusing invalid MJML, one over the time limit, and any past a full queue. */
export function mjmlToHtml(source: string, where = 'template'): Promise<string> {
  if ((thread?.pending.size ?? 0) >= limits.maxQueued)
    return Promise.reject(
      new TemplateError('compile_busy', `${where}: ${limits.maxQueued} template compiles are already waiting; try again in a moment`, { where }),
    );
  return new Promise<string>((resolve, reject) => {
    enqueue({ source, where, resolve, reject: (cause) => reject(cause instanceof TemplateError ? cause : invalid(where, cause)) });
  });
}

/** MJML -> HTML on this thread (loads mjml here on first use): the per-message benchmark path. */
export async function mjmlToHtmlHere(source: string, where = 'template'): Promise<string> {
  const { default: mjml2html } = await import('mjml');
  try {
    return (await mjml2html(source, options)).html;
  } catch (cause) {
    throw invalid(where, cause);
  }
}

interface Pending {
  source: string;
  where: string;
  resolve(html: string): void;
  reject(cause: unknown): void;
  timer?: NodeJS.Timeout;
}
type Reply = { id: number; started: true } | { id: number; html: string } | { id: number; error: string; errors?: MjmlProblem[] };
type Thread = { worker: Worker; pending: Map<number, Pending> };

let thread: Thread | undefined;
let nextId = 0;

function enqueue(job: Pending): void {
  thread ??= startThread();
  const id = nextId++;
  thread.pending.set(id, job);
  thread.worker.postMessage({ id, source: job.source, options });
}

function startThread(): Thread {
  const worker = new Worker(new URL('./mjml-thread.mjs', import.meta.url));
  const current: Thread = { worker, pending: new Map() };
  const finish = () => {
    if (thread === current) thread = undefined;
    void worker.terminate();
  };
  worker.on('message', (reply: Reply) => {
    const waiting = current.pending.get(reply.id);
    if (!waiting) return;
    if ('started' in reply) {
      waiting.timer = setTimeout(() => timedOut(current, reply.id), limits.timeoutMs);
      return;
    }
    clearTimeout(waiting.timer);
    current.pending.delete(reply.id);
    if ('html' in reply) waiting.resolve(reply.html);
    else waiting.reject(Object.assign(new Error(reply.error), { errors: reply.errors }));
    if (current.pending.size === 0) finish();
  });
  worker.on('error', (err) => {
    for (const waiting of current.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(err);
    }
    current.pending.clear();
    finish();
  });
  return current;
}

/**
 * A compile ran past the limit: it fails, its thread (busy in mjml, deaf to messages) is
 * terminated, and the compiles queued behind it go to a fresh thread.
 */
function timedOut(stuck: Thread, id: number): void {
  const job = stuck.pending.get(id);
  if (!job) return;
  const waiting = [...stuck.pending.entries()].filter(([other]) => other !== id).map(([, j]) => j);
  stuck.pending.clear();
  if (thread === stuck) thread = undefined;
  void stuck.worker.terminate();
  job.reject(
    new TemplateError(
      'compile_timeout',
      `${job.where}: the MJML took longer than ${limits.timeoutMs} ms to compile, the limit; make it smaller (fewer elements, less inline mj-style CSS)`,
      { where: job.where },
    ),
  );
  for (const j of waiting) {
    clearTimeout(j.timer);
    enqueue({ ...j, timer: undefined });
  }
}
