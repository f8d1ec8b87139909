/**
 * Console sessions (the first-party session store of src/first-party/sessions.ts, table
 * `console_sessions`). The expiry slides: each use moves it to now + the idle timeout
 * (`CONSOLE_IDLE_SECONDS`, default 15 minutes), never past 8 hours after the login. The
 * operator's role is read from `operators` on every request, so revoking a role takes effect at once.
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
/** The default idle timeout: a console session unused this long ends, in seconds. */
export const DEFAULT_IDLE_SECONDS = 15 * 60;

/**
 * The idle timeout from the `CONSOLE_IDLE_SECONDS` var (whole seconds, at least 60), else
 * {@link DEFAULT_IDLE_SECONDS}; never above {@link SESSION_TTL_SECONDS}.
 * @returns SECONDS.
 */
export function consoleIdleSeconds(vars: { CONSOLE_IDLE_SECONDS?: string }): number {
  const raw = vars.CONSOLE_IDLE_SECONDS;
  const value = raw !== undefined && /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(value) && value >= 60 ? Math.min(value, SESSION_TTL_SECONDS) : DEFAULT_IDLE_SECONDS;
}

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
 * @param authTime epoch milliseconds. @param now epoch milliseconds. @param idleSeconds SECONDS.
 * @returns the cookie value (shown to the browser only) and the session's CSRF token.
 */
export function createSession(
  db: D1Database,
  sub: string,
  authTime: number,
  now = Date.now(),
  idleSeconds = DEFAULT_IDLE_SECONDS,
): Promise<{ token: string; csrf: string }> {
  return store.create(db, sub, authTime, now, idleSeconds);
}

/**
 * The live session of a cookie value with the operator's current role, or null (unknown,
 * expired — idle or past 8 hours — or no role).
 * @param now epoch milliseconds.
 * @param touch.idleSeconds when given, this is a use: the expiry moves to now + idleSeconds
 *   (capped at 8 hours after the login). Background requests (the figures' refresh) pass none,
 *   so an open page alone does not keep a session alive.
 */
export async function loadSession(
  db: D1Database,
  token: string | undefined,
  now = Date.now(),
  touch?: { idleSeconds: number },
): Promise<ConsoleSession | null> {
  const session = await store.load(db, token, now, touch);
  if (!session) return null;
  const role = await roleOf(db, session.sub);
  return role ? { ...session, role } : null;
}

/** Ends a session (logout). */
export function endSession(db: D1Database, token: string): Promise<void> {
  return store.end(db, token);
}
