// Reads one seed mailbox over IMAP (imapflow): where each marked message landed.
import { ImapFlow } from 'imapflow';
import type { SeedLogin } from './seeds.js';

export type Placement = 'inbox' | 'spam' | 'missing';

// Providers' spam folders without the \Junk special-use flag, by name.
const SPAM_NAMES = /^(\[gmail\]\/)?(junk|spam|bulk|bulk mail|junk e-?mail|courrier ind[ée]sirable|spamverdacht|ind[ée]sirables)$/i;

/**
 * For each marker, the folder its message is in: INBOX, the spam folder (special-use \Junk, else
 * by name), or neither. Searches the X-Notiflow-Placement header and the subject token.
 */
export async function readPlacements(
  seed: SeedLogin,
  markers: readonly string[],
  timeoutMs = 30_000,
): Promise<Map<string, { placement: Placement; folder: string | null }>> {
  const client = new ImapFlow({
    host: seed.imap.host,
    port: seed.imap.port,
    secure: seed.imap.tls,
    auth: { user: seed.imap.username, pass: seed.password },
    logger: false,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  // A dropped connection emits 'error'; the awaited call below fails with it.
  client.on('error', () => {});
  await client.connect();
  try {
    const boxes = await client.list();
    const spam = boxes.find((b) => b.specialUse === '\\Junk') ?? boxes.find((b) => SPAM_NAMES.test(b.path));
    const found = new Map<string, { placement: Placement; folder: string | null }>(markers.map((m) => [m, { placement: 'missing', folder: null }]));
    const folders: [string, Placement][] = [['INBOX', 'inbox'], ...(spam ? [[spam.path, 'spam'] as [string, Placement]] : [])];
    for (const [path, placement] of folders) {
      const lock = await client.getMailboxLock(path, { readOnly: true });
      try {
        for (const marker of markers) {
          if (found.get(marker)!.placement !== 'missing') continue;
          const hits = await client.search({ or: [{ header: { 'x-notiflow-placement': marker } }, { subject: marker }] });
          if (hits && hits.length > 0) found.set(marker, { placement, folder: path });
        }
      } finally {
        lock.release();
      }
    }
    return found;
  } finally {
    await client.logout().catch(() => client.close());
  }
}
