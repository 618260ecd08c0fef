// An in-memory CA and a server certificate it signs, so local TLS endpoints are trusted by
// pinning one CA rather than by turning verification off. Built with node:crypto and a
// minimal DER encoder: Node has no certificate *creation* API, and `selfsigned` breaks here
// because mailauth pins an older @peculiar/asn1-schema at the top of node_modules.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';

export interface TestTls {
  caPem: string;
  key: string;
  cert: string;
}

const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...p: Buffer[]) => der(0x30, ...p);
const oid = (dotted: string): Buffer => {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) chunk.unshift((x & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
};
const utcTime = (d: Date) => der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string) => seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));
const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));

function certificate(subject: string, issuer: string, publicKey: KeyObject, signer: KeyObject, extensions: Buffer[]): string {
  const serial = randomBytes(12);
  // DER INTEGER: positive (high bit clear) and minimal (no leading zero byte), else TLS rejects it.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    ecdsaSha256,
    name(issuer),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 365 * 86_400_000))),
    name(subject),
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, signer);
  const body = seq(tbs, ecdsaSha256, der(0x03, Buffer.from([0]), signature));
  // 64-character lines and no empty line before END (one came whenever the length was a multiple of 64, and OpenSSL refused it).
  return `-----BEGIN CERTIFICATE-----\n${body
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** A fresh CA plus a server certificate for the given DNS names and IP addresses. */
export function createTestTls(dnsNames: string[], ips: string[] = ['127.0.0.1']): TestTls {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // Unique per CA: OpenSSL finds an issuer by name, so two trusted CAs of one name would shadow each other.
  const caName = `notiflow dev CA ${randomBytes(4).toString('hex')}`;
  const caPem = certificate(caName, caName, ca.publicKey, ca.privateKey, [
    ext('2.5.29.19', true, seq(der(0x01, Buffer.from([0xff])))), // basicConstraints CA:TRUE
    ext('2.5.29.15', true, der(0x03, Buffer.from([1, 0x06]))), // keyUsage keyCertSign, cRLSign
  ]);
  const altNames = seq(
    ...dnsNames.map((n) => der(0x82, Buffer.from(n))),
    ...ips.filter((ip) => isIPv4(ip)).map((ip) => der(0x87, Buffer.from(ip.split('.').map(Number)))),
  );
  const cert = certificate(dnsNames[0] ?? 'localhost', caName, leaf.publicKey, ca.privateKey, [
    ext('2.5.29.19', false, seq()), // basicConstraints CA:FALSE
    ext('2.5.29.15', true, der(0x03, Buffer.from([7, 0x80]))), // keyUsage digitalSignature
    ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage serverAuth
    ext('2.5.29.17', false, altNames),
  ]);
  return { caPem, cert, key: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A CA that issues client certificates (mTLS tests and the README's example), and the certificates it signs. */
export interface TestClientCa {
  caPem: string;
  /** A client certificate (extKeyUsage clientAuth) for this common name, with its key. */
  issue(commonName: string): { cert: string; key: string };
}

export function createTestClientCa(caName = 'notiflow test client CA'): TestClientCa {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caPem = certificate(caName, caName, ca.publicKey, ca.privateKey, [
    ext('2.5.29.19', true, seq(der(0x01, Buffer.from([0xff])))),
    ext('2.5.29.15', true, der(0x03, Buffer.from([1, 0x06]))),
  ]);
  return {
    caPem,
    issue(commonName) {
      const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const cert = certificate(commonName, caName, leaf.publicKey, ca.privateKey, [
        ext('2.5.29.19', false, seq()),
        ext('2.5.29.15', true, der(0x03, Buffer.from([7, 0x80]))),
        ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.2'))), // extKeyUsage clientAuth
      ]);
      return { cert, key: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    },
  };
}
