/**
 * Console sessions (the first-party session store of src/first-party/sessions.ts, table
 * `console_sessions`) with the operator's role read from `operators` on every request, so
 * revoking a role takes effect at once.
 */
import type { FirstPartyClient } from '../first-party/rp.ts';
import { sessionStore } from '../first-party/sessions.ts';
import { roleOf, type Role } from './operators.ts';

/** The console's own OAuth client at our OpenID Provider (public, PKCE; seeded by `npm start`). */
export const CONSOLE_CLIENT_ID = 'console';
/** The session cookie's name without its `__Host-` prefix (Hono adds it: `prefix: 'host'`). */
export const SESSION_COOKIE = 'mk_console';
/** The login-in-progress cookie (state, nonce, PKCE verifier), also `__Host-`. */
export const FLOW_COOKIE = 'mk_console_flow';
/** A console session lasts at most 8 hours (a working day), in seconds. */
export const SESSION_TTL_SECONDS = 8 * 3600;

/** How the console logs in: `max_age=0`, so every login is a fresh approval on the phone. */
export const CONSOLE_CLIENT: FirstPartyClient = {
  clientId: CONSOLE_CLIENT_ID,
  callbackPath: '/console/callback',
  scope: 'openid profile',
  maxAge: 0,
  freshSeconds: 300,
  flowCookie: FLOW_COOKIE,
};

export interface ConsoleSession {
  sub: string;
  role: Role;
  csrf: string;
  /** When the operator approved with their key, epoch milliseconds. */
  authTime: number;
}

const store = sessionStore('console_sessions', SESSION_TTL_SECONDS);

/**
 * Starts a session for an operator.
 * @param authTime epoch milliseconds. @param now epoch milliseconds.
 * @returns the cookie value (shown to the browser only) and the session's CSRF token.
 */
export function createSession(db: D1Database, sub: string, authTime: number, now = Date.now()): Promise<{ token: string; csrf: string }> {
  return store.create(db, sub, authTime, now);
}

/** The live session of a cookie value with the operator's current role, or null (unknown, expired, no role). */
export async function loadSession(db: D1Database, token: string | undefined, now = Date.now()): Promise<ConsoleSession | null> {
  const session = await store.load(db, token, now);
  if (!session) return null;
  const role = await roleOf(db, session.sub);
  return role ? { ...session, role } : null;
}

/** Ends a session (logout). */
export function endSession(db: D1Database, token: string): Promise<void> {
  return store.end(db, token);
}
