/**
 * Live figures for the console, read from the product's own D1 audit events (so they work under
 * `wrangler dev` too): logins started, approved, denied and expired in a window, and the median
 * time from the login page's start to approval.
 */

export interface Figures {
  started: number;
  approved: number;
  denied: number;
  expired: number;
  /** Median milliseconds from `login.started` to `login.approved`, or null without approvals. */
  medianApprovalMs: number | null;
  /** The window's start and end, epoch milliseconds. */
  from: number;
  to: number;
}

/** The median of numbers (the mean of the middle two for an even count), or null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The figures of the last `windowMs` milliseconds before `now` (epoch ms).
 * @param windowMs default one hour.
 */
export async function liveFigures(db: D1Database, now = Date.now(), windowMs = 3_600_000): Promise<Figures> {
  const from = now - windowMs;
  const [counts, durations] = await db.batch([
    db
      .prepare(
        `SELECT type, count(*) AS n FROM audit_events WHERE at >= ?1 AND at <= ?2
         AND type IN ('login.started', 'login.approved', 'login.denied', 'login.expired') GROUP BY type`,
      )
      .bind(from, now),
    db
      .prepare(
        `SELECT a.at - s.at AS ms FROM audit_events a JOIN audit_events s
           ON s.type = 'login.started' AND json_extract(s.detail, '$.login_id') = json_extract(a.detail, '$.login_id')
         WHERE a.type = 'login.approved' AND a.at >= ?1 AND a.at <= ?2`,
      )
      .bind(from, now),
  ]);
  const byType = new Map((counts!.results as { type: string; n: number }[]).map((r) => [r.type, r.n]));
  return {
    started: byType.get('login.started') ?? 0,
    approved: byType.get('login.approved') ?? 0,
    denied: byType.get('login.denied') ?? 0,
    expired: byType.get('login.expired') ?? 0,
    medianApprovalMs: median((durations!.results as { ms: number }[]).map((r) => r.ms)),
    from,
    to: now,
  };
}
