/**
 * The login state machine: pure functions, no Workers API, so every transition is unit-tested.
 *
 *   pending ──scan──▶ scanned ──approve──▶ approved ──redeem──▶ (approved, redeemedAt set)
 *      │                 │    └──deny────▶ denied
 *      └──expire/cancel──┴──────────────▶ expired | cancelled
 *
 * Terminal states (approved, denied, expired, cancelled) never change; the authorization code's
 * redemption is recorded on an approved login as `redeemedAt`, once. Every event is idempotent:
 * repeating an event that already took effect (the same device scanning twice, a second alarm)
 * succeeds without a change. A deadline check comes first: any event at or after `expiresAt`
 * on a non-terminal login expires it, so a late alarm never lets a late answer through.
 */

export type LoginState = 'pending' | 'scanned' | 'approved' | 'denied' | 'expired' | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<LoginState> = new Set(['approved', 'denied', 'expired', 'cancelled']);

/** What the state machine tracks of one login. Times are epoch milliseconds. */
export interface LoginRecord {
  state: LoginState;
  createdAt: number;
  expiresAt: number;
  /** The device that claimed the login by scanning it; from then only it may answer. */
  deviceId?: string;
  scannedAt?: number;
  /** When the login reached a terminal state. */
  endedAt?: number;
  /** When the authorization code issued from an approved login was redeemed. */
  redeemedAt?: number;
}

export type LoginEvent =
  | { type: 'scan'; deviceId: string; at: number }
  | { type: 'approve'; deviceId: string; at: number }
  | { type: 'deny'; deviceId: string; at: number }
  | { type: 'expire'; at: number }
  | { type: 'cancel'; at: number }
  | { type: 'redeem'; at: number };

/** Why an event was refused. The login is unchanged unless the refusal is `expired` (see below). */
export type Refusal =
  | 'expired' // the deadline passed (the returned record is now `expired`)
  | 'ended' // the login already reached another terminal state
  | 'claimed' // another device scanned it first
  | 'not-scanned' // an answer before any device claimed the login
  | 'wrong-device' // an answer from a device other than the one that scanned
  | 'not-approved' // redeem on a login that was not approved
  | 'already-redeemed'; // a second redemption of the authorization code

export type Transition =
  | { ok: true; record: LoginRecord; changed: boolean }
  | { ok: false; refusal: Refusal; record: LoginRecord; changed: boolean };

/** True for approved, denied, expired and cancelled. */
export function isTerminal(state: LoginState): boolean {
  return TERMINAL_STATES.has(state);
}

/**
 * Starts a login.
 * @param now epoch milliseconds.
 * @param validitySeconds how long the login stays valid, in seconds (> 0).
 * @throws {RangeError} for a non-positive or non-finite validity.
 */
export function createLogin(now: number, validitySeconds: number): LoginRecord {
  if (!Number.isFinite(validitySeconds) || validitySeconds <= 0) {
    throw new RangeError(`validitySeconds must be a positive number, got ${validitySeconds}`);
  }
  return { state: 'pending', createdAt: now, expiresAt: now + Math.round(validitySeconds * 1000) };
}

/**
 * Applies one event to a login. Never mutates its input.
 * @returns the resulting record, whether it changed, and a refusal reason when the event was refused.
 */
export function transition(record: LoginRecord, event: LoginEvent): Transition {
  if (!isTerminal(record.state) && event.at >= record.expiresAt) {
    const expired: LoginRecord = { ...record, state: 'expired', endedAt: event.at };
    return event.type === 'expire' || event.type === 'cancel'
      ? { ok: true, record: expired, changed: true }
      : { ok: false, refusal: 'expired', record: expired, changed: true };
  }
  const same = (ok: boolean, refusal?: Refusal): Transition =>
    ok ? { ok: true, record, changed: false } : { ok: false, refusal: refusal ?? 'ended', record, changed: false };
  const to = (next: LoginRecord): Transition => ({ ok: true, record: next, changed: true });

  switch (event.type) {
    case 'scan':
      if (record.state === 'pending') {
        return to({ ...record, state: 'scanned', deviceId: event.deviceId, scannedAt: event.at });
      }
      if (record.state === 'scanned') {
        return record.deviceId === event.deviceId ? same(true) : same(false, 'claimed');
      }
      return same(false, record.state === 'expired' ? 'expired' : 'ended');

    case 'approve':
    case 'deny': {
      const outcome: LoginState = event.type === 'approve' ? 'approved' : 'denied';
      if (record.state === 'pending') return same(false, 'not-scanned');
      if (record.deviceId !== undefined && record.deviceId !== event.deviceId) return same(false, 'wrong-device');
      if (record.state === 'scanned') return to({ ...record, state: outcome, endedAt: event.at });
      if (record.state === outcome) return same(true);
      return same(false, record.state === 'expired' ? 'expired' : 'ended');
    }

    case 'expire':
      // Only the deadline expires a login (handled above); an early or late alarm changes nothing.
      return same(true);

    case 'cancel':
      if (record.state === 'pending' || record.state === 'scanned') {
        return to({ ...record, state: 'cancelled', endedAt: event.at });
      }
      return same(record.state === 'cancelled', record.state === 'expired' ? 'expired' : 'ended');

    case 'redeem':
      if (record.state !== 'approved') return same(false, 'not-approved');
      if (record.redeemedAt !== undefined) return same(false, 'already-redeemed');
      return to({ ...record, redeemedAt: event.at });
  }
}
