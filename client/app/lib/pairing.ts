/**
 * The web app's side of pairing (docs/pairing.md), the enrolment preview and notifications:
 * same-origin API calls signed with a key from IndexedDB. Never throws: failures are problems.
 */
import { deviceRequestMessage, signDeviceMessage, type DeviceRequestAction } from '../../../src/mobile/protocol.ts';
import type { EnrolPreviewResponse } from '../../../src/mobile/wire.ts';
import type { NotificationView } from '../../../src/notifications/store.ts';
import { keyThumbprint, pairClaimMessage, pairConfirmMessage } from '../../../src/pairing/protocol.ts';
import type { PairingSnapshot } from '../../../src/pairing/types.ts';
import { postJson, type ApiResult } from './api.ts';
import { problemFromBody } from './problems.ts';
import type { StoredKey } from './store.ts';

export type { NotificationView, PairingSnapshot };

/** What the new device learns of its claim (`/claim`, `/status`). */
export interface ClaimStatus {
  state: PairingSnapshot['state'];
  device_id: string;
  identity_name: string;
  sub?: string;
  expires_at: number;
  now: number;
}

/** A signed device request; once more with the server's clock when this device's is off. */
async function signedPost<T>(key: StoredKey, path: string, action: DeviceRequestAction, extra: Record<string, unknown> = {}, subject?: string): Promise<ApiResult<T>> {
  const send = async (timestamp: number): Promise<ApiResult<T>> => {
    let signature: string;
    try {
      signature = await signDeviceMessage(key.keyPair.privateKey, deviceRequestMessage({ action, deviceId: key.deviceId, timestamp, ...(subject ? { subject } : {}) }));
    } catch {
      return { ok: false, problem: { code: 'signing-failed', status: 0 } };
    }
    return postJson<T>(path, { device_id: key.deviceId, timestamp, signature, ...extra });
  };
  const first = await send(Date.now());
  if (first.ok || first.problem.code !== 'timestamp-out-of-window' || first.problem.now === undefined) return first;
  return send(first.problem.now);
}

/** The existing key starts a pairing; the browser keeps the binding cookie. */
export function startPairing(key: StoredKey): Promise<ApiResult<PairingSnapshot>> {
  return signedPost<PairingSnapshot>(key, '/api/pairings', 'pair-start');
}

/** The account's browser starts a pairing from its single sign-on session (approved in the last 5 minutes). */
export function startPairingFromSession(): Promise<ApiResult<PairingSnapshot>> {
  return postJson<PairingSnapshot>('/api/pairings/session', {});
}

/** The account's browser confirms the device that claimed its pairing. */
export function confirmPairingFromSession(pairingId: string): Promise<ApiResult<PairingSnapshot>> {
  return postJson<PairingSnapshot>(`/api/pairings/${pairingId}/confirm-session`, {});
}

/** The pairing's snapshot (the fallback where the WebSocket is blocked). */
export async function readPairing(pairingId: string): Promise<ApiResult<PairingSnapshot>> {
  try {
    const res = await fetch(`/api/pairings/${pairingId}`, { credentials: 'same-origin', cache: 'no-store' });
    const body: unknown = await res.json().catch(() => null);
    return res.ok ? { ok: true, value: body as PairingSnapshot } : { ok: false, problem: problemFromBody(res.status, body) };
  } catch {
    return { ok: false, problem: { code: 'network', status: 0 } };
  }
}

/** The existing key confirms the device that claimed the pairing. */
export async function confirmPairing(key: StoredKey, pairingId: string, nonce: string): Promise<ApiResult<PairingSnapshot>> {
  let signature: string;
  try {
    signature = await signDeviceMessage(key.keyPair.privateKey, pairConfirmMessage({ pairingId, nonce, deviceId: key.deviceId }));
  } catch {
    return { ok: false, problem: { code: 'signing-failed', status: 0 } };
  }
  return postJson<PairingSnapshot>(`/api/pairings/${pairingId}/confirm`, { device_id: key.deviceId, nonce, signature });
}

/** Ends the pairing (also: refuses the device that claimed it). */
export function cancelPairing(pairingId: string): Promise<ApiResult<PairingSnapshot>> {
  return postJson<PairingSnapshot>(`/api/pairings/${pairingId}/cancel`, {});
}

/** Whose identity the new device would join. */
export function openPairing(pairingId: string, secret: string): Promise<ApiResult<{ state: string; identity_name: string; expires_at: number; now: number }>> {
  return postJson(`/api/pairings/${pairingId}/open`, { secret });
}

/** The new device claims the pairing with its new key (proof of possession) and proposed name. */
export async function claimPairing(pairingId: string, secret: string, keyPair: CryptoKeyPair, publicJwk: JsonWebKey, name: string): Promise<ApiResult<ClaimStatus>> {
  const signature = await signDeviceMessage(keyPair.privateKey, pairClaimMessage({ pairingId, thumbprint: await keyThumbprint(publicJwk) }));
  return postJson<ClaimStatus>(`/api/pairings/${pairingId}/claim`, { secret, public_jwk: publicJwk, name, signature });
}

/** How the new device's claim stands. */
export function claimStatus(pairingId: string, secret: string, deviceId: string): Promise<ApiResult<ClaimStatus>> {
  return postJson<ClaimStatus>(`/api/pairings/${pairingId}/status`, { secret, device_id: deviceId });
}

/** Whose identity an activation code enrols to, without using it. */
export function previewEnrolment(activationCode: string): Promise<ApiResult<EnrolPreviewResponse>> {
  return postJson<EnrolPreviewResponse>('/api/mobile/enrol/preview', { activation_code: activationCode });
}

/** A key's notifications, newest first. */
export function listNotifications(key: StoredKey): Promise<ApiResult<{ notifications: NotificationView[]; unread: number }>> {
  return signedPost(key, '/api/notifications', 'notifications');
}

/** Marks a key's notifications read up to `upTo`. */
export function markNotificationsRead(key: StoredKey, upTo: number): Promise<ApiResult<{ read_up_to: number }>> {
  return signedPost(key, '/api/notifications/read', 'notifications-read', { up_to: upTo }, String(upTo));
}

/** Stores a push subscription for a key (the endpoint's SHA-256 is the signed subject). */
export async function savePushSubscription(key: StoredKey, subscription: PushSubscriptionJSON): Promise<ApiResult<{ endpoint: string }>> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(new URL(subscription.endpoint!).href)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  const subject = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return signedPost(key, '/api/notifications/push-subscriptions', 'push-subscribe', { subscription }, subject);
}
