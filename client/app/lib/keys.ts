/**
 * The device key: created with WebCrypto as a non-extractable ECDSA P-256 pair, used only to
 * sign the protocol's canonical messages (src/mobile/protocol.ts).
 */
import { signDeviceMessage, signedMessage, type SignedAction } from '../../../src/mobile/protocol.ts';

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
 * Signs a protocol action for a login.
 * @param input.nonce the server nonce from the scan response (not for `scan`).
 * @returns the base64url r‖s signature.
 * @throws {TypeError} when an id has characters the protocol does not allow.
 */
export function signAction(
  privateKey: CryptoKey,
  input: { action: SignedAction; loginId: string; deviceId: string; nonce?: string },
): Promise<string> {
  return signDeviceMessage(privateKey, signedMessage(input));
}
