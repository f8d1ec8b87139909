/**
 * The account's sessions and how it logs in: a first-party relying service (src/first-party/)
 * with the public client `account`, PKCE and `max_age=300` — every change needs an approval
 * with the key within the last 5 minutes ({@link FRESH_SECONDS}). It asks only for `openid`
 * (the account reads the person's name from D1 itself), so logging in to it never needs consent.
 */
import type { FirstPartyClient } from '../first-party/rp.ts';
import { sessionStore } from '../first-party/sessions.ts';

/** The account's own OAuth client at our OpenID Provider (public, PKCE; seeded by `npm start`). */
export const ACCOUNT_CLIENT_ID = 'account';
/** The session cookie's name without its `__Host-` prefix. */
export const ACCOUNT_COOKIE = 'mk_account';
/** An account session lasts at most 1 hour, in SECONDS. */
export const ACCOUNT_SESSION_TTL_SECONDS = 3600;
/** How old an approval may be for a change (rename, disconnect, withdraw), in SECONDS. */
export const FRESH_SECONDS = 300;

export const ACCOUNT_CLIENT: FirstPartyClient = {
  clientId: ACCOUNT_CLIENT_ID,
  callbackPath: '/account/callback',
  scope: 'openid',
  maxAge: FRESH_SECONDS,
  freshSeconds: FRESH_SECONDS,
  flowCookie: 'mk_account_flow',
};

/** The account's session store (`account_sessions`, migrations/0008_account.sql). */
export const accountSessions = sessionStore('account_sessions', ACCOUNT_SESSION_TTL_SECONDS);

/** Whether an approval at `authTime` (epoch ms) still allows changes at `now` (epoch ms). */
export function isFresh(authTime: number, now = Date.now()): boolean {
  return now - authTime <= FRESH_SECONDS * 1000;
}
