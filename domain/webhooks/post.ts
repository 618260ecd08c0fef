import { createEgressPolicy, postThrough, type EgressPolicy, type PostResult } from './egress.js';
import { signatureHeader, signWebhook } from './sign.js';

let strictDefault: EgressPolicy | undefined;

/**
 * POSTs a signed JSON webhook; ok when the receiver acknowledged it (2xx). Goes through `egress`
 * (public addresses only unless the operator allowed a range); network errors count as no, and
 * only their code is reported (never what a receiver's network said).
 */
export async function postSigned(
  url: string,
  secret: string,
  payload: unknown,
  opts: { egress?: EgressPolicy; timeoutMs?: number } = {},
): Promise<PostResult> {
  const body = JSON.stringify(payload);
  const egress = opts.egress ?? (strictDefault ??= createEgressPolicy());
  return postThrough(egress, url, { 'content-type': 'application/json', [signatureHeader]: signWebhook(secret, body) }, body, {
    timeoutMs: opts.timeoutMs,
  });
}
