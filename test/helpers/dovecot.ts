// A real IMAP server on loopback for the placement tests: Dovecot (Debian's dovecot-imapd,
// dovecot-lmtpd, dovecot-sieve) with its own config in a temp dir, passwd-file users, LMTP for
// delivery and a global Sieve rule that files mail received from chosen IPs in Junk, as a
// provider's filter would. The SMTP receiver hands it each message with a Received header naming
// the connecting address (deliver()).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { freePort } from '../../dev/ports.js';

export const DOVECOT = '/usr/sbin/dovecot';

export interface Dovecot {
  imapPort: number;
  lmtpPort: number;
  /** Delivers one message over LMTP as received from `remoteAddress` (the Sieve rule reads the Received header). */
  deliver(remoteAddress: string, rcptTo: string[], raw: string): Promise<void>;
  log(): string;
  /** Changes the Sieve rule: mail received from these IPs goes to Junk from now on. */
  setJunkFromIps(ips: string[]): void;
  stop(): Promise<void>;
}

/** Starts Dovecot with one mailbox per user (password as given); mail from `junkFromIps` goes to Junk. */
export async function startDovecot(opts: { users: { user: string; password: string }[]; junkFromIps: string[] }): Promise<Dovecot> {
  const dir = mkdtempSync(join(tmpdir(), 'notiflow-dovecot-'));
  // Dovecot drops to its own users as root; mail is stored as an unprivileged one.
  chmodSync(dir, 0o755);
  const root = process.getuid?.() === 0;
  const me = userInfo();
  const mailUid = root ? 65534 : me.uid;
  const mailGid = root ? 65534 : me.gid;
  const [imapPort, lmtpPort] = [await freePort(), await freePort()];
  for (const d of ['run', 'state', 'mail', 'sieve']) mkdirSync(join(dir, d));
  chmodSync(join(dir, 'mail'), 0o777);
  writeFileSync(
    join(dir, 'users'),
    opts.users.map((u) => `${u.user}:{PLAIN}${u.password}:${mailUid}:${mailGid}::${join(dir, 'mail', u.user)}::\n`).join(''),
  );
  const conf = `
base_dir = ${join(dir, 'run')}
state_dir = ${join(dir, 'state')}
log_path = ${join(dir, 'dovecot.log')}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${root ? 'dovecot' : me.username}
default_internal_group = ${root ? 'dovecot' : me.username}
default_login_user = ${root ? 'dovenull' : me.username}
first_valid_uid = ${Math.min(mailUid, 100)}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(dir, 'users')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'users')}
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
  unix_listener lmtp {
    mode = 0666
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
  auth_username_format = %u
}
plugin {
  sieve_before = ${join(dir, 'sieve', 'before.sieve')}
}
`;
  writeFileSync(join(dir, 'dovecot.conf'), conf);
  // Compiled here: the delivering process (the mail user) may not write beside the script.
  const setJunkFromIps = (ips: string[]) => {
    const junk = ips.map((ip) => `header :contains "Received" "[${ip}]"`).join(', ');
    writeFileSync(
      join(dir, 'sieve', 'before.sieve'),
      `require ["fileinto", "mailbox"];\nif anyof (${junk || 'false'}) { fileinto :create "Junk"; stop; }\n`,
    );
    const compiled = spawnSync('/usr/bin/sievec', ['-c', join(dir, 'dovecot.conf'), join(dir, 'sieve', 'before.sieve')], { encoding: 'utf8' });
    if (compiled.status !== 0) throw new Error(`sievec failed: ${compiled.stderr}`);
  };
  setJunkFromIps(opts.junkFromIps);
  const log = () => {
    try {
      return readFileSync(join(dir, 'dovecot.log'), 'utf8');
    } catch {
      return '';
    }
  };
  // -F: in the foreground, so the process is ours to stop.
  const proc = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitForPort(
    imapPort,
    () => proc.exitCode !== null,
    () => `${stderr}\n${log()}`,
  );

  return {
    imapPort,
    lmtpPort,
    log,
    setJunkFromIps,
    async deliver(remoteAddress, rcptTo, raw) {
      const received = `Received: from sender ([${remoteAddress}]) by mx.seeds.test with ESMTP; ${new Date().toUTCString()}\r\n`;
      const conn = new SMTPConnection({ host: '127.0.0.1', port: lmtpPort, lmtp: true, name: 'mx.seeds.test' });
      await new Promise<void>((resolve, reject) => {
        conn.once('error', reject);
        conn.connect(() => resolve());
      });
      try {
        const info = await new Promise<{ rejected: string[] }>((resolve, reject) =>
          conn.send({ from: 'placement@sender.test', to: rcptTo }, received + raw, (err, i) => (err ? reject(err) : resolve(i as never))),
        );
        if (info.rejected.length) throw new Error(`LMTP refused ${info.rejected.length} recipient(s)`);
      } finally {
        conn.quit();
      }
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, dead: () => boolean, why: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (dead()) throw new Error(`dovecot exited: ${why()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dovecot did not listen on ${port}: ${why()}`);
}
