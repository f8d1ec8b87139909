/** Helpers for the pairing and notifications tests: the existing key's and the new device's side over HTTP. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { deviceRequestMessage, signDeviceMessage, type DeviceRequestAction } from '../../src/mobile/protocol.ts';
import { keyThumbprint, pairClaimMessage, pairConfirmMessage, parsePairingUrl } from '../../src/pairing/protocol.ts';
import { pairingStub } from '../../src/pairing/routes.ts';
import type { PairingSnapshot } from '../../src/pairing/types.ts';
import { call, type TestDevice } from './helpers.ts';
import { newKeyPair, post } from './identity-helpers.ts';

/** A signed device request body (`pair-start`, `notifications`, …) with the current time. */
export async function signedBody(device: TestDevice, action: DeviceRequestAction, subject?: string, timestamp = Date.now()) {
  const signature = await signDeviceMessage(
    device.privateKey,
    deviceRequestMessage({ action, deviceId: device.id, timestamp, ...(subject ? { subject } : {}) }),
  );
  return { device_id: device.id, timestamp, signature };
}

export interface TestPairing {
  id: string;
  secret: string;
  cookie: string;
  snapshot: PairingSnapshot;
  stub: ReturnType<typeof pairingStub>;
}

/** Starts a pairing from an enrolled device, as the web app or CLI does; keeps the binding cookie. */
export async function startPairing(device: TestDevice): Promise<TestPairing> {
  const res = await post('/api/pairings', await signedBody(device, 'pair-start'));
  expect(res.status).toBe(201);
  const cookie = res.headers.get('Set-Cookie')!.split(';')[0]!;
  expect(cookie).toMatch(/^__Host-mk_pair_[0-9a-f]{16}=/);
  expect(res.headers.get('Set-Cookie')).toMatch(/HttpOnly/);
  const snapshot = (await res.json()) as PairingSnapshot;
  const parsed = parsePairingUrl(snapshot.pairingUrl!)!;
  expect(parsed.pairingId).toBe(snapshot.id);
  return { id: snapshot.id, secret: parsed.secret, cookie, snapshot, stub: pairingStub(env, snapshot.id) };
}

/** A new device's key and its claim body for a pairing. */
export async function newDevice(pairingId: string, name = 'Pixel 9') {
  const keys = await newKeyPair();
  const thumbprint = await keyThumbprint(keys.publicJwk);
  const signature = await signDeviceMessage(keys.privateKey, pairClaimMessage({ pairingId, thumbprint }));
  return { keys, claimBody: (secret: string) => ({ secret, public_jwk: keys.publicJwk, name, signature }) };
}

/** Claims a pairing with a fresh key; returns the response body. */
export async function claim(pairing: TestPairing, name = 'Pixel 9', headers: Record<string, string> = {}) {
  const device = await newDevice(pairing.id, name);
  const res = await post(`/api/pairings/${pairing.id}/claim`, device.claimBody(pairing.secret), headers);
  expect(res.status).toBe(200);
  return { ...device, status: (await res.json()) as { state: string; device_id: string; identity_name: string } };
}

/** The existing key's confirmation body for the nonce of the current claim. */
export async function confirmBody(device: TestDevice, pairingId: string, nonce: string) {
  const signature = await signDeviceMessage(device.privateKey, pairConfirmMessage({ pairingId, nonce, deviceId: device.id }));
  return { device_id: device.id, nonce, signature };
}

/** The pairing's snapshot as the starting browser sees it. */
export async function snapshotOf(pairing: TestPairing, cookie = pairing.cookie): Promise<Response> {
  return call(`/api/pairings/${pairing.id}`, { headers: { Cookie: cookie } });
}

/** Pairs a second key to `device`'s identity through the whole flow; returns it as a test device. */
export async function pairSecondKey(device: TestDevice, name = 'Pixel 9'): Promise<TestDevice> {
  const pairing = await startPairing(device);
  const claimed = await claim(pairing, name);
  const snapshot = (await (await snapshotOf(pairing)).json()) as PairingSnapshot;
  const res = await post(`/api/pairings/${pairing.id}/confirm`, await confirmBody(device, pairing.id, snapshot.nonce!), { Cookie: pairing.cookie });
  expect(res.status).toBe(200);
  return { id: claimed.status.device_id, sub: device.sub, name, publicJwk: claimed.keys.publicJwk, privateKey: claimed.keys.privateKey };
}
