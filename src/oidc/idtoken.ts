/**
 * The ID token (OIDC Core §2, §3.1.3.6), signed with `jose`.
 */
import { SignJWT } from 'jose';
import { base64urlEncode } from '../mobile/protocol.ts';
import { ACR_SUBSTANTIAL, AMR } from './claims.ts';
import type { IdTokenAlg } from './clients.ts';
import { signingKey } from './keys.ts';

/** ID tokens are valid for 10 minutes (seconds). */
export const ID_TOKEN_TTL_SECONDS = 600;

/**
 * `at_hash`: base64url of the left half of the SHA-256 of the access token's ASCII octets
 * (OIDC Core §3.1.3.6; SHA-256 because both RS256 and ES256 use it).
 */
export async function atHash(accessToken: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  return base64urlEncode(digest.slice(0, digest.length / 2));
}

/**
 * Signs an ID token for a redeemed code or a refresh (OIDC Core §12.2: same claims, a new `iat`).
 * @param input.authTime when the person approved, epoch **milliseconds** (written in seconds).
 * @param input.now epoch milliseconds.
 * @param input.sid the browser session's id, when the code was issued in one (Front-/Back-Channel
 *   Logout 1.0 §3 / §2.1: the `sid` claim).
 * @returns the compact JWS, with `kid` in its header.
 */
export async function signIdToken(
  env: Env,
  input: {
    sub: string;
    clientId: string;
    alg: IdTokenAlg;
    authTime: number;
    nonce?: string;
    sid?: string;
    accessToken: string;
    now?: number;
    /** Identity claims the `claims` parameter asked for in the ID token (OIDC Core §5.5), already selected. */
    claims?: Record<string, unknown>;
    /** The approval's level and methods, when repeated from an earlier one (a refresh); else a login's. */
    acr?: string;
    amr?: readonly string[];
  },
): Promise<string> {
  const key = await signingKey(env, input.alg);
  const iat = Math.floor((input.now ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = {
    ...input.claims,
    auth_time: Math.floor(input.authTime / 1000),
    acr: input.acr ?? ACR_SUBSTANTIAL,
    amr: [...(input.amr ?? AMR)],
    at_hash: await atHash(input.accessToken),
  };
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  if (input.sid !== undefined) claims.sid = input.sid;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(env.ISSUER)
    .setSubject(input.sub)
    .setAudience(input.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ID_TOKEN_TTL_SECONDS)
    .sign(key.key);
}
