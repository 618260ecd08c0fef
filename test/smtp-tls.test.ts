import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTls } from '../dev/test-ca.js';
import { startSmtpInbox, type SmtpInbox } from '../dev/smtp-inbox.js';
import { bundleWorkflows } from './helpers/engine.js';
import { rigRules, startProviderRig, type ProviderRig } from './helpers/provider-rig.js';
import { waitUntil } from './helpers/wait.js';

// Direct MX delivery over STARTTLS: verified where the provider rules (requireTLS) or the
// recipient domain's MTA-STS policy (enforce) ask for it, opportunistic elsewhere; MX hosts on
// addresses outside the allowed private ranges refused; and what a tenant reads about a failed
// try. Receivers, the DNS server and the MTA-STS policy host are real, on loopback; the CAs are
// made at start and trusted as an operator would with SMTP_TLS_CA_FILE.
// This file's addresses (127.0.0.150-162, 225) are used by no other test file.

const goodMx = createTestTls(['mx1.securemail.test']);
const wrongName = createTestTls(['mx.elsewhere.test']);
const stsMx = createTestTls(['mx.sts-host.test']);
const policyHost = createTestTls(['mta-sts.sts.test', 'mta-sts.sts-bad.test']);
/** A CA nobody trusts: opportunistic TLS takes its certificate all the same. */
const untrusted = createTestTls(['mx.opp.test']);

const policies: Record<string, string> = {
  'mta-sts.sts.test': 'version: STSv1\nmode: enforce\nmx: mx.sts-host.test\nmax_age: 86400\n',
  'mta-sts.sts-bad.test': 'version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n',
};

let rig: ProviderRig;
let tenant: { tenantId: string; apiKey: string };
let https: Server;
let privateMx: SmtpInbox;
const policyFetches: string[] = [];

