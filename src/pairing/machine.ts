/**
 * The pairing state machine: pure functions, no Workers API (unit-tested directly).
 *
 *   pending ──claim──▶ claimed ──confirm──▶ completed
 *      │                  │
 *      └──cancel/expire───┴──────────────▶ cancelled | expired
 *
 * Terminal states (completed, cancelled, expired) never change. Every event is idempotent: the
 * same new key claiming twice, a second confirm, a second alarm succeed without a change. The
 * deadline comes first: any event at or after `expiresAt` on a live pairing expires it, so a
 * late alarm never lets a late confirmation through. One pairing enrols at most one key.
 */

export type PairingState = 'pending' | 'claimed' | 'completed' | 'cancelled' | 'expired';

export const PAIRING_TERMINAL: ReadonlySet<PairingState> = new Set(['completed', 'cancelled', 'expired']);

/** How long a pairing stays open, in seconds (the "within 4 minutes"). */
export const PAIRING_VALIDITY_SECONDS = 240;

/** What the state machine tracks of one pairing. Times are epoch milliseconds. */
export interface PairingRecord {
  state: PairingState;
  createdAt: number;
  expiresAt: number;
  /** The RFC 7638 thumbprint of the key that claimed the pairing; only it may be enrolled. */
  thumbprint?: string;
  claimedAt?: number;
  endedAt?: number;
}

export type PairingEvent =
  | { type: 'claim'; thumbprint: string; at: number }
  | { type: 'confirm'; at: number }
  | { type: 'cancel'; at: number }
  | { type: 'expire'; at: number };

/** Why an event was refused (the record is unchanged unless the refusal is `expired`). */
export type PairingRefusal =
  | 'expired' // the deadline passed (the returned record is now `expired`)
  | 'ended' // the pairing already completed or was cancelled
  | 'claimed' // another key claimed it first
  | 'not-claimed'; // a confirmation before any device claimed it

export type PairingTransition =
  | { ok: true; record: PairingRecord; changed: boolean }
  | { ok: false; refusal: PairingRefusal; record: PairingRecord; changed: boolean };

/** True for completed, cancelled and expired. */
export function isPairingTerminal(state: PairingState): boolean {
  return PAIRING_TERMINAL.has(state);
}

/** A fresh pending pairing. @param now epoch ms. @param validitySeconds lifetime in seconds. */
export function createPairing(now: number, validitySeconds = PAIRING_VALIDITY_SECONDS): PairingRecord {
  return { state: 'pending', createdAt: now, expiresAt: now + validitySeconds * 1000 };
}

/** Applies one event (see the module comment for the rules). */
export function pairingTransition(record: PairingRecord, event: PairingEvent): PairingTransition {
  const ok = (next: PairingRecord, changed = true): PairingTransition => ({ ok: true, record: next, changed });
  const refuse = (refusal: PairingRefusal, next = record, changed = false): PairingTransition => ({ ok: false, refusal, record: next, changed });

  if (!isPairingTerminal(record.state) && event.at >= record.expiresAt) {
    const expired: PairingRecord = { ...record, state: 'expired', endedAt: event.at };
    return event.type === 'expire' ? ok(expired) : refuse('expired', expired, true);
  }
  switch (event.type) {
    case 'expire':
      if (record.state === 'expired') return ok(record, false);
      if (isPairingTerminal(record.state)) return ok(record, false);
      return ok(record, false); // early alarm: nothing to do yet
    case 'cancel':
      if (record.state === 'cancelled') return ok(record, false);
      if (isPairingTerminal(record.state)) return refuse(record.state === 'expired' ? 'expired' : 'ended');
      return ok({ ...record, state: 'cancelled', endedAt: event.at });
    case 'claim':
      if (record.state === 'pending') return ok({ ...record, state: 'claimed', thumbprint: event.thumbprint, claimedAt: event.at });
      if (record.thumbprint !== undefined && record.thumbprint !== event.thumbprint) return refuse('claimed');
      if (record.state === 'claimed' || record.state === 'completed') return ok(record, false);
      return refuse(record.state === 'expired' ? 'expired' : 'ended');
    case 'confirm':
      if (record.state === 'claimed') return ok({ ...record, state: 'completed', endedAt: event.at });
      if (record.state === 'completed') return ok(record, false);
      if (record.state === 'pending') return refuse('not-claimed');
      return refuse(record.state === 'expired' ? 'expired' : 'ended');
  }
}
