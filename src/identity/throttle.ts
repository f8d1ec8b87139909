/**
 * Fixed-window throttling of guessable inputs (activation codes) in D1. Only failures are
 * counted, so a person who types their code right is never slowed down: each attempt is counted
 * before its guess is checked (so parallel guesses cannot all slip past the check) and given
 * back when it succeeds.
 */
import { addressKey } from '../http/address.ts';
import { normaliseActivationCode } from './activation.ts';

export interface ThrottleRule {
  /** Failures allowed per window. */
  limit: number;
  /** Window length in milliseconds. */
  windowMs: number;
}

/**
 * Activation code guesses: 5 failures per 15 minutes per address (IPv6 per /64) *and code
 * prefix* ({@link enrolThrottleKey}). Why per prefix (docs/security.md, "Brute-force login"):
 * a plain per-address count let ten wrong codes from a shared address (an office NAT, a
 * library) lock the rightful person out; now a guesser fills only the buckets of the prefixes
 * it tries, and the person's own code is refused only if its first two characters were guessed
 * wrong five times. Guessing stays slow: 1,024 prefixes × 5 = 5,120 guesses per 15 minutes per
 * address, against 80-bit codes (each guess hits one of even 2^20 live codes with p ≤ 2^-60).
 */
export const ENROL_THROTTLE: ThrottleRule = { limit: 5, windowMs: 15 * 60 * 1000 };

/** Characters of the normalised code that name its throttle bucket (2 × 5 bits: 1,024 buckets). */
export const ENROL_PREFIX_LENGTH = 2;

/**
 * The throttle key of one enrolment attempt: `enrol:<address key>:<first 2 code characters>`,
 * or `…:malformed` for input that is not a code at all.
 * @param address the client address (`CF-Connecting-IP` or `local`); IPv6 is counted per /64.
 * @param typedCode the activation code as typed.
 */
export function enrolThrottleKey(address: string, typedCode: unknown): string {
  const code = typeof typedCode === 'string' ? normaliseActivationCode(typedCode) : null;
  return `enrol:${addressKey(address)}:${code ? code.slice(0, ENROL_PREFIX_LENGTH) : 'malformed'}`;
}

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
