/**
 * Refresh tokens (OIDC Core §11, §12; RFC 6749 §6; RFC 9700 §4.14): issued with the code's
 * tokens when `offline_access` was granted to a client allowed the `refresh_token` grant,
 * rotated on every use, and a reused token revokes its whole grant. Every use checks that the
 * approving mobile key is still enrolled. Storage: ./refresh-store.ts (D1).
 *
 * Secrets: refresh tokens are `rt_<256 bits base64url>`, access tokens issued by a refresh
 * `at_<256 bits base64url>` (the prefixes only route them: neither names a LoginSession). Both
 * are stored as SHA-256 hex. Times are epoch milliseconds unless noted.
 */
import { getDevice } from '../identity/devices.ts';
import { getIdentity } from '../identity/identities.ts';
import { randomToken, sha256Hex } from '../session/crypto.ts';
import type { Grant } from '../session/grants.ts';
import { loginStub } from '../session/stub.ts';
import { ACCESS_TOKEN_TTL_MS } from '../session/tokens.ts';
import { ACR_SUBSTANTIAL, AMR, releasedClaims } from './claims.ts';
import { requestedClaimNames, REQUESTABLE_CLAIMS, type ClaimsRequest } from './claims-request.ts';
import type { Client } from './clients.ts';
import { DESCRIPTIONS as D, type Description } from './descriptions.ts';
import { OAuthError } from './errors.ts';
import { signIdToken } from './idtoken.ts';
import { subjectFor } from './subject.ts';
import {
  findRefreshedAccessToken,
  findRefreshToken,
  insertGrant,
  revokeGrant,
  revokeRefreshedAccessToken,
  rotateRefreshToken,
  type RevokedReason,
} from './refresh-store.ts';
import { isRefreshedAccessTokenShaped, isRefreshTokenShaped, OFFLINE_ACCESS, refreshedScope, refreshTokenSeconds } from './refresh-rules.ts';

/**
 * After a code was redeemed: starts a refresh token grant when `offline_access` was granted and
 * the client (still) may use the `refresh_token` grant.
 * @param loginId the LoginSession the code came from (it holds the first access token).
 * @returns the refresh token (shown once), or undefined when none is issued.
 */
export async function startRefreshGrant(env: Env, client: Client, grant: Grant, loginId: string, now: number): Promise<string | undefined> {
  const scope = String(grant.authorization.scope ?? '');
  if (!scope.split(' ').includes(OFFLINE_ACCESS) || !client.grantTypes.includes('refresh_token')) return undefined;
  const refreshToken = `rt_${randomToken(32)}`;
  const claims = grant.authorization.claims as ClaimsRequest | undefined;
  const nonce = grant.authorization.nonce;
  await insertGrant(
    env.DB,
    {
      grantId: randomToken(16),
      clientId: client.clientId,
      sub: grant.sub,
      deviceId: grant.deviceId,
      scope,
      claims: { id_token: requestedClaimNames(claims, 'id_token'), userinfo: requestedClaimNames(claims, 'userinfo') },
      nonce: typeof nonce === 'string' ? nonce : null,
      authTime: Math.floor(grant.approvedAt / 1000),
      acr: ACR_SUBSTANTIAL,
      amr: [...AMR],
      sid: grant.browserSession?.sid ?? null,
      loginId,
      createdAt: now,
      expiresAt: now + refreshTokenSeconds(env) * 1000,
    },
    { tokenHash: await sha256Hex(refreshToken), accessTokenHash: await sha256Hex(grant.accessToken), accessScope: scope, accessExpiresAt: grant.accessTokenExpiresAt },
  );
  return refreshToken;
}

/** The token response of a refresh (RFC 6749 §5.1), before JSON encoding. */
export interface RefreshResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  refresh_token: string;
  id_token?: string;
  scope: string;
}

/**
 * The `refresh_token` grant (RFC 6749 §6, OIDC Core §12) for an authenticated client. In order:
 * the client may use the grant; the token is ours, issued to this client, its grant neither
 * revoked nor expired; the token not used before (a used one is reuse: the whole grant is
 * revoked, RFC 9700 §4.14.2); the scope no wider than granted; the approving key still enrolled
 * and the person still there. Then the token is rotated and a new access token and ID token
 * issued: same `iss`, `sub`, `aud`, `auth_time`, `acr`, `sid`, a new `iat`.
 * @throws {OAuthError} `unauthorized_client`, `invalid_request`, `invalid_grant`, `invalid_scope`.
 */
