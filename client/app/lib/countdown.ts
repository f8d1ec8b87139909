/**
 * The login's time left, counted from the server's clock: the scan response carries
 * `expires_at` and the server's `now` (epoch milliseconds), and the phone's own clock may be
 * minutes off, so only the difference between local readings is trusted.
 */

/** A server deadline mapped onto the local clock. */
export interface Deadline {
  /** Local `Date.now()` (ms) at which the server's deadline falls. */
  localExpiresAt: number;
}

/**
 * Maps a server deadline onto the local clock.
 * @param expiresAt server time of expiry, epoch ms.
 * @param serverNow server time when the response was made, epoch ms.
 * @param localReceivedAt local `Date.now()` when the response arrived, ms.
 */
export function deadlineFrom(expiresAt: number, serverNow: number, localReceivedAt: number): Deadline {
  return { localExpiresAt: localReceivedAt + (expiresAt - serverNow) };
}

/**
 * Whole seconds left, rounded up (so "0:00" only shows once the time is really over), never
 * negative.
 * @param localNow local `Date.now()`, ms.
 */
export function secondsLeft(deadline: Deadline, localNow: number): number {
  return Math.max(0, Math.ceil((deadline.localExpiresAt - localNow) / 1000));
}

/** Formats seconds as "m:ss" (e.g. 125 → "2:05"); negative input shows "0:00". */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
