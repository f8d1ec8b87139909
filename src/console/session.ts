/**
 * Console sessions: an opaque random token in the `__Host-mk_console` cookie (HttpOnly, Secure,
 * Path=/, SameSite=Lax), stored in D1 only as its SHA-256 hex with the operator's `sub`, the
 * session's CSRF token and its expiry. The expiry slides: each use moves it to now + the idle
 * timeout (`CONSOLE_IDLE_SECONDS`, default 15 minutes), never past 8 hours after the login. The
 * role is read from `operators` on every request, so revoking a role takes effect at once.
 */
import { randomToken, sha256Hex } from '../session/crypto.ts';
import { isRole, type Role } from './operators.ts';

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

export interface ConsoleSession {
  sub: string;
  role: Role;
  csrf: string;
  /** When the operator approved with their key, epoch milliseconds. */
  authTime: number;
}

/**
 * Starts a session for an operator.
 * @param authTime epoch milliseconds. @param now epoch milliseconds. @param idleSeconds SECONDS.
 * @returns the cookie value (shown to the browser only) and the session's CSRF token.
 */
export async function createSession(
  db: D1Database,
  sub: string,
  authTime: number,
  now = Date.now(),
  idleSeconds = DEFAULT_IDLE_SECONDS,
): Promise<{ token: string; csrf: string }> {
  const token = randomToken(32);
  const csrf = randomToken(32);
  await db.batch([
    db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?1').bind(now),
    db
      .prepare('INSERT INTO console_sessions (token_hash, sub, csrf, auth_time, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)')
      .bind(await sha256Hex(token), sub, csrf, authTime, now, now + Math.min(idleSeconds, SESSION_TTL_SECONDS) * 1000),
  ]);
  return { token, csrf };
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
  if (!token || token.length > 100) return null;
  const row = await db
    .prepare(
      `SELECT s.sub, s.csrf, s.auth_time, o.role FROM console_sessions s JOIN operators o ON o.sub = s.sub
       WHERE s.token_hash = ?1 AND s.expires_at > ?2`,
    )
    .bind(await sha256Hex(token), now)
    .first<{ sub: string; csrf: string; auth_time: number; role: string }>();
  if (!row || !isRole(row.role)) return null;
  if (touch) {
    await db
      .prepare('UPDATE console_sessions SET expires_at = min(?2, created_at + ?3) WHERE token_hash = ?1')
      .bind(await sha256Hex(token), now + touch.idleSeconds * 1000, SESSION_TTL_SECONDS * 1000)
      .run();
  }
  return { sub: row.sub, role: row.role, csrf: row.csrf, authTime: row.auth_time };
}

/** Ends a session (logout). */
export async function endSession(db: D1Database, token: string): Promise<void> {
  await db.prepare('DELETE FROM console_sessions WHERE token_hash = ?1').bind(await sha256Hex(token)).run();
}
