/**
 * Back-Channel Logout 1.0 delivery. CONTRACT between the logout area (which implements it) and
 * the `BrowserSession` Durable Object (which calls it when a session ends and retries from its
 * alarm). The stub below is replaced by the real implementation; keep the signatures.
 */

/** One logout token to deliver: to this client, for this session. */
export interface LogoutDelivery {
  clientId: string;
  /** The `sub` this client knows. */
  sub: string;
  /** The session's `sid`. */
  sid: string;
}

/**
 * `delivered` (2xx), `retry` (network error, 5xx, 408, 429: try again later),
 * `not-registered` (the client has no backchannel_logout_uri: nothing to do),
 * `refused` (any other answer: the receiver rejected it; not retried).
 */
export type DeliveryOutcome = 'delivered' | 'retry' | 'not-registered' | 'refused';

/**
 * Signs a logout token (Back-Channel Logout 1.0 §2.4) for the delivery and POSTs it to the
 * client's registered `backchannel_logout_uri` (§2.5). Never throws: failures are outcomes.
 */
export async function deliverBackchannelLogout(_env: Env, _delivery: LogoutDelivery): Promise<DeliveryOutcome> {
  return 'not-registered';
}

/**
 * The wait before retry number `attempt` (1 = first retry), in milliseconds, or null when the
 * delivery should be given up (bounded total time; each give-up is logged by the caller).
 */
export function nextRetryDelayMs(attempt: number): number | null {
  return attempt <= 6 ? Math.min(60_000 * 2 ** (attempt - 1), 30 * 60_000) : null;
}
