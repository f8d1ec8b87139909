/**
 * The browser session (single sign-on) as the rest of the Worker sees it. CONTRACT between the
 * browser-session area (which implements it: one `BrowserSession` Durable Object per session,
 * named by a `__Host-` cookie) and its users (the authorization endpoint, logout endpoints).
 * The stub below is replaced by the real implementation; keep the signatures.
 */
import type { Context } from 'hono';

/** One browser session, as its Durable Object holds it. */
export interface BrowserSessionView {
  /** The session id relying services know (`sid` in ID and logout tokens); not the object id. */
  sid: string;
  /** The identity logged in (the `sub` every client of ours sees). */
  sub: string;
  /** When the person last approved with a mobile key, epoch SECONDS (`auth_time`). */
  authTime: number;
  acr: string;
  amr: string[];
  /** The device (mobile key) that approved. */
  deviceId: string;
  /** Every client_id that received tokens in this session. */
  clients: string[];
}

/** Why a session ended. */
export type EndReason = 'logout' | 'idle' | 'absolute' | 'device-revoked' | 'operator' | 'replaced';

/**
 * The valid browser session named by the request's cookie.
 * @returns null when there is no cookie, or it names an unknown or ended session.
 */
export async function currentBrowserSession(_c: Context<{ Bindings: Env }>): Promise<BrowserSessionView | null> {
  return null;
}

/**
 * Ends the browser session named by the request's cookie (idempotent: a second call returns
 * null), clears the cookie on the response, and starts back-channel logout delivery to every
 * client of the session from the session object's alarm.
 * @returns the session as it was when it ended (for front-channel iframes), or null if none.
 */
export async function endBrowserSession(_c: Context<{ Bindings: Env }>, _reason: EndReason): Promise<BrowserSessionView | null> {
  return null;
}
