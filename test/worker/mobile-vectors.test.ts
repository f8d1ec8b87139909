import { describe, expect, it } from 'vitest';
import doc from '../../docs/mobile-protocol.md?raw';
import { revocationMessage, signDeviceMessage, signedMessage, verifyDeviceSignature, type SignedAction } from '../../src/mobile/protocol.ts';

interface Vectors {
  private_jwk: JsonWebKey;
  login_id: string;
  device_id: string;
  nonce: string;
  messages: ({ action: SignedAction; text: string; hex: string; signature: string } | { action: 'revoke'; timestamp: number; text: string; hex: string; signature: string })[];
}

/** The JSON block between the test-vector markers of docs/mobile-protocol.md. */
function vectors(): Vectors {
  const match = /<!-- test-vectors:begin -->\s*```json\n([\s\S]*?)```\s*<!-- test-vectors:end -->/.exec(doc);
  expect(match, 'test vector block in docs/mobile-protocol.md').not.toBeNull();
  return JSON.parse(match![1]!) as Vectors;
}

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

describe('docs/mobile-protocol.md test vectors', () => {
  const v = vectors();
  const { d: _d, ...publicJwk } = v.private_jwk;

  it('covers scan, approve and revoke', () => {
    expect(v.messages.map((m) => m.action)).toEqual(['scan', 'approve', 'revoke']);
  });

  for (const message of v.messages) {
    it(`the protocol reproduces the ${message.action} bytes and the signature verifies`, async () => {
      const bytes =
        message.action === 'revoke'
          ? revocationMessage({ deviceId: v.device_id, timestamp: message.timestamp })
          : signedMessage({
              action: message.action,
              loginId: v.login_id,
              deviceId: v.device_id,
              ...(message.action === 'scan' ? {} : { nonce: v.nonce }),
            });
      expect(new TextDecoder().decode(bytes)).toBe(message.text);
      expect(hex(bytes)).toBe(message.hex);
      expect(await verifyDeviceSignature(publicJwk, bytes, message.signature)).toBe(true);
    });
  }

  it('the vector signatures do not verify for another message, action or key', async () => {
    const [scan, approve, revoke] = v.messages;
    const approveBytes = signedMessage({ action: 'approve', loginId: v.login_id, deviceId: v.device_id, nonce: v.nonce });
    const denyBytes = signedMessage({ action: 'deny', loginId: v.login_id, deviceId: v.device_id, nonce: v.nonce });
    expect(await verifyDeviceSignature(publicJwk, denyBytes, approve!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, approveBytes, scan!.signature)).toBe(false);
    // A revocation is bound to its timestamp and is no login signature.
    const later = revocationMessage({ deviceId: v.device_id, timestamp: (revoke as { timestamp: number }).timestamp + 1 });
    expect(await verifyDeviceSignature(publicJwk, later, revoke!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, approveBytes, revoke!.signature)).toBe(false);
    const other = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair;
    const otherPublic = await crypto.subtle.exportKey('jwk', other.publicKey);
    expect(await verifyDeviceSignature(otherPublic as JsonWebKey, approveBytes, approve!.signature)).toBe(false);
  });

  it('a signature made with the vector private key verifies with its public key', async () => {
    const key = await crypto.subtle.importKey('jwk', v.private_jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const bytes = signedMessage({ action: 'deny', loginId: v.login_id, deviceId: v.device_id, nonce: v.nonce });
    expect(await verifyDeviceSignature(publicJwk, bytes, await signDeviceMessage(key, bytes))).toBe(true);
  });
});
