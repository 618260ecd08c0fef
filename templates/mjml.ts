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

/** MJML -> HTML in the compile thread, refusing invalid MJML. */
export function mjmlToHtml(source: string, where = 'template'): Promise<string> {
  thread ??= startThread();
  const { worker, pending } = thread;
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    pending.set(id, { resolve, reject: (cause) => reject(invalid(where, cause)) });
    worker.postMessage({ id, source, options });
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
  resolve(html: string): void;
  reject(cause: unknown): void;
}
type Reply = { id: number; html: string } | { id: number; error: string; errors?: MjmlProblem[] };

let thread: { worker: Worker; pending: Map<number, Pending> } | undefined;
let nextId = 0;

function startThread(): NonNullable<typeof thread> {
  const worker = new Worker(new URL('./mjml-thread.mjs', import.meta.url));
  const current = { worker, pending: new Map<number, Pending>() };
  const finish = () => {
    if (thread === current) thread = undefined;
    void worker.terminate();
  };
  worker.on('message', (reply: Reply) => {
    const waiting = current.pending.get(reply.id);
    current.pending.delete(reply.id);
    if ('html' in reply) waiting?.resolve(reply.html);
    else waiting?.reject(Object.assign(new Error(reply.error), { errors: reply.errors }));
    if (current.pending.size === 0) finish();
  });
  worker.on('error', (err) => {
    for (const waiting of current.pending.values()) waiting.reject(err);
    current.pending.clear();
    finish();
  });
  return current;
}
