import type { TLSSocket } from 'node:tls';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../db/client.js';
import { certBinding } from '../domain/tenancy/client-certs.js';
import type { ApiEnv } from './env.js';
import { problems } from './problem.js';

/** The TLS socket a request came in on; undefined over plain HTTP and for in-process requests. */
function tlsSocketOf(env: unknown): TLSSocket | undefined {
  const socket = (env as { incoming?: { socket?: Partial<TLSSocket> } } | undefined)?.incoming?.socket;
  return socket && typeof socket.getPeerCertificate === 'function' ? (socket as TLSSocket) : undefined;
}

/**
 * Binds client certificates (mTLS) to tenants, after the API key has named the tenant. The key
 * still authenticates (it carries scopes and is revoked on its own); the certificate only narrows:
 * - a presented certificate must be trusted (API_TLS_CLIENT_CA_PATH) and registered to the key's
 *   tenant: unregistered, or another tenant's, is 403;
 * - a tenant with registered certificates needs one of them with every request (403 without), so
 *   its leaked key alone is of no use.
 * It runs in every API process, whatever its listener: plain HTTP, HTTPS without client
 * authentication and in-process calls carry no certificate, so such a tenant's keys are refused
 * there (fail closed). `require` mode refuses connections without a trusted certificate already in the TLS handshake.
 */
export function clientCertBinding(db: Db): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const socket = tlsSocketOf(c.env);
    // Empty when the listener did not ask for a certificate (API_TLS_CLIENT_AUTH=off) or none was sent.
    const peer = socket?.getPeerCertificate();
    const presented = peer && Object.keys(peer).length > 0 ? peer : undefined;
    if (presented && !socket!.authorized)
      throw problems.forbidden(
        `The client certificate is not trusted (${String(socket!.authorizationError)}); use one issued by the CA the operator configured`,
      );
    const fingerprint = presented?.fingerprint256;
    const tenantId = c.var.tenantId;
    const { certTenantId, tenantHasCerts } = await certBinding(db, tenantId, fingerprint);
    if (fingerprint && certTenantId === undefined)
      throw problems.forbidden(`The client certificate ${fingerprint} is not registered; an operator registers it for your tenant first`);
    if (certTenantId !== undefined && certTenantId !== tenantId)
      throw problems.forbidden("This client certificate is registered to another tenant: it may only be used with that tenant's API keys");
    if (!fingerprint && tenantHasCerts)
      throw problems.forbidden(
        `Tenant ${tenantId} requires a client certificate with every request: connect over HTTPS to an API address that asks for client certificates, with one registered for it`,
      );
    await next();
  };
}