export async function refreshGrant(env: Env, client: Client, params: URLSearchParams): Promise<RefreshResponse> {
  if (!client.grantTypes.includes('refresh_token')) throw new OAuthError('unauthorized_client', D.refreshNotAllowed);
  const presented = params.get('refresh_token');
  if (!presented) throw new OAuthError('invalid_request', D.refreshTokenMissing);
  const refused = (description: Description) => new OAuthError('invalid_grant', description);
  if (!isRefreshTokenShaped(presented)) throw refused(D.refreshTokenInvalid);
  const now = Date.now();
  const presentedHash = await sha256Hex(presented);
  const found = await findRefreshToken(env.DB, presentedHash);
  // Another client's token is unknown to this one: nothing is decided or revoked for a stranger.
  if (!found || found.grant.clientId !== client.clientId) throw refused(D.refreshTokenInvalid);
  const { token, grant } = found;
  if (grant.revokedAt !== null) throw refused(D.refreshTokenRevoked);
  if (now >= grant.expiresAt) throw refused(D.refreshTokenExpired);
  if (token.usedAt !== null) {
    await endGrant(env, grant.grantId, 'reuse', now);
    throw refused(D.refreshTokenReused);
  }
  const scope = refreshedScope(grant.scope, params.get('scope') || undefined);
  const [device, identity] = await Promise.all([getDevice(env.DB, grant.deviceId), getIdentity(env.DB, grant.sub)]);
  if (!device || device.revokedAt !== null || device.sub !== grant.sub) {
    await endGrant(env, grant.grantId, 'device-revoked', now);
    throw refused(D.keyRevoked);
  }
  if (!identity) throw refused(D.personGone);

  const refreshToken = `rt_${randomToken(32)}`;
  const accessToken = `at_${randomToken(32)}`;
  const accessExpiresAt = Math.min(now + ACCESS_TOKEN_TTL_MS, grant.expiresAt);
  const rotated = await rotateRefreshToken(env.DB, {
    usedHash: presentedHash,
    grantId: grant.grantId,
    newHash: await sha256Hex(refreshToken),
    accessTokenHash: await sha256Hex(accessToken),
    accessScope: scope,
    accessExpiresAt,
    now,
  });
  if (!rotated) {
    // A concurrent exchange of the same token won: this one is a reuse.
    await endGrant(env, grant.grantId, 'reuse', now);
    throw refused(D.refreshTokenReused);
  }
  const response: RefreshResponse = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: Math.floor((accessExpiresAt - now) / 1000),
    refresh_token: refreshToken,
    scope,
  };
  if (scope.split(' ').includes('openid')) {
    const { sub: _sub, ...claims } = releasedClaims(grant.sub, identity.claims, [], grant.claims.id_token);
    response.id_token = await signIdToken(env, {
      claims,
      // The same `sub` as the first ID token (OIDC Core §12.2): the client's pairwise one where it has one.
      sub: await subjectFor(env, client, grant.sub),
      clientId: client.clientId,
      alg: client.idTokenAlg,
      authTime: grant.authTime * 1000,
      acr: grant.acr,
      amr: grant.amr,
      accessToken,
      now,
      ...(grant.nonce !== null ? { nonce: grant.nonce } : {}),
      ...(grant.sid !== null ? { sid: grant.sid } : {}),
    });
  }
  return response;
}

/**
 * RFC 7009 for our refresh tokens and the access tokens refreshes issued, presented by the
 * authenticated `clientId`: a refresh token (used or not) ends its whole grant with every access
 * token of it (§2.1); a refreshed access token ends only itself. Anything else changes nothing.
 * @returns whether the token was one of these shapes (so the caller need look no further).
 */
export async function revokeRefreshTokenOrAccess(env: Env, token: string, clientId: string): Promise<boolean> {
  if (isRefreshTokenShaped(token)) {
    const found = await findRefreshToken(env.DB, await sha256Hex(token));
    if (found && found.grant.clientId === clientId) await endGrant(env, found.grant.grantId, 'revoked', Date.now());
    return true;
  }
  if (isRefreshedAccessTokenShaped(token)) {
    await revokeRefreshedAccessToken(env.DB, await sha256Hex(token), clientId, Date.now());
    return true;
  }
  return false;
}

/** What UserInfo needs of a valid access token (the same shape the LoginSession's introspection gives). */
export interface AccessTokenInfo {
  sub: string;
  scope: string;
  clientId: string;
  deviceId: string;
  claims: string[];
}

/**
 * Validates an access token issued by a refresh (RFC 6750 §3.1). The caller checks the device.
 * @returns the token's grant data, or the reason it is refused (`invalid_token`).
 */
export async function introspectRefreshedAccessToken(db: D1Database, accessToken: string): Promise<{ ok: true; value: AccessTokenInfo } | { ok: false; description: Description }> {
  if (!isRefreshedAccessTokenShaped(accessToken)) return { ok: false, description: D.accessTokenInvalid };
  const found = await findRefreshedAccessToken(db, await sha256Hex(accessToken));
  if (!found) return { ok: false, description: D.accessTokenInvalid };
  if (found.revokedAt !== null || found.grant.revokedAt !== null) return { ok: false, description: D.accessTokenRevoked };
  if (Date.now() >= found.expiresAt) return { ok: false, description: D.accessTokenExpired };
  const { grant } = found;
  return {
    ok: true,
    value: { sub: grant.sub, scope: found.scope, clientId: grant.clientId, deviceId: grant.deviceId, claims: grant.claims.userinfo.filter((n) => REQUESTABLE_CLAIMS.has(n)) },
  };
}

/**
 * Revokes a grant and ends the access token its code's redemption issued (held by the
 * LoginSession; the later ones are refused through the grant's `revoked_at`).
 */
async function endGrant(env: Env, grantId: string, reason: RevokedReason, now: number): Promise<void> {
  const revoked = await revokeGrant(env.DB, grantId, reason, now);
  if (!revoked?.firstAccessTokenHash) return;
  try {
    await loginStub(env, revoked.loginId).revokeAccessToken({ hash: revoked.firstAccessTokenHash }, revoked.clientId);
  } catch (error) {
    // The grant is revoked; the first access token ends within its 10 minutes anyway.
    console.warn(`refresh grant ${grantId}: first access token not revoked`, error);
  }
}

