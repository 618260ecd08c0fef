import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { serve, type HttpBindings, type ServerType } from '@hono/node-server';

/** A refused body is read and thrown away up to this much, for this long, before the answer goes out. */
const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/**
 * Reads what is left of a request body and discards it. An answer sent while the client is still
 * uploading (413 on the declared length, 401 before the body is read) is otherwise lost: the socket
 * closes with unread bytes, the kernel answers them with a reset, and the client sees ECONNRESET or
 * EPIPE instead of the 4xx. Past the bounds the connection is cut (a client sending more is not owed an answer).
 */
export async function drainRequest(incoming: IncomingMessage): Promise<void> {
  if (incoming.complete || incoming.destroyed) return;
  const timer = setTimeout(() => incoming.destroy(), DRAIN_MAX_MS);
  let read = 0;
  try {
    for await (const chunk of incoming) {
      read += (chunk as Buffer).length;
      if (read > DRAIN_MAX_BYTES) {
        incoming.destroy();
        break;
      }
    }
  } catch {
    // The client went away: nothing to answer.
  } finally {
    clearTimeout(timer);
  }
}

/** Serves a fetch handler (the API app, or the dev app around it) over HTTP, or HTTPS given `tls` (config/tls.ts), draining unread bodies. */
export function serveApi(
  fetch: (req: Request, env: HttpBindings) => Response | Promise<Response>,
  opts: { hostname: string; port: number; tls?: ServerOptions },
): ServerType {
  return serve({
    hostname: opts.hostname,
    port: opts.port,
    ...(opts.tls ? { createServer: createHttpsServer, serverOptions: opts.tls } : {}),
    fetch: async (req, env) => {
      const res = await fetch(req, env as HttpBindings);
      await drainRequest((env as HttpBindings).incoming);
      return res;
    },
  });
}
