/**
 * The token endpoint (`POST /token`, RFC 6749 §3.2, §4.1.3, OIDC Core §3.1.3): the
 * authorization_code grant with client_secret_basic, client_secret_post, or none + PKCE, and the
 * refresh_token grant (RFC 6749 §6, in ./refresh.ts).
 */
import { Hono } from 'hono';
import { recordClient } from '../browser-session/api.ts';
import { sha256Hex } from '../session/crypto.ts';
import { loginStub } from '../session/stub.ts';
import { loginIdOf } from '../session/tokens.ts';
import type { Grant, GrantResult } from '../session/grants.ts';
import { getCachedClient, verifyCachedClientSecret, type Client } from './clients.ts';
import { NO_STORE, OAuthError, oauthErrorResponse } from './errors.ts';
import { readForm } from './form.ts';
import { signIdToken } from './idtoken.ts';
import { releasedClaims } from './claims.ts';
import { requestedClaimNames, type ClaimsRequest } from './claims-request.ts';
import { getIdentity } from '../identity/identities.ts';
import { CODE_VERIFIER, s256 } from './pkce.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';
import { refreshGrant, startRefreshGrant } from './refresh.ts';
import { issueSubject } from './subject.ts';

/** Credentials from `Authorization: Basic` (RFC 6749 §2.3.1: each part form-urlencoded). */
function parseBasic(header: string | undefined, realm: string): { id: string; secret: string } | undefined {
  if (header === undefined) return undefined;
  const refuse = () =>
    new OAuthError('invalid_client', D.clientAuthFailed, {
      status: 401,
      headers: { 'WWW-Authenticate': `Basic realm="${realm}"` },
    });
  const match = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
  if (!match) throw refuse();
  try {
    const decoded = atob(match[1]!);
    const colon = decoded.indexOf(':');
    if (colon < 0) throw refuse();
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    throw refuse();
  }
}

/**
 * Authenticates the client (RFC 6749 §2.3, OIDC Core §9): exactly one method; confidential
 * clients by secret, public clients by client_id alone (their codes are PKCE-bound).
 * @throws {OAuthError} `invalid_client` (401; with `WWW-Authenticate` when Basic was tried),
 *   `invalid_request` when two methods are mixed.
 */
export async function authenticateClient(db: D1Database, header: string | undefined, params: URLSearchParams, realm: string): Promise<Client> {
  const basic = parseBasic(header, realm);
  const failed = () =>
    new OAuthError('invalid_client', D.clientAuthFailed, {
      status: 401,
      headers: basic ? { 'WWW-Authenticate': `Basic realm="${realm}"` } : {},
    });
  const postId = params.get('client_id') || undefined;
  const postSecret = params.get('client_secret') || undefined;
  if (basic && postSecret !== undefined) throw new OAuthError('invalid_request', D.clientAuthMixed);
  if (basic && postId !== undefined && postId !== basic.id) throw new OAuthError('invalid_request', D.clientIdMismatch);
  const clientId = basic?.id ?? postId;
  if (!clientId) throw failed();
  const client = await getCachedClient(db, clientId);
  if (!client) throw failed();
  const secret = basic?.secret ?? postSecret;
  if (client.public) {
    if (secret !== undefined) throw failed();
    return client;
  }
  if (secret === undefined || !(await verifyCachedClientSecret(db, clientId, secret))) throw failed();
  return client;
}

/**
 * The shared first steps of the client-authenticated endpoints (`/token`, `/revoke`): POST only
 * (405), the form body (src/oidc/form.ts limits), no repeated parameter (RFC 6749 §3.2), then the
 * client authenticated before anything else is decided.
 * @throws {OAuthError} `invalid_request` or `invalid_client`.
 */
export async function readClientRequest(request: Request, env: Env): Promise<{ params: URLSearchParams; client: Client }> {
  if (request.method !== 'POST') throw new OAuthError('invalid_request', D.usePost, { status: 405, headers: { Allow: 'POST' } });
  const params = await readForm(request);
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw new OAuthError('invalid_request', D.parameterRepeated);
    seen.add(name);
  }
  const client = await authenticateClient(env.DB, request.headers.get('Authorization') ?? undefined, params, env.ISSUER);
  return { params, client };
}

