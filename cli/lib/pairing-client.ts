/**
 * The reference mobile key's side of pairing, enrolment preview and notifications
 * (docs/pairing.md). WebCrypto and `fetch` only, like ./mobile-client.ts, so it runs in the CLI,
 * in workerd tests and in any JavaScript app.
 */
import { deviceRequestMessage, signDeviceMessage, type DeviceRequestAction } from '../../src/mobile/protocol.ts';
import type { EnrolPreviewResponse } from '../../src/mobile/wire.ts';
import { keyThumbprint, pairClaimMessage, pairConfirmMessage, parsePairingUrl } from '../../src/pairing/protocol.ts';
import type { PairingSnapshot } from '../../src/pairing/types.ts';
import type { NotificationView } from '../../src/notifications/store.ts';
import { generateDeviceKey, MobileKeyError, postJson, privateKey, requestJson, stripSlash, type Fetch, type KeyStore } from './mobile-client.ts';

export type { PairingSnapshot, NotificationView };

/** How often the CLI asks how a pairing stands while it waits, in milliseconds. */
export const POLL_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A signed device request body for `action` with the current time (or `timestamp`). */
async function signedBody(store: KeyStore, action: DeviceRequestAction, subject?: string, timestamp = Date.now()) {
  const signature = await signDeviceMessage(
    await privateKey(store),
    deviceRequestMessage({ action, deviceId: store.device_id, timestamp, ...(subject ? { subject } : {}) }),
  );
  return { device_id: store.device_id, timestamp, signature };
}

/**
 * Sends a signed device request; once more with the server's clock if it refused this device's
 * (`timestamp-out-of-window` carries the server's `now`).
 */
async function signedPost<T>(store: KeyStore, path: string, action: DeviceRequestAction, extra: Record<string, unknown> = {}, subject?: string, fetchImpl?: Fetch, onResponse?: (res: Response) => void): Promise<T> {
  const url = `${stripSlash(store.server)}${path}`;
  const send = async (timestamp?: number) =>
    requestJson<T>(fetchImpl, url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...(await signedBody(store, action, subject, timestamp)), ...extra }),
    }, onResponse);
  try {
    return await send();
  } catch (error) {
    if (!(error instanceof MobileKeyError && error.code === 'timestamp-out-of-window' && error.serverNow)) throw error;
    return send(error.serverNow);
  }
}

/** A pairing the existing key started: its snapshot and the binding cookie to send back. */
export interface StartedPairing {
  snapshot: PairingSnapshot;
  /** `name=value` of the `__Host-mk_pair_…` cookie (the CLI is its own cookie jar). */
  cookie: string;
}

/**
 * The existing key starts a pairing (`POST /api/pairings`).
 * @throws {MobileKeyError}
 */
