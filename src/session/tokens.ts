/**
 * Authorization codes and access tokens issued from one login, as the LoginSession keeps them.
 * Pure functions, no Workers API. Both secrets have the form `<login id>.<random>` so the Worker
 * routes them back to the object that issued them; the object stores only their SHA-256.
 * Times are epoch milliseconds.
 */
import { pkceMismatch } from '../oidc/pkce.ts';
import { timingSafeEqual } from './crypto.ts';
import { LOGIN_ID } from './stub.ts';
import { DESCRIPTIONS as D, type Description } from '../oidc/descriptions.ts';

/** An authorization code lives 60 s (RFC 6749 §4.1.2 recommends at most 10 minutes). */
export const CODE_TTL_MS = 60_000;
/**
 * How long after the approval the browser may still turn it into an authorization code, in
 * milliseconds (5 min). Past that the approval is stale (`auth_time` would be old, and the device
 * may since have been revoked): the person starts again.
 */
export const CODE_ISSUE_WINDOW_MS = 5 * 60_000;
/** An access token lives 10 minutes. */
export const ACCESS_TOKEN_TTL_MS = 10 * 60_000;

/** The one authorization code of a login. */
export interface CodeRecord {
  /** SHA-256 hex of the code. */
  hash: string;
  clientId: string;
  redirectUri: string;
  /** S256 challenge from the authorization request, if any. */
  codeChallenge?: string;
  issuedAt: number;
  expiresAt: number;
  /** Set once, by the successful redemption. */
  redeemedAt?: number;
}

/** The access token issued by the code's redemption. */
export interface AccessTokenRecord {
  /** SHA-256 hex of the token. */
  hash: string;
  clientId: string;
  sub: string;
  /** The device (mobile key) that approved the login; its revocation ends the token. */
  deviceId?: string;
  /** Granted scopes, space separated. */
  scope: string;
  /** Claim names the `claims` parameter asked for at UserInfo (beyond the scopes). */
  claims?: string[];
  issuedAt: number;
  expiresAt: number;
  /** Set when a replayed code revoked it (RFC 6749 §4.1.2). */
  revokedAt?: number;
}

/** What the token endpoint presents, already hashed (so the object awaits nothing but storage). */
export interface Redemption {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  /** `s256(code_verifier)` when the request carried one. */
  verifierS256?: string;
}

export type CodeCheck = { ok: true } | { ok: false; description: Description; replay: boolean };

/**
 * Splits a code or access token into the login id that routes it and checks its shape.
 * @returns the login id, or null for anything not shaped `<64 hex>.<base64url>`.
 */
export function loginIdOf(secret: string): string | null {
  const match = /^([0-9a-f]{64})\.[A-Za-z0-9_-]{16,128}$/.exec(secret);
  return match && LOGIN_ID.test(match[1]!) ? match[1]! : null;
}

/**
 * Checks a redemption against the stored code (RFC 6749 §4.1.3, RFC 7636 §4.6), in order:
 * the code exists and was issued to this (already authenticated) client — a code presented by
 * any other client is simply unknown to it, so a stranger's replay decides nothing and revokes
 * nothing —, has not been redeemed (a replay by its own client: the caller revokes what the
 * first redemption issued, RFC 6749 §4.1.2), has not expired, and is bound to this redirect_uri
 * and this code_verifier. Every refusal is `invalid_grant`.
 * @param now epoch milliseconds.
 */
export function checkCode(code: CodeRecord | undefined, input: Redemption, now: number): CodeCheck {
  const refuse = (description: Description, replay = false): CodeCheck => ({ ok: false, description, replay });
  if (!code || !timingSafeEqual(code.hash, input.codeHash)) return refuse(D.codeInvalid);
  if (code.clientId !== input.clientId) return refuse(D.codeInvalid);
  if (code.redeemedAt !== undefined) return refuse(D.codeUsed, true);
  if (now >= code.expiresAt) return refuse(D.codeExpired);
  if (code.redirectUri !== input.redirectUri) return refuse(D.codeRedirectUri);
  const pkce = pkceMismatch(code.codeChallenge, input.verifierS256);
  return pkce ? refuse(pkce) : { ok: true };
}

/**
 * Checks a presented access token (its SHA-256) against the stored one.
 * @returns null when usable, else why not (for `invalid_token`, RFC 6750 §3.1).
 */
export function checkAccessToken(token: AccessTokenRecord | undefined, hash: string, now: number): Description | null {
  if (!token || !timingSafeEqual(token.hash, hash)) return D.accessTokenInvalid;
  if (token.revokedAt !== undefined) return D.accessTokenRevoked;
  if (now >= token.expiresAt) return D.accessTokenExpired;
  return null;
}
