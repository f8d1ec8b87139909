/**
 * The rules of refresh tokens that need no storage (OIDC Core §11, RFC 6749 §6): when
 * `offline_access` is granted, what scope a refresh may ask for, the lifetime, the token shapes.
 * Pure functions, no Workers API; src/oidc/refresh.ts applies them.
 */
import { knownScopes, parseScope } from './claims.ts';
import type { Client } from './clients.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';
import { OAuthError } from './errors.ts';

/** The scope that asks for a refresh token (OIDC Core §11). */
export const OFFLINE_ACCESS = 'offline_access';

/** Default absolute lifetime of a grant's refresh tokens: 30 days, in seconds. */
export const DEFAULT_REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;

const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;
const REFRESHED_ACCESS_TOKEN = /^at_[A-Za-z0-9_-]{43}$/;

/** Whether a string has the shape of one of our refresh tokens (nothing about its validity). */
export const isRefreshTokenShaped = (value: string): boolean => REFRESH_TOKEN.test(value);
/** Whether a string has the shape of an access token issued by a refresh. */
export const isRefreshedAccessTokenShaped = (value: string): boolean => REFRESHED_ACCESS_TOKEN.test(value);

/**
 * The absolute lifetime of a grant, in seconds: `REFRESH_TOKEN_SECONDS` (wrangler.toml
 * `[vars]`) when it is a positive integer, else {@link DEFAULT_REFRESH_TOKEN_SECONDS}.
 */
export function refreshTokenSeconds(env: { REFRESH_TOKEN_SECONDS?: string }): number {
  const value = Number(env.REFRESH_TOKEN_SECONDS);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_REFRESH_TOKEN_SECONDS;
}

/**
 * Keeps `offline_access` in the granted scope only when OIDC Core §11 allows it: the request
 * has `prompt=consent` (so the person approves on the phone, never silently from a browser
 * session) and the client is allowed the `refresh_token` grant. Otherwise it is ignored, as
 * the spec asks, and the rest of the request goes on. Pure.
 * @param scope the known scopes, space separated.
 * @param prompt the validated `prompt` values, space separated.
 * @returns the scope to grant.
 */
export function grantableScope(scope: string, prompt: string | undefined, client: Pick<Client, 'grantTypes'>): string {
  const scopes = scope.split(' ');
  if (!scopes.includes(OFFLINE_ACCESS)) return scope;
  const allowed = (prompt ?? '').split(' ').includes('consent') && client.grantTypes.includes('refresh_token');
  return allowed ? scope : scopes.filter((s) => s !== OFFLINE_ACCESS).join(' ');
}

/**
 * The scope of a refreshed access token (RFC 6749 §6): the grant's when `requested` is absent;
 * else the requested scopes, which must all have been granted. Unknown values are ignored as at
 * the authorization endpoint (RFC 6749 §3.3). Pure.
 * @throws {OAuthError} `invalid_scope` when a requested known scope was not granted, or nothing remains.
 */
export function refreshedScope(granted: string, requested: string | undefined): string {
  if (requested === undefined) return granted;
  const grantedScopes = granted.split(' ');
  const asked = knownScopes(parseScope(requested));
  if (asked.length === 0 || asked.some((s) => !grantedScopes.includes(s))) throw new OAuthError('invalid_scope', D.scopeWidened);
  return grantedScopes.filter((s) => asked.includes(s as never)).join(' ');
}
