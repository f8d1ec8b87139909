/**
 * Back-Channel Logout 1.0 delivery. CONTRACT between the logout area (which implements it) and
 * the `BrowserSession` Durable Object (which calls it when a session ends and retries from its
 * alarm): keep the signatures of {@link deliverBackchannelLogout} and {@link nextRetryDelayMs}.
 */
import { SignJWT } from 'jose';
import { randomToken } from '../session/crypto.ts';
import { getClient, type IdTokenAlg } from './clients.ts';
import { signingKey } from './keys.ts';

/** One logout token to deliver: to this client, for this session. */
export interface LogoutDelivery {
  clientId: string;
  /** The `sub` this client knows (a pairwise client's own, as its ID token carried it). */
  sub: string;
  /** The session's `sid`. */
  sid: string;
}

/**
 * `delivered` (2xx), `retry` (network error, timeout, 5xx, 408, 429: try again later),
 * `not-registered` (the client has no backchannel_logout_uri, or no longer exists: nothing to do),
 * `refused` (any other answer, redirects included: the receiver rejected it; not retried).
 */
export type DeliveryOutcome = 'delivered' | 'retry' | 'not-registered' | 'refused';

/** The one event member of a logout token (Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Logout tokens are valid for 2 minutes (seconds): long enough for clock skew, short for replay. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

/** How long one delivery attempt may take before it counts as a failure to retry, in milliseconds. */
export const DELIVERY_TIMEOUT_MS = 5_000;

/**
 * Signs a logout token (Back-Channel Logout 1.0 §2.4): `iss`, `aud` (the client), `iat`, `exp`,
 * `jti`, `sub`, `sid` and `events` with exactly the back-channel member; never a `nonce` (§2.4
 * forbids it, so an RP cannot mistake it for an ID token); header `typ: logout+jwt` (§2.4,
 * RFC 8725 §3.11). Signed like the client's ID tokens, with the same keys (src/oidc/keys.ts).
 * @param input.now epoch milliseconds (default now).
 * @returns the compact JWS.
 * @throws {Error} when no signing key of `alg` is configured (a deployment error).
 */
export async function signLogoutToken(
  env: Env,
  input: { clientId: string; alg: IdTokenAlg; sub: string; sid: string; now?: number },
): Promise<string> {
  const key = await signingKey(env, input.alg);
  const iat = Math.floor((input.now ?? Date.now()) / 1000);
  return new SignJWT({ sid: input.sid, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'logout+jwt' })
    .setIssuer(env.ISSUER)
    .setSubject(input.sub)
    .setAudience(input.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + LOGOUT_TOKEN_TTL_SECONDS)
    .setJti(randomToken(16))
    .sign(key.key);
}

/**
 * What an HTTP status from a back-channel receiver means (Back-Channel Logout 1.0 §2.8: 200 or
 * 204 on success, 400 when the RP refuses; 5xx, 408 and 429 are passing trouble worth a retry).
 */
export function outcomeOfStatus(status: number): 'delivered' | 'retry' | 'refused' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || status === 408 || status === 429) return 'retry';
  return 'refused';
}

/**
 * Signs a logout token (Back-Channel Logout 1.0 §2.4) for the delivery and POSTs it to the
 * client's registered `backchannel_logout_uri` as `application/x-www-form-urlencoded`
 * `logout_token=…` (§2.5), giving up the attempt after {@link DELIVERY_TIMEOUT_MS}. Redirects are
 * not followed. Never throws: failures are outcomes, each logged (never the token itself).
 */
export async function deliverBackchannelLogout(env: Env, delivery: LogoutDelivery): Promise<DeliveryOutcome> {
  const where = `back-channel logout to ${delivery.clientId}`;
  let uri: string;
  let logoutToken: string;
  try {
    const client = await getClient(env.DB, delivery.clientId);
    if (!client?.backchannelLogoutUri) return 'not-registered';
    uri = client.backchannelLogoutUri;
    logoutToken = await signLogoutToken(env, { clientId: client.clientId, alg: client.idTokenAlg, sub: delivery.sub, sid: delivery.sid });
  } catch (error) {
    console.error(`${where}: cannot prepare the logout token`, error);
    return 'retry';
  }
  let response: Response;
  try {
    response = await fetch(uri, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: '*/*' },
      body: new URLSearchParams({ logout_token: logoutToken }),
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    console.warn(`${where} failed: ${error instanceof Error ? error.name : 'network error'}`);
    return 'retry';
  }
  await response.body?.cancel().catch(() => undefined);
  const outcome = outcomeOfStatus(response.status);
  if (outcome !== 'delivered') console.warn(`${where}: HTTP ${response.status} (${outcome})`);
  return outcome;
}

/**
 * The wait before retry number `attempt` (1 = first retry), in milliseconds, or null when the
 * delivery should be given up (bounded total time; each give-up is logged by the caller).
 * 1, 2, 4, 8, 16 and 30 minutes: six retries over about an hour.
 */
export function nextRetryDelayMs(attempt: number): number | null {
  return attempt >= 1 && attempt <= 6 ? Math.min(60_000 * 2 ** (attempt - 1), 30 * 60_000) : null;
}
