/**
 * What crosses the Pairing object's RPC boundary and the wire (docs/pairing.md). Times are
 * epoch milliseconds.
 */
import type { PublicP256Jwk } from '../identity/devices.ts';
import type { RequesterText } from '../http/names.ts';
import type { PairingState } from './machine.ts';

/** What the Worker hands a fresh Pairing object (`POST /api/pairings`). */
export interface StartPairing {
  /** SHA-256 hex of the binding cookie: only that browser (or CLI) may watch and confirm. */
  bindingHash: string;
  /** The identity the new key joins. */
  sub: string;
  /** The enrolled key that started the pairing (for `session`: the key that approved the session). */
  starterDeviceId: string;
  /**
   * Who confirms: `device` — the starting key's signature (web app, key CLI); `session` — the
   * account's browser, whose single sign-on session (fresh approval) started it. Default `device`.
   */
  starter?: 'device' | 'session';
  /** The person's short name shown on the new device ("Jana N."). */
  identityName: string;
  /** Lifetime in seconds (default 240). */
  validitySeconds?: number;
}

/** The state the starting browser or CLI sees: whole snapshots over the WebSocket and GET. */
export interface PairingSnapshot {
  type: 'snapshot';
  id: string;
  state: PairingState;
  /** Epoch ms. */
  expiresAt: number;
  /** The server's clock, epoch ms (count down from `expiresAt - now`). */
  now: number;
  /** What the QR encodes; only while pending. */
  pairingUrl?: string;
  /** The key that claimed the pairing (claimed, completed): its proposed name and browser. */
  device?: { name: string; requester: RequesterText };
  /** What the existing key signs to confirm (claimed only). */
  nonce?: string;
  /** The new key's device id (completed only). */
  deviceId?: string;
}

/** What the new device sees before it makes a key (`POST /api/pairings/:id/open`). */
export interface PairingInvitation {
  state: PairingState;
  identityName: string;
  expiresAt: number;
  now: number;
}

/** The new device's claim (`POST /api/pairings/:id/claim`), its key already validated. */
export interface ClaimInput {
  secret: string;
  publicJwk: PublicP256Jwk;
  name: string;
  signature: string;
  requester: RequesterText;
}

/** What the new device learns from its claim and later status reads. */
export interface ClaimStatus {
  state: PairingState;
  /** The device id the new key is (or will be) enrolled under. */
  deviceId: string;
  identityName: string;
  /** Set once completed. */
  sub?: string;
  expiresAt: number;
  now: number;
}

/** The existing key's confirmation, its device loaded from D1 by the Worker. */
export interface ConfirmInput {
  bindingHash: string;
  deviceId: string;
  publicJwk: JsonWebKey;
  nonce: string;
  signature: string;
}