export async function startPairing(options: { store: KeyStore; fetch?: Fetch }): Promise<StartedPairing> {
  let cookie = '';
  const snapshot = await signedPost<PairingSnapshot>(options.store, '/api/pairings', 'pair-start', {}, undefined, options.fetch, (res) => {
    cookie = (res.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
  });
  if (!cookie) throw new MobileKeyError('bad-response', 'The server sent no pairing cookie.');
  return { snapshot, cookie };
}

/** The pairing's snapshot for the key that started it. */
export function readPairing(options: { store: KeyStore; pairing: StartedPairing; fetch?: Fetch }): Promise<PairingSnapshot> {
  return requestJson<PairingSnapshot>(options.fetch, `${stripSlash(options.store.server)}/api/pairings/${options.pairing.snapshot.id}`, {
    method: 'GET',
    headers: { Cookie: options.pairing.cookie },
  });
}

/** Waits (polling the snapshot) until a device claimed the pairing or it ended. */
export async function waitForClaim(options: { store: KeyStore; pairing: StartedPairing; fetch?: Fetch }): Promise<PairingSnapshot> {
  for (;;) {
    const snapshot = await readPairing(options);
    if (snapshot.state !== 'pending') return snapshot;
    await sleep(POLL_MS);
  }
}

/** The existing key confirms the claimed device, signing the claim's nonce. */
export async function confirmPairing(options: { store: KeyStore; pairing: StartedPairing; nonce: string; fetch?: Fetch }): Promise<PairingSnapshot> {
  const id = options.pairing.snapshot.id;
  const signature = await signDeviceMessage(await privateKey(options.store), pairConfirmMessage({ pairingId: id, nonce: options.nonce, deviceId: options.store.device_id }));
  return postJson<PairingSnapshot>(options.fetch, `${stripSlash(options.store.server)}/api/pairings/${id}/confirm`, {
    device_id: options.store.device_id,
    nonce: options.nonce,
    signature,
  }, { Cookie: options.pairing.cookie });
}

/** The existing key ends the pairing (also: refuses the device that claimed it). */
export function cancelPairing(options: { store: KeyStore; pairing: StartedPairing; fetch?: Fetch }): Promise<PairingSnapshot> {
  return postJson<PairingSnapshot>(options.fetch, `${stripSlash(options.store.server)}/api/pairings/${options.pairing.snapshot.id}/cancel`, {}, {
    Cookie: options.pairing.cookie,
  });
}

/** What the new device learns about its claim. */
interface ClaimStatusWire {
  state: PairingSnapshot['state'];
  device_id: string;
  identity_name: string;
  sub?: string;
  expires_at: number;
  now: number;
}

/**
 * The new device joins a pairing: reads whose identity it joins, asks `confirm` (the person sees
 * "You are adding a key for Jana N."), makes its key, claims the pairing and waits until the
 * existing key confirmed it.
 * @param options.onWaiting called once the claim is in, while the existing key has to confirm.
 * @returns the store to save, or null when the person declined at `confirm`.
 * @throws {MobileKeyError} `invalid-pairing-url`, `other-server`, `pairing-cancelled`, `pairing-expired` or the server's problem.
 */
export async function joinPairing(options: {
  pairingUrl: string;
  name: string;
  server?: string;
  confirm: (identityName: string, expiresInMs: number) => Promise<boolean>;
  onWaiting?: () => void;
  fetch?: Fetch;
}): Promise<KeyStore | null> {
  const parsed = parsePairingUrl(options.pairingUrl);
  if (!parsed) throw new MobileKeyError('invalid-pairing-url', 'This is not a pairing URL (expected <origin>/key/pair#<pairing id>.<secret>).');
  const server = stripSlash(options.server ?? parsed.origin);
  if (new URL(server).origin !== parsed.origin) {
    throw new MobileKeyError('other-server', `This pairing belongs to ${parsed.origin}, not ${server}.`);
  }
  const base = `${server}/api/pairings/${parsed.pairingId}`;
  const invitation = await postJson<{ state: string; identity_name: string; expires_at: number; now: number }>(options.fetch, `${base}/open`, { secret: parsed.secret });
  if (!(await options.confirm(invitation.identity_name, invitation.expires_at - invitation.now))) return null;

  const { privateJwk, publicJwk } = await generateDeviceKey();
  const key = await crypto.subtle.importKey('jwk', { ...privateJwk, ext: false }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const signature = await signDeviceMessage(key, pairClaimMessage({ pairingId: parsed.pairingId, thumbprint: await keyThumbprint(publicJwk) }));
  let status = await postJson<ClaimStatusWire>(options.fetch, `${base}/claim`, { secret: parsed.secret, public_jwk: publicJwk, name: options.name, signature });
  options.onWaiting?.();
  while (status.state === 'claimed') {
    await sleep(POLL_MS);
    status = await postJson<ClaimStatusWire>(options.fetch, `${base}/status`, { secret: parsed.secret, device_id: status.device_id });
  }
  if (status.state !== 'completed' || !status.sub) {
    throw new MobileKeyError(`pairing-${status.state}`, status.state === 'expired' ? 'The pairing expired before your other key confirmed it.' : 'Your other key refused or cancelled the pairing.');
  }
  return { version: 1, server, device_id: status.device_id, sub: status.sub, name: options.name, private_jwk: privateJwk, public_jwk: publicJwk, enrolled_at: Date.now() };
}

/** Whose identity an activation code enrols to, without using it (`POST /api/mobile/enrol/preview`). */
export function previewEnrolment(options: { server: string; activationCode: string; fetch?: Fetch }): Promise<EnrolPreviewResponse> {
  return postJson<EnrolPreviewResponse>(options.fetch, `${stripSlash(options.server)}/api/mobile/enrol/preview`, { activation_code: options.activationCode });
}

/** This key's notifications, newest first, and how many are unread. */
export function listNotifications(options: { store: KeyStore; fetch?: Fetch }): Promise<{ notifications: NotificationView[]; unread: number }> {
  return signedPost(options.store, '/api/notifications', 'notifications', {}, undefined, options.fetch);
}

/** Marks this key's notifications read up to the id `upTo`. @returns the mark in force. */
export async function markNotificationsRead(options: { store: KeyStore; upTo: number; fetch?: Fetch }): Promise<number> {
  const body = await signedPost<{ read_up_to: number }>(options.store, '/api/notifications/read', 'notifications-read', { up_to: options.upTo }, String(options.upTo), options.fetch);
  return body.read_up_to;
}
