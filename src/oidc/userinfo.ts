/**
 * The UserInfo endpoint (OIDC Core §5.3): `GET` or `POST`, the access token in the
 * `Authorization: Bearer` header or (POST only) the `access_token` form field (RFC 6750 §2).
 * Returns only the claims of the granted scopes, and only while the approving key is not revoked.
 */
import { Hono } from 'hono';
import type { IdentityClaims } from '../identity/identities.ts';
import { loginStub } from '../session/stub.ts';
import { loginIdOf } from '../session/tokens.ts';
import { getCachedClient } from './clients.ts';
import { subjectFor } from './subject.ts';
import { parseScope, releasedClaims } from './claims.ts';
import { REQUESTABLE_CLAIMS } from './claims-request.ts';
import { NO_STORE, OAuthError, bearerChallenge } from './errors.ts';
import { isForm, readForm } from './form.ts';
import { DESCRIPTIONS as D, type Description } from './descriptions.ts';
import { introspectRefreshedAccessToken } from './refresh.ts';
import { isRefreshedAccessTokenShaped } from './refresh-rules.ts';

/** The token from the header or the body; exactly one method (RFC 6750 §2). */
async function presentedToken(request: Request): Promise<string | undefined> {
  const header = request.headers.get('Authorization');
  let fromHeader: string | undefined;
  if (header !== null) {
    const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
    if (!match) throw new OAuthError('invalid_request', D.bearerMalformed);
    fromHeader = match[1];
  }
  let fromBody: string | undefined;
  if (request.method === 'POST' && isForm(request)) {
    const tokens = (await readForm(request)).getAll('access_token');
    if (tokens.length > 1) throw new OAuthError('invalid_request', D.accessTokenRepeated);
    fromBody = tokens[0];
  }
  if (fromHeader !== undefined && fromBody !== undefined) throw new OAuthError('invalid_request', D.accessTokenTwoWays);
  return fromHeader ?? fromBody;
}

/**
 * The access token's subject, scope, client, approving device and UserInfo claim names: from the
 * LoginSession that issued it, or from D1 for one a refresh issued (src/oidc/refresh.ts).
 */
async function introspect(env: Env, token: string) {
  if (isRefreshedAccessTokenShaped(token)) return introspectRefreshedAccessToken(env.DB, token);
  const loginId = loginIdOf(token);
  if (!loginId) return { ok: false as const, description: D.accessTokenInvalid };
  let stub;
  try {
    stub = loginStub(env, loginId);
  } catch {
    return { ok: false as const, description: D.accessTokenInvalid };
  }
  return stub.introspectAccessToken(token);
}

/**
 * The approving key and the person in one D1 query (a LEFT JOIN on one constant row, so each
 * side is read exactly as its own query would): whether the device exists, is revoked and
 * belongs to `sub`, and the identity's claims. Both read in the same statement, so the
 * revocation check is as exact as two reads would be.
 * @returns the device's `sub` and `revoked_at` (null when not revoked; both null when there is
 *   no such device) and the identity's claims (null when the person is gone).
 */
async function keyAndPerson(db: D1Database, deviceId: string, sub: string) {
  const row = await db
    .prepare(
      `SELECT d.sub AS device_sub, d.revoked_at AS revoked_at, d.id AS device_id, i.claims AS claims
       FROM (SELECT ?1 AS device_id, ?2 AS sub) AS q
       LEFT JOIN devices d ON d.id = q.device_id
       LEFT JOIN identities i ON i.sub = q.sub`,
    )
    .bind(deviceId, sub)
    .first<{ device_sub: string | null; revoked_at: number | null; device_id: string | null; claims: string | null }>();
  return {
    device: row?.device_id != null ? { sub: row.device_sub, revokedAt: row.revoked_at } : null,
    claims: row?.claims != null ? (JSON.parse(row.claims) as IdentityClaims) : null,
  };
}

/** `GET|POST /userinfo`. */
export const userinfoRoutes = new Hono<{ Bindings: Env }>();

userinfoRoutes.on(['GET', 'POST'], '/userinfo', async (c) => {
  const realm = c.env.ISSUER;
  try {
    const token = await presentedToken(c.req.raw);
    if (token === undefined) {
      // RFC 6750 §3.1: no error code when the request carried no token at all.
      return new Response(null, { status: 401, headers: { 'WWW-Authenticate': bearerChallenge(realm), ...NO_STORE } });
    }
    const invalid = (description: Description) => new OAuthError('invalid_token', description, { status: 401 });
    const result = await introspect(c.env, token);
    if (!result.ok) throw invalid(result.description);
    // The key's revocation reaches its tokens here: checked on every use, not at expiry. The
    // client from the isolate's cache (src/oidc/client-cache.ts), as at /authorize and /token.
    const [{ device, claims }, client] = await Promise.all([
      keyAndPerson(c.env.DB, result.value.deviceId, result.value.sub),
      getCachedClient(c.env.DB, result.value.clientId),
    ]);
    if (!device || device.revokedAt !== null || device.sub !== result.value.sub) {
      throw invalid(D.keyRevoked);
    }
    if (!claims) throw invalid(D.personGone);
    // A disabled (or removed) client's tokens stop working too (within the cache's 30 s elsewhere).
    if (!client) throw invalid(D.accessTokenInvalid);
    // The same `sub` as the client's ID token (OIDC Core §5.3.2): its pairwise one where it has one.
    const sub = await subjectFor(c.env, client, result.value.sub);
    return c.json(releasedClaims(sub, claims, parseScope(result.value.scope), result.value.claims.filter((n) => REQUESTABLE_CLAIMS.has(n))), 200, NO_STORE);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return new Response(JSON.stringify({ error: error.code, error_description: error.description }), {
      status: error.status,
      headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': bearerChallenge(realm, error), ...NO_STORE },
    });
  }
});