/** `POST /token`. Every response, success or error, carries `Cache-Control: no-store`. */
export const tokenRoutes = new Hono<{ Bindings: Env }>();

tokenRoutes.all('/token', async (c) => {
  try {
    const { params, client } = await readClientRequest(c.req.raw, c.env);
    const grantType = params.get('grant_type');
    if (!grantType) throw new OAuthError('invalid_request', D.grantTypeMissing);
    if (grantType === 'refresh_token') return c.json(await refreshGrant(c.env, client, params), 200, NO_STORE);
    if (grantType !== 'authorization_code') throw new OAuthError('unsupported_grant_type', D.grantTypeUnsupported);
    const code = params.get('code');
    if (!code) throw new OAuthError('invalid_request', D.codeMissing);
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri) throw new OAuthError('invalid_request', D.redirectUriMissing);
    const verifier = params.get('code_verifier') || undefined;
    if (verifier !== undefined && !CODE_VERIFIER.test(verifier)) throw new OAuthError('invalid_request', D.codeVerifierMalformed);

    const loginId = loginIdOf(code);
    let stub;
    try {
      if (!loginId) throw new Error('malformed');
      stub = loginStub(c.env, loginId);
    } catch {
      throw new OAuthError('invalid_grant', D.codeInvalid);
    }
    // RPC typing loses `Record<string, unknown>`; the object returns exactly this shape.
    const result = (await stub.redeemCode({
      codeHash: await sha256Hex(code),
      clientId: client.clientId,
      redirectUri,
      ...(verifier ? { verifierS256: await s256(verifier) } : {}),
    })) as GrantResult<Grant>;
    if (!result.ok) throw new OAuthError('invalid_grant', result.description);
    const grant = result.value;
    const now = Date.now();
    // The `sub` this client sees (OIDC Core §8): the identity's, or the client's pairwise one.
    const subject = await issueSubject(c.env, client, grant.sub, now);
    const nonce = grant.authorization.nonce;
    // Claims the `claims` parameter asked for in the ID token (OIDC Core §5.5), where we hold them.
    const wanted = requestedClaimNames(grant.authorization.claims as ClaimsRequest | undefined, 'id_token');
    const idToken = async () => {
      const identity = wanted.length ? await getIdentity(c.env.DB, grant.sub) : null;
      const { sub: _sub, ...extra } = identity ? releasedClaims(grant.sub, identity.claims, [], wanted) : { sub: grant.sub };
      return signIdToken(c.env, {
        claims: extra,
        sub: subject,
        clientId: client.clientId,
        alg: client.idTokenAlg,
        authTime: grant.approvedAt,
        accessToken: grant.accessToken,
        now,
        ...(typeof nonce === 'string' ? { nonce } : {}),
        ...(grant.browserSession ? { sid: grant.browserSession.sid } : {}),
      });
    };
    // The client is now part of the browser session (and is told when it ends, with this `sub`).
    // Recorded before the response, never after it (docs/browser-session.md, "Clients"): a logout
    // that follows the tokens always knows the client. It runs beside the signing, not before it.
    const [, signed, refreshToken] = await Promise.all([
      grant.browserSession ? recordClient(c.env, grant.browserSession.id, client.clientId, subject) : null,
      idToken(),
      startRefreshGrant(c.env, client, grant, loginId!, now),
    ]);
    return c.json(
      {
        access_token: grant.accessToken,
        token_type: 'Bearer',
        expires_in: Math.floor((grant.accessTokenExpiresAt - now) / 1000),
        id_token: signed,
        scope: String(grant.authorization.scope),
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      },
      200,
      NO_STORE,
    );
  } catch (error) {
    if (error instanceof OAuthError) return oauthErrorResponse(error);
    throw error;
  }
});
