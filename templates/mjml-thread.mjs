// Worker-thread entry (plain JavaScript, so it loads without a TypeScript loader): runs mjml for
// templates/mjml.ts and posts the HTML, or the error message, back. mjml lives and dies with this thread.
import { parentPort } from 'node:worker_threads';
import mjml2html from 'mjml';

// One compile at a time, each announced as it starts: the caller's time limit then covers this
// compile only, never the wait behind another.
let queue = Promise.resolve();

parentPort.on('message', ({ id, source, options }) => {
  queue = queue.then(() => {
    parentPort.postMessage({ id, started: true });
    return Promise.resolve()
      .then(() => mjml2html(source, options))
      .then(
        (result) => parentPort.postMessage({ id, html: result.html }),
        (err) =>
          parentPort.postMessage({
            id,
            error: err instanceof Error ? err.message : String(err),
            // Strict validation lists each problem with its line and tag.
            errors: Array.isArray(err?.errors) ? err.errors.map(({ line, tagName, message }) => ({ line, tagName, message })) : undefined,
          }),
      );
  });
});
