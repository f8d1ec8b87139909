/**
 * The device key: created with WebCrypto as a non-extractable ECDSA P-256 pair, used only to
 * sign the protocol's canonical messages (src/mobile/protocol.ts).
 */
import { revocationMessage, signDeviceMessage, signedMessage, type ConsentChoice, type SignedAction } from '../../../src/mobile/protocol.ts';
import { api, type ApiResult, type RevokeResponse } from './api.ts';

/**
 * Creates a new device key pair. The private key is non-extractable (only `sign`); the public
 * key is exported as a JWK with only the members the server needs (RFC 7518 §6.2.1).
 * @throws {Error} when WebCrypto is unavailable (insecure context) or lacks P-256.
 */
export async function createDeviceKey(): Promise<{ keyPair: CryptoKeyPair; publicJwk: JsonWebKey }> {
  if (!globalThis.crypto?.subtle) throw new Error('WebCrypto is not available');
  const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ])) as CryptoKeyPair;
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
  return { keyPair, publicJwk: { kty, crv, x, y } };
}

/**
 * Signs a protocol (v2) action for a login of the service at `input.origin` (this app's own origin).
 * @param input.nonce the server nonce from the scan response (not for `scan`).
 * @param input.number an answer's number-matching pick, exactly as the answer body sends it.
 * @param input.consent an answer's consent choice, exactly as the answer body sends it.
 * @returns the base64url r‖s signature.
 * @throws {TypeError} when an id has characters the protocol does not allow (or a number/consent is out of range).
 */
export function signAction(
  privateKey: CryptoKey,
  input: { origin: string; action: SignedAction; loginId: string; deviceId: string; nonce?: string; number?: number; consent?: ConsentChoice },
): Promise<string> {
  return signDeviceMessage(privateKey, signedMessage(input));
}

/**
 * Revokes a key on the server (`POST /api/mobile/devices/:id/revoke`), signed with the key itself
 * over `revocationMessage` and this device's clock. When the server refuses the time
 * (`timestamp-out-of-window`: this device's clock is off), signs once more with the server's
 * clock from the problem. Never throws: a network failure is the problem `network`, a key that
 * cannot sign is `signing-failed`.
 * @param clock epoch milliseconds (default `Date.now`).
 * @param origin the service's origin the revocation names (default: this app's).
 * @returns `{device_id, revoked_at}` (the first revocation's time if it was revoked before).
 */
export async function revokeOnServer(
  key: { deviceId: string; keyPair: CryptoKeyPair },
  clock: () => number = Date.now,
  origin: string = location.origin,
): Promise<ApiResult<RevokeResponse>> {
  const send = async (timestamp: number): Promise<ApiResult<RevokeResponse>> => {
    let signature: string;
    try {
      signature = await signDeviceMessage(key.keyPair.privateKey, revocationMessage({ origin, deviceId: key.deviceId, timestamp }));
    } catch {
      // An unusable stored key: nothing can be revoked with it, only removed here.
      return { ok: false, problem: { code: 'signing-failed', status: 0 } };
    }
    return api.revoke(key.deviceId, { timestamp, signature });
  };
  const started = clock();
  const first = await send(started);
  if (first.ok || first.problem.code !== 'timestamp-out-of-window' || first.problem.now === undefined) return first;
  return send(first.problem.now + Math.max(0, clock() - started));
}
