/**
 * PKCE (RFC 7636), S256 only. Pure functions over Web Crypto.
 */
import { base64urlEncode } from '../mobile/protocol.ts';
import { DESCRIPTIONS as D, type Description } from './descriptions.ts';

/** A code_verifier: 43–128 unreserved characters (RFC 7636 §4.1). */
export const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** An S256 code_challenge: base64url of a SHA-256 digest, 43 characters (RFC 7636 §4.2). */
export const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2). */
export async function s256(codeVerifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(codeVerifier));
  return base64urlEncode(new Uint8Array(digest));
}

/**
 * Checks a token request's code_verifier against the code's code_challenge (RFC 7636 §4.6).
 * A verifier for a code issued without a challenge is refused: accepting it would let an
 * attacker strip PKCE from the authorization request (downgrade, RFC 9700 §2.1.1).
 * @param challenge the S256 challenge bound to the code, if any.
 * @param verifierS256 `s256(code_verifier)` of the token request, if it sent one.
 * @returns null when they agree, else why not (for `invalid_grant`).
 */
export function pkceMismatch(challenge: string | undefined, verifierS256: string | undefined): Description | null {
  if (challenge === undefined && verifierS256 === undefined) return null;
  if (challenge === undefined) return D.verifierUnexpected;
  if (verifierS256 === undefined) return D.verifierRequired;
  return challenge === verifierS256 ? null : D.verifierMismatch;
}
