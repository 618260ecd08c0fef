import { createServer, type Server } from 'node:http';
import { registry } from '../domain/metrics/registry.js';

/** The worker's own metrics at http://host:port/metrics (a worker has no HTTP API of its own). */
export function serveWorkerMetrics(host: string, port: number): Server {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  server.listen(port, host);
  return server;
}
