/**
 * Fixed-window throttling of guessable inputs (activation codes) in D1, keyed by client address.
 * Only failures are counted, so a person who types their code right is never slowed down: each
 * attempt is counted before its guess is checked (so parallel guesses cannot all slip past the
 * check) and given back when it succeeds.
 */

export interface ThrottleRule {
  /** Failures allowed per window. */
  limit: number;
  /** Window length in milliseconds. */
  windowMs: number;
}

/** Activation code guesses: 10 failures per address per 15 minutes. */
export const ENROL_THROTTLE: ThrottleRule = { limit: 10, windowMs: 15 * 60 * 1000 };

/**
 * Whether `key` may try again now.
 * @param now epoch milliseconds.
 * @returns `retryAfterSeconds` (whole seconds, ≥ 1) when the window's failures reached the limit.
 */
export async function checkThrottle(
  db: D1Database,
  key: string,
  rule: ThrottleRule,
  now = Date.now(),
): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
  const row = await db
    .prepare('SELECT window_start, count FROM throttle WHERE key = ?1')
    .bind(key)
    .first<{ window_start: number; count: number }>();
  if (!row || row.window_start + rule.windowMs <= now || row.count < rule.limit) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((row.window_start + rule.windowMs - now) / 1000)) };
}

/**
 * Counts one failure for `key` atomically (a single upsert), starting a new window when the
 * current one is over.
 * @param now epoch milliseconds.
 * @returns the failures counted in the current window, this one included.
 */
export async function recordFailure(db: D1Database, key: string, rule: ThrottleRule, now = Date.now()): Promise<number> {
  const row = await db
    .prepare(
      `INSERT INTO throttle (key, window_start, count) VALUES (?1, ?2, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_start + ?3 <= ?2 THEN 1 ELSE count + 1 END,
         window_start = CASE WHEN window_start + ?3 <= ?2 THEN ?2 ELSE window_start END
       RETURNING count`,
    )
    .bind(key, now, rule.windowMs)
    .first<{ count: number }>();
  return row?.count ?? 1;
}

/**
 * Gives back one counted attempt (a reservation that turned out to be a success), never below 0.
 * With {@link recordFailure} called *before* the guess is checked, parallel guesses each take a
 * place atomically, so no more than `limit` of them are ever checked in a window.
 */
export async function releaseAttempt(db: D1Database, key: string): Promise<void> {
  await db.prepare('UPDATE throttle SET count = MAX(count - 1, 0) WHERE key = ?1').bind(key).run();
}

/**
 * The address to throttle by: Cloudflare's `CF-Connecting-IP`, or `local` when absent
 * (under `wrangler dev` without a proxy every caller is the same local person).
 */
export function clientAddress(request: Request): string {
  return request.headers.get('CF-Connecting-IP') ?? 'local';
}
