// Finds the aggregate report in a mailed DMARC report and inflates it: gzip (Microsoft, Yahoo),
// zip (Google) or plain XML. The inflated size is capped while inflating: a zip bomb is cut at
// the cap, never expanded in full. Format is told by the bytes, not the declared type (reporters
// send application/octet-stream as often as application/gzip).
import { gunzipSync } from 'node:zlib';
import { Unzip, UnzipInflate } from 'fflate';
import { simpleParser } from 'mailparser';

/** A report refused: `code` is the SMTP reply (550 malformed, 552 too large). */
export class DmarcRefused extends Error {
  constructor(
    readonly code: 550 | 552,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'DmarcRefused';
  }
}

const isGzip = (b: Buffer) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
const isZip = (b: Buffer) => b.length > 4 && b.readUInt32LE(0) === 0x04034b50;
const looksXml = (b: Buffer) =>
  /^\s*</.test(
    b
      .subarray(0, 64)
      .toString('utf8')
      .replace(/^\uFEFF/, ''),
  );

/** The report XML of a mailed aggregate report, at most `maxXmlBytes` once inflated. */
export async function unpackDmarcMail(raw: Buffer, maxXmlBytes: number): Promise<string> {
  let mail;
  try {
    mail = await simpleParser(raw);
  } catch (err) {
    throw new DmarcRefused(550, `5.6.0 Unparseable MIME: ${(err as Error).message}`);
  }
  const parts = mail.attachments.map((a) => a.content);
  if (mail.text) parts.push(Buffer.from(mail.text, 'utf8'));
  const report = parts.find((b) => isGzip(b) || isZip(b)) ?? parts.find(looksXml);
  if (!report) throw new DmarcRefused(550, '5.6.0 No aggregate report found: expected a gzip, zip or XML attachment');
  return inflate(report, maxXmlBytes);
}

function inflate(data: Buffer, max: number): string {
  const tooLarge = () => new DmarcRefused(552, `5.3.4 Report too large once decompressed, the limit is ${max} bytes`);
  if (isGzip(data)) {
    try {
      // zlib inflates chunk by chunk and stops at maxOutputLength: memory stays at the cap.
      return gunzipSync(data, { maxOutputLength: max }).toString('utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw new DmarcRefused(550, `5.6.0 Broken gzip: ${(err as Error).message}`);
    }
  }
  if (isZip(data)) return unzipFirstXml(data, max, tooLarge);
  if (data.length > max) throw tooLarge();
  return data.toString('utf8');
}

/** The first .xml entry of a zip, inflated in small steps so that the cap is checked as it grows. */
function unzipFirstXml(data: Buffer, max: number, tooLarge: () => DmarcRefused): string {
  const out: Uint8Array[] = [];
  let bytes = 0;
  let found = false;
  let done = false;
  let failure: DmarcRefused | undefined;
  const unzip = new Unzip((file) => {
    if (found || !/\.xml$/i.test(file.name)) return;
    found = true;
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) {
        failure = new DmarcRefused(550, `5.6.0 Broken zip: ${err.message}`);
        return;
      }
      bytes += chunk.length;
      if (bytes > max) {
        failure = tooLarge();
        file.terminate();
        out.length = 0;
        return;
      }
      out.push(chunk);
      if (final) done = true;
    };
    try {
      file.start();
    } catch (err) {
      failure = new DmarcRefused(550, `5.6.0 Unsupported zip entry: ${(err as Error).message}`);
    }
  });
  unzip.register(UnzipInflate);
  // 1 KiB of deflate expands to at most ~1 MiB: the cap is checked long before a bomb goes off.
  const step = 1024;
  try {
    for (let i = 0; i < data.length && !failure && !done; i += step) unzip.push(data.subarray(i, i + step), i + step >= data.length);
  } catch (err) {
    failure ??= new DmarcRefused(550, `5.6.0 Broken zip: ${(err as Error).message}`);
  }
  if (failure) throw failure;
  if (!found) throw new DmarcRefused(550, '5.6.0 The zip holds no .xml report');
  if (!done) throw new DmarcRefused(550, '5.6.0 Truncated zip: the report ends early');
  return Buffer.concat(out).toString('utf8');
}
