// The SMTP receiver for the benchmark, in its own process: dev/smtp-inbox.ts (the same server the
// tests use: it parses every message and checks its DKIM signature), reporting to the parent only
// which notification arrived when. Bodies are dropped once counted so 100k messages fit in memory.
import { startSmtpInbox } from '../dev/smtp-inbox.js';

const inbox = await startSmtpInbox({ host: '127.0.0.1', port: 0 });
let pending: { id: string; at: number }[] = [];

setInterval(() => {
  if (inbox.messages.length > 0) {
    for (const m of inbox.messages.splice(0)) pending.push({ id: m.headers['x-notification-id'] ?? m.subject, at: Date.parse(m.receivedAt) });
  }
  if (pending.length > 0) {
    process.send?.({ arrivals: pending });
    pending = [];
  }
  // Connections are kept for inspection by tests; the benchmark only needs them bounded.
  if (inbox.connections.length > 10_000) inbox.connections.splice(0, inbox.connections.length - 1000);
}, 50).unref();

process.once('SIGTERM', () => void inbox.close().then(() => process.exit(0)));
process.once('disconnect', () => void inbox.close().then(() => process.exit(0)));
console.log(`inbox listening ${inbox.host}:${inbox.port}`);
