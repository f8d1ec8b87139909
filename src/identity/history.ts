/**
 * The login history of an identity in D1 (`login_history`, migrations/0008_account.sql): every
 * login made in the person's name — approved or denied on the phone, or answered from a
 * single-sign-on session — with the service, the key, the browser (parsed) and the place.
 *
 * Retention: {@link HISTORY_RETENTION_MS} (one year). Every write carries a delete of up to
 * {@link PRUNE_BATCH} expired rows (oldest first, by the `at` index) in the same D1 batch, so the
 * table cleans itself as logins happen; reads never return an expired row, even before it is deleted.
 */
import type { Requester } from '../session/types.ts';
import { safeRequester } from '../http/names.ts';

/** How long a login stays in the history: 365 days, in MILLISECONDS. */
export const HISTORY_RETENTION_MS = 365 * 24 * 3600 * 1000;
/** At most this many expired rows are deleted per write (bounded work on the login path). */
export const PRUNE_BATCH = 200;

export type LoginOutcome = 'approved' | 'denied';
/** `key`: decided on the phone; `sso`: answered from the browser's single-sign-on session. */
export type LoginMethod = 'key' | 'sso';

export interface HistoryInput {
  sub: string;
  clientId: string;
  clientName: string;
  deviceId: string | null;
  outcome: LoginOutcome;
  method: LoginMethod;
  requester: Requester;
}

export interface HistoryEntry {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  clientId: string;
  clientName: string;
  deviceId: string | null;
  /** The key's current name (it may have been renamed or disconnected since), or null. */
  deviceName: string | null;
  outcome: LoginOutcome;
  method: LoginMethod;
  requester: Requester;
}

/**
 * The statements that record one login and prune expired rows, for a `db.batch` on the path
 * that decides the login (so recording costs no extra round trip).
 * @param at epoch milliseconds.
 */
export function historyStatements(db: D1Database, input: HistoryInput, at = Date.now()): D1PreparedStatement[] {
  const r = safeRequester(input.requester);
  return [
    db
      .prepare(
        `INSERT INTO login_history (sub, at, client_id, client_name, device_id, outcome, method, browser, os, country, city)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
      )
      .bind(input.sub, at, input.clientId, input.clientName, input.deviceId, input.outcome, input.method,
        r.browser ?? null, r.os ?? null, r.country ?? null, r.city ?? null),
    pruneStatement(db, at),
  ];
}

/** Deletes up to {@link PRUNE_BATCH} rows older than the retention period. @param now epoch ms. */
export function pruneStatement(db: D1Database, now = Date.now()): D1PreparedStatement {
  return db
    .prepare('DELETE FROM login_history WHERE id IN (SELECT id FROM login_history WHERE at < ?1 ORDER BY at LIMIT ?2)')
    .bind(now - HISTORY_RETENTION_MS, PRUNE_BATCH);
}

/** Records one login (and prunes). @param at epoch milliseconds. */
export async function recordLogin(db: D1Database, input: HistoryInput, at = Date.now()): Promise<void> {
  await db.batch(historyStatements(db, input, at));
}

interface HistoryRow {
  id: number;
  at: number;
  client_id: string;
  client_name: string;
  device_id: string | null;
  device_name: string | null;
  outcome: LoginOutcome;
  method: LoginMethod;
  browser: string | null;
  os: string | null;
  country: string | null;
  city: string | null;
}

/**
 * A page of an identity's history, newest first, within the retention period.
 * @param options.before only entries with a smaller id (the previous page's `next`).
 * @param options.limit page size, 1..100 (default 20).
 * @param now epoch milliseconds.
 * @returns the entries and the cursor of the next (older) page, if there is one.
 */
export async function listHistory(
  db: D1Database,
  sub: string,
  options: { before?: number; limit?: number } = {},
  now = Date.now(),
): Promise<{ entries: HistoryEntry[]; next?: number }> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 20), 1), 100);
  const { results } = await db
    .prepare(
      `SELECT h.id, h.at, h.client_id, h.client_name, h.device_id, d.name AS device_name, h.outcome, h.method,
              h.browser, h.os, h.country, h.city
       FROM login_history h LEFT JOIN devices d ON d.id = h.device_id AND d.sub = h.sub
       WHERE h.sub = ?1 AND h.at >= ?2 AND h.id < ?3 ORDER BY h.id DESC LIMIT ?4`,
    )
    .bind(sub, now - HISTORY_RETENTION_MS, options.before ?? Number.MAX_SAFE_INTEGER, limit + 1)
    .all<HistoryRow>();
  const entries = results.slice(0, limit).map((row) => ({
    id: row.id,
    at: row.at,
    clientId: row.client_id,
    clientName: row.client_name,
    deviceId: row.device_id,
    deviceName: row.device_name,
    outcome: row.outcome,
    method: row.method,
    requester: safeRequester({ browser: row.browser ?? undefined, os: row.os ?? undefined, country: row.country ?? undefined, city: row.city ?? undefined }),
  }));
  return results.length > limit ? { entries, next: entries[entries.length - 1]!.id } : { entries };
}

/**
 * Where each of an identity's keys was last used: the place of its newest history entry.
 * @returns device id → the parsed place (country, city), for keys that have one.
 */
export async function lastPlaces(db: D1Database, sub: string, now = Date.now()): Promise<Map<string, Requester>> {
  const { results } = await db
    .prepare(
      `SELECT device_id, country, city FROM login_history WHERE id IN (
         SELECT MAX(id) FROM login_history WHERE sub = ?1 AND at >= ?2 AND device_id IS NOT NULL AND method = 'key' GROUP BY device_id)`,
    )
    .bind(sub, now - HISTORY_RETENTION_MS)
    .all<{ device_id: string; country: string | null; city: string | null }>();
  return new Map(results.map((row) => [row.device_id, safeRequester({ country: row.country ?? undefined, city: row.city ?? undefined })]));
}
