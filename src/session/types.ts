import type { LoginState } from './machine.ts';
import type { ProblemData } from '../http/problem.ts';

/** Where and what the browser that started a login is, as shown on the phone. */
export interface Requester {
  /** ISO 3166-1 alpha-2 country code from Cloudflare's request data, when known. */
  country?: string;
  city?: string;
  /** Browser name and major version parsed from the User-Agent, e.g. "Chrome 156". */
  browser?: string;
  /** Operating system parsed from the User-Agent, e.g. "macOS 15". */
  os?: string;
}

/** The relying service a login is for. */
export interface LoginClient {
  id: string;
  name: string;
  /** The service requires number matching (`require_number_matching`; ./number-match.ts). */
  requireNumberMatching?: boolean;
}

/** What the Worker hands a fresh LoginSession object. */
export interface StartLogin {
  /** SHA-256 (hex) of the binding cookie's value: only that browser may watch the login. */
  bindingHash: string;
  /** How long the login stays valid, in seconds. */
  validitySeconds: number;
  client: LoginClient;
  /** The claims that an approval releases (OIDC claim names), as shown on the phone. */
  claims: string[];
  requester: Requester;
  /** Page language chosen at the start (`cs` or `en`). */
  locale: string;
  /**
   * The validated authorization request this login answers, opaque to the session:
   * the OIDC layer stores it here and reads it back when it issues the code or restarts.
   */
  authorization: Record<string, unknown>;
  /**
   * Only a device of this identity may scan and answer (the request's `login_hint` named it);
   * another identity's key is refused with `wrong-identity` and the login stays as it was.
   */
  requiredSub?: string;
}

/**
 * A whole snapshot of a login as the hosted page sees it: sent on every WebSocket message and
 * by `GET /login/:id/state`. Never a delta.
 */
export interface LoginSnapshot {
  type: 'snapshot';
  id: string;
  state: LoginState;
  /** When the login stops being valid, epoch milliseconds. */
  expiresAt: number;
  /** The server's clock when this snapshot was made, epoch milliseconds. */
  now: number;
  client: { name: string };
  locale: string;
  /**
   * What the QR code encodes, only while `pending`: `<issuer>/key/login#<login id>.<frame>` with
   * the current frame (src/session/rotation.ts) — rotating over the WebSocket (a new one every
   * second, accepted for 3 s), static in HTTP reads (accepted for 8 s).
   */
  loginUrl?: string;
  /**
   * The QR of `loginUrl` as the server drew it (client/shared/qr-path.ts), so the page needs no
   * QR encoder: in WebSocket snapshots and in `GET /login/:id/state`, not in other reads.
   */
  qr?: string;
  /**
   * Over the WebSocket only: the next rotating frames, each with the server time (epoch ms) from
   * which the page shows it instead of `loginUrl` (a frame is refused before that time), and
   * its drawn QR.
   */
  nextFrames?: { at: number; loginUrl: string; qr?: string }[];
  /** What the same-device button opens: the login URL with the single-use launch token; while `pending` and unused. */
  launchUrl?: string;
  /** Where the browser goes next once `approved` (same origin, relative). */
  continueUrl?: string;
  /** Where "Start again" leads once the login ended without approval (relative). */
  restartUrl?: string;
  /**
   * Where the "Cancel and return" / "Back to the service" form posts (`POST`): set unless approved,
   * for a login started by an authorization request (one with a `redirect_uri` to return to).
   */
  returnUrl?: string;
  /**
   * Number matching (./number-match.ts): while `scanned`, the number the person must pick on
   * the phone. Only this page sees it; the phone gets three candidates.
   */
  matchNumber?: number;
}

/** A device as the LoginSession needs it: loaded from D1 by the Worker for each phone request. */
export interface DeviceKey {
  id: string;
  sub: string;
  name: string;
  /** The enrolled P-256 public key (JWK: kty EC, crv P-256, x, y). */
  publicJwk: JsonWebKey;
}

/** What the phone sends to read (and claim) a login from its QR. */
export interface ScanInput {
  /** What follows the login id in the QR or launch link: a frame or the launch token (src/session/rotation.ts). */
  frame: string;
  device: DeviceKey;
  /** base64url P-256 ECDSA signature (IEEE P1363, r‖s) over the v2 scan message. */
  signature: string;
}

/** What the phone shows the person after a scan. */
export interface LoginContext {
  loginId: string;
  client: { id: string; name: string };
  claims: string[];
  requester: Requester;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  now: number;
  /** The server nonce the answer's signature must include. */
  nonce: string;
  state: LoginState;
  /** Number matching: the three numbers to pick from (the right one is shown on the page only). */
  numberChoices?: number[];
}

export type Decision = 'approve' | 'deny';

/** The phone's signed decision. */
export interface AnswerInput {
  device: DeviceKey;
  decision: Decision;
  nonce: string;
  signature: string;
  /** Number matching: the number picked from the scan's choices, as the body sent it (signed: docs/mobile-protocol.md §5). */
  number?: number;
  /** The consent choice, as the body sent it: not used by the login, but part of what the signature covers. */
  consent?: 'once' | 'always';
}

export interface AnswerResult {
  state: LoginState;
  client: { id: string; name: string };
  sub: string;
  /** False when this repeated an answer that had already taken effect (a safe retry). */
  changed: boolean;
  /** An approval with the wrong number, taken as a denial. */
  wrongNumber?: boolean;
  /** The claims the login asked for (what the phone listed), for the consent record. */
  claims: string[];
  /** Where and what the browser that started the login is: for the login history and the notification to the other keys. */
  requester: Requester;
}

/** The result of a LoginSession RPC: errors cross the RPC boundary as plain problem data. */
export type Result<T> = { ok: true; value: T } | { ok: false; problem: ProblemData };
