/**
 * Sessions of our first-party relying services (the operator console, the person's account):
 * an opaque random token in a `__Host-` cookie (HttpOnly, Secure, Path=/, SameSite=Lax), stored
 * in D1 only as its SHA-256 hex with the person's `sub`, the session's CSRF token, when they
 * approved (`auth_time`) and an expiry: absolute, or sliding by an idle timeout that never
 * passes the absolute one (the console's `CONSOLE_IDLE_SECONDS`). Each service has its own table of the same
 * shape (`console_sessions` in migrations/0004, `account_sessions` in migrations/0008).
 */
import { randomToken, sha256Hex } from '../session/crypto.ts';

/** The D1 tables holding first-party sessions (a fixed list: table names cannot be bound). */
export type SessionTable = 'console_sessions' | 'account_sessions';

/** A live first-party session. */
export interface FirstPartySession {
  sub: string;
  csrf: string;
  /** When the person approved with their key, epoch milliseconds. */
  authTime: number;
}

/** Create, load and end the sessions of one table. */
export interface SessionStore {
  /**
   * Starts a session (and deletes the table's expired ones in the same batch).
   * @param authTime epoch milliseconds. @param now epoch milliseconds.
   * @param idleSeconds SECONDS: the session first expires this long from now (capped at the
   *   store's absolute lifetime); absent, it lives the whole absolute lifetime.
   * @returns the cookie value (shown to the browser only) and the session's CSRF token.
   */
  create(db: D1Database, sub: string, authTime: number, now?: number, idleSeconds?: number): Promise<{ token: string; csrf: string }>;
  /**
   * The live session of a cookie value, or null (absent, oversized, unknown, expired).
   * @param now epoch ms.
   * @param touch.idleSeconds when given, this is a use: the expiry moves to now + idleSeconds,
   *   never past the absolute lifetime from the session's start.
   */
  load(db: D1Database, token: string | undefined, now?: number, touch?: { idleSeconds: number }): Promise<FirstPartySession | null>;
  /** Ends the session of a cookie value (logout); unknown values change nothing. */
  end(db: D1Database, token: string): Promise<void>;
}

/**
 * The session store of one first-party service.
 * @param ttlSeconds how long a session lives from its start, in SECONDS.
 */
export function sessionStore(table: SessionTable, ttlSeconds: number): SessionStore {
  return {
    async create(db, sub, authTime, now = Date.now(), idleSeconds = ttlSeconds) {
      const token = randomToken(32);
      const csrf = randomToken(32);
      await db.batch([
        db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?1`).bind(now),
        db
          .prepare(`INSERT INTO ${table} (token_hash, sub, csrf, auth_time, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`)
          .bind(await sha256Hex(token), sub, csrf, authTime, now, now + Math.min(idleSeconds, ttlSeconds) * 1000),
      ]);
      return { token, csrf };
    },
    async load(db, token, now = Date.now(), touch) {
      if (!token || token.length > 100) return null;
      const hash = await sha256Hex(token);
      const row = await db
        .prepare(`SELECT sub, csrf, auth_time FROM ${table} WHERE token_hash = ?1 AND expires_at > ?2`)
        .bind(hash, now)
        .first<{ sub: string; csrf: string; auth_time: number }>();
      if (!row) return null;
      if (touch) {
        await db
          .prepare(`UPDATE ${table} SET expires_at = min(?2, created_at + ?3) WHERE token_hash = ?1`)
          .bind(hash, now + touch.idleSeconds * 1000, ttlSeconds * 1000)
          .run();
      }
      return { sub: row.sub, csrf: row.csrf, authTime: row.auth_time };
    },
    async end(db, token) {
      await db.prepare(`DELETE FROM ${table} WHERE token_hash = ?1`).bind(await sha256Hex(token)).run();
    },
  };
}