beforeAll(async () => {
  https = createServer({ key: policyHost.key, cert: policyHost.cert }, (req, res) => {
    const host = (req.headers.host ?? '').toLowerCase();
    policyFetches.push(`${host}${req.url}`);
    const body = req.url === '/.well-known/mta-sts.txt' ? policies[host] : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/plain' }).end(body ?? '');
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.158', resolve));
  const mtaStsPort = (https.address() as AddressInfo).port;

  rig = await startProviderRig({
    bundle: await bundleWorkflows(),
    rules: rigRules([{ name: 'securemail', requireTLS: true, match: { mxSuffix: ['.securemail.test'] } }]),
    providers: [
      { domain: 'tls-ok.test', mx: 'mx1.securemail.test', address: '127.0.0.150', inbox: { tls: goodMx } },
      { domain: 'tls-none.test', mx: 'mx2.securemail.test', address: '127.0.0.151' },
      { domain: 'tls-wrongname.test', mx: 'mx3.securemail.test', address: '127.0.0.152', inbox: { tls: wrongName } },
      { domain: 'sts.test', mx: 'mx.sts-host.test', address: '127.0.0.153', inbox: { tls: stsMx } },
      { domain: 'sts-bad.test', mx: 'mx.sts-bad.test', address: '127.0.0.154', inbox: { tls: stsMx } },
      { domain: 'opp.test', mx: 'mx.opp.test', address: '127.0.0.155', inbox: { tls: untrusted } },
      { domain: 'plain.test', mx: 'mx.plain.test', address: '127.0.0.156' },
      {
        domain: 'picky.test',
        mx: 'mx.picky.test',
        address: '127.0.0.157',
        inbox: { onRcpt: ({ rcpt }) => ({ code: 550, message: `5.1.1 <${rcpt}>: Recipient address rejected: User unknown` }) },
      },
    ],
    zone: {
      txt: { '_mta-sts.sts.test': ['v=STSv1; id=20261130'], '_mta-sts.sts-bad.test': ['v=STSv1; id=20261130'] },
      a: {
        'mta-sts.sts.test': ['127.0.0.158'],
        'mta-sts.sts-bad.test': ['127.0.0.158'],
        // Nobody listens there (port of the receivers): the connection is refused.
        'mx.down.test': ['127.0.0.159'],
        'mx.private.test': ['127.0.0.225'],
      },
    },
    // As an operator opening one private range: the receivers' block, not the rest of loopback.
    mxAllowPrivate: ['127.0.0.144/28'],
    tlsCa: [goodMx.caPem, wrongName.caPem, stsMx.caPem, policyHost.caPem],
    mtaStsPort,
  });
  rig.dns.zone.mx!['down.test'] = [{ exchange: 'mx.down.test', priority: 10 }];
  rig.dns.zone.mx!['private.test'] = [{ exchange: 'mx.private.test', priority: 10 }];
  // A real receiver on the refused address: it must see no connection at all.
  privateMx = await startSmtpInbox({ host: '127.0.0.225', port: rig.receivers['tls-ok.test']!.port });
  const poolId = `tls-${rig.engine.tenantId}`;
  tenant = await rig.addTenant({
    pool: {
      id: poolId,
      name: 'tls pool',
      kind: 'dedicated',
      ips: ['127.0.0.161', '127.0.0.162'].map((ip, i) => ({ id: `${poolId}-${i + 1}`, localAddress: ip, ehloName: `mta${i + 1}.tls.test` })),
    },
  });
});
afterAll(async () => {
  await rig?.stop();
  await privateMx?.close();
  await new Promise((resolve) => https?.close(resolve));
});

interface Attempt {
  outcome: string;
  responseCode: number | null;
  response: string | null;
}
const view = async (id: string) =>
  (await (await rig.engine.request('GET', `/v1/notifications/${id}`, { key: tenant.apiKey })).json()) as {
    status: string;
    error: string | null;
    workflowId: string;
    attempts: Attempt[];
  };
const attemptsOf = (id: string, n: number) =>
  waitUntil(
    async () => {
      const v = await view(id);
      return v.attempts.length >= n && v.attempts;
    },
    30_000,
    `${n} attempts`,
  );

describe('required TLS (provider rule requireTLS)', () => {
  it('delivers over STARTTLS when the MX certificate names the MX host', async () => {
    await rig.notify(tenant, 'ada@tls-ok.test');
    const [msg] = await rig.receivers['tls-ok.test']!.waitFor(1, 20_000);
    expect(msg!.secure).toBe(true);
    expect(msg!.dkim.result).toBe('pass');
  });

  it('never sends in plaintext to an MX without STARTTLS: a TLS failure, retried', async () => {
    const id = await rig.notify(tenant, 'bob@tls-none.test');
    const attempts = await attemptsOf(id, 2);
    for (const a of attempts) {
      expect(a.outcome).toBe('deferred');
      expect(a.responseCode).toBeNull();
      expect(a.response).toBe('TLS required (the provider rules require TLS) but the mail server does not offer STARTTLS: not sent');
    }
    const receiver = rig.receivers['tls-none.test']!;
    expect(receiver.connections.length).toBeGreaterThanOrEqual(2);
    expect(receiver.messages).toHaveLength(0);
  });

  it('refuses an MX whose certificate names another host', async () => {
    const id = await rig.notify(tenant, 'cy@tls-wrongname.test');
    const [a] = await attemptsOf(id, 1);
    expect(a).toMatchObject({ outcome: 'deferred', responseCode: null });
    expect(a!.response).toBe('TLS required (the provider rules require TLS) but its certificate does not name the MX host: not sent');
    expect(rig.receivers['tls-wrongname.test']!.messages).toHaveLength(0);
  });
});

describe('MTA-STS (RFC 8461)', () => {
  it('delivers over verified TLS to an MX the enforce policy lists', async () => {
    await rig.notify(tenant, 'dee@sts.test');
    const [msg] = await rig.receivers['sts.test']!.waitFor(1, 20_000);
    expect(msg!.secure).toBe(true);
    expect(policyFetches).toContain('mta-sts.sts.test/.well-known/mta-sts.txt');
    // The policy is kept for its max_age: the next message to the domain fetches nothing.
    await rig.notify(tenant, 'dan@sts.test');
    const [, second] = await rig.receivers['sts.test']!.waitFor(2, 20_000);
    expect(second!.secure).toBe(true);
    expect(policyFetches.filter((f) => f.startsWith('mta-sts.sts.test/'))).toHaveLength(1);
  });

  it('refuses to send when the enforce policy lists none of the MX hosts', async () => {
    const id = await rig.notify(tenant, 'eve@sts-bad.test');
    const { workflowId } = await view(id);
    // The send waits in its activity's retries (the policy may change): Temporal shows the last failure, encrypted.
    const message = await waitUntil(async () => {
      const d = await rig.engine.client.workflow.getHandle(workflowId).describe();
      const last = d.raw.pendingActivities?.[0]?.lastFailure;
      if (last?.applicationFailureInfo?.type !== 'MtaStsRefused') return undefined;
      return (await decodeOptionalFailureToOptionalError(rig.engine.client.options.loadedDataConverter, last))?.message;
    });
    expect(message).toBe('The MTA-STS policy of sts-bad.test (enforce) lists none of its MX hosts; not sent');
    expect(rig.receivers['sts-bad.test']!.connections).toHaveLength(0);
  });

  it('without a policy, STARTTLS stays opportunistic: any certificate, or plaintext when not offered', async () => {
    await rig.notify(tenant, 'fay@opp.test');
    await rig.notify(tenant, 'gus@plain.test');
    const [opp] = await rig.receivers['opp.test']!.waitFor(1, 20_000);
    const [plain] = await rig.receivers['plain.test']!.waitFor(1, 20_000);
    expect(opp!.secure).toBe(true);
    expect(plain!.secure).toBe(false);
  });
});

describe('MX hosts on private addresses', () => {
  it('fails for good, sending nothing, when the MX resolves outside the allowed ranges', async () => {
    const id = await rig.notify(tenant, 'hal@private.test');
    const v = await waitUntil(async () => {
      const n = await view(id);
      return n.status === 'failed' && n;
    });
    expect(v.error).toContain('The mail hosts of private.test resolve only to private, loopback or link-local addresses; not sent');
    expect(v.attempts).toHaveLength(0);
    expect(privateMx.connections).toHaveLength(0);
  });
});

describe('what a tenant reads about a failed try', () => {
  it('is the server reply without addresses, or the engine wording for a connection failure', async () => {
    const refused = await rig.notify(tenant, 'ivy@picky.test');
    const down = await rig.notify(tenant, 'jon@down.test');
    const [reply] = await attemptsOf(refused, 1);
    expect(reply).toMatchObject({ outcome: 'failed', responseCode: 550 });
    expect(reply!.response).toBe('550 5.1.1 <<address>>: Recipient address rejected: User unknown');
    const [conn] = await attemptsOf(down, 1);
    expect(conn).toMatchObject({ outcome: 'deferred', responseCode: null, response: 'connection to the mail server failed (refused)' });
    // Nor in the notification's own error or its audit trail.
    const failed = await waitUntil(async () => {
      const n = await view(refused);
      return n.status === 'failed' && n;
    });
    expect(failed.error).not.toMatch(/ivy@|127\.0\.0|ECONN/);
    const audit = await (await rig.engine.request('GET', `/v1/notifications/${down}/audit`, { key: tenant.apiKey })).text();
    expect(audit).not.toMatch(/jon@|127\.0\.0\.159|ECONN/);
  });
});
