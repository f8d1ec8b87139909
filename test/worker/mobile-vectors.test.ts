import { describe, expect, it } from 'vitest';
import doc from '../../docs/mobile-protocol.md?raw';
import {
  buildLoginUrl,
  parseLoginUrl,
  revocationMessage,
  signDeviceMessage,
  signedMessage,
  verifyDeviceSignature,
  type ConsentChoice,
  type SignedAction,
} from '../../src/mobile/protocol.ts';
import { frameMac, type FrameKind } from '../../src/session/rotation.ts';

interface Vectors {
  private_jwk: JsonWebKey;
  origin: string;
  login_id: string;
  device_id: string;
  nonce: string;
  messages: (
    | { action: SignedAction; number?: number; consent?: ConsentChoice; text: string; hex: string; signature: string }
    | { action: 'revoke'; timestamp: number; text: string; hex: string; signature: string }
  )[];
  frame_key: string;
  frames: { kind: FrameKind; step: number; text: string; frame: string; login_url: string }[];
}

/** The JSON block between the test-vector markers of docs/mobile-protocol.md. */
function vectors(): Vectors {
  const match = /<!-- test-vectors:begin -->\s*```json\n([\s\S]*?)```\s*<!-- test-vectors:end -->/.exec(doc);
  expect(match, 'test vector block in docs/mobile-protocol.md').not.toBeNull();
  return JSON.parse(match![1]!) as Vectors;
}

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

describe('docs/mobile-protocol.md test vectors (protocol v2)', () => {
  const v = vectors();
  const { d: _d, ...publicJwk } = v.private_jwk;
  type Answer = { number?: number; consent?: ConsentChoice };
  const login = (action: SignedAction, origin = v.origin, answer: Answer = {}) =>
    signedMessage({ origin, action, loginId: v.login_id, deviceId: v.device_id, ...(action === 'scan' ? {} : { nonce: v.nonce }), ...answer });
  const answerOf = (message: (typeof v.messages)[number]): Answer =>
    'timestamp' in message ? {} : { ...(message.number !== undefined ? { number: message.number } : {}), ...(message.consent ? { consent: message.consent } : {}) };
  const label = (message: (typeof v.messages)[number]) => [message.action, ...Object.entries(answerOf(message)).map(([k, x]) => `${k} ${x}`)].join(', ');

  it('covers scan, approve, deny (with and without number and consent) and revoke, each naming the version and the origin first', () => {
    expect(v.messages.map(label)).toEqual(['scan', 'approve', 'deny', 'approve, number 47, consent always', 'approve, consent once', 'revoke']);
    for (const message of v.messages) expect(message.text.split('\n').slice(0, 3)).toEqual(['mobile-key-v2', v.origin, message.action]);
  });

  it('a scan is six lines; an answer is eight, ending with its number and consent lines ("-" when absent)', () => {
    for (const message of v.messages) {
      const lines = message.text.split('\n');
      if (message.action === 'scan' || message.action === 'revoke') expect(lines).toHaveLength(6);
      else {
        const answer = answerOf(message);
        expect(lines.slice(6)).toEqual([answer.number === undefined ? '-' : String(answer.number), answer.consent ?? '-']);
      }
    }
  });

  for (const message of v.messages) {
    it(`the protocol reproduces the ${label(message)} bytes and the signature verifies`, async () => {
      const bytes =
        message.action === 'revoke'
          ? revocationMessage({ origin: v.origin, deviceId: v.device_id, timestamp: message.timestamp })
          : login(message.action, v.origin, answerOf(message));
      expect(new TextDecoder().decode(bytes)).toBe(message.text);
      expect(hex(bytes)).toBe(message.hex);
      expect(await verifyDeviceSignature(publicJwk, bytes, message.signature)).toBe(true);
    });
  }

  it('the vector signatures do not verify for another action, another service, v1 bytes or another key', async () => {
    const [scan, approve, deny, , , revoke] = v.messages;
    expect(await verifyDeviceSignature(publicJwk, login('deny'), approve!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, login('approve'), deny!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, login('approve'), scan!.signature)).toBe(false);
    // The same login at another service (a relay's origin) is other bytes: the signature is worthless there.
    expect(await verifyDeviceSignature(publicJwk, login('approve', 'https://login.example.cz.evil.example'), approve!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, login('approve', 'http://login.example.cz'), approve!.signature)).toBe(false);
    // What v1 signed for the same approval (no origin line) is not what v2 signed.
    const v1 = new TextEncoder().encode(['mobile-key-v1', 'approve', v.login_id, v.nonce, v.device_id].join('\n'));
    expect(await verifyDeviceSignature(publicJwk, v1, approve!.signature)).toBe(false);
    // A revocation is bound to its timestamp and its service, and is no login signature.
    const timestamp = (revoke as { timestamp: number }).timestamp;
    expect(await verifyDeviceSignature(publicJwk, revocationMessage({ origin: v.origin, deviceId: v.device_id, timestamp: timestamp + 1 }), revoke!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, revocationMessage({ origin: 'https://other.example', deviceId: v.device_id, timestamp }), revoke!.signature)).toBe(false);
    expect(await verifyDeviceSignature(publicJwk, login('approve'), revoke!.signature)).toBe(false);
    const other = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair;
    const otherPublic = await crypto.subtle.exportKey('jwk', other.publicKey);
    expect(await verifyDeviceSignature(otherPublic as JsonWebKey, login('approve'), approve!.signature)).toBe(false);
  });

  it('an answer signature does not verify once its number or consent is changed, added or dropped', async () => {
    const picked = v.messages[3]!;
    expect(answerOf(picked)).toEqual({ number: 47, consent: 'always' });
    for (const changed of [{ number: 16, consent: 'always' }, { number: 47, consent: 'once' }, { number: 47 }, { consent: 'always' }, {}] satisfies Answer[]) {
      expect(await verifyDeviceSignature(publicJwk, login('approve', v.origin, changed), picked.signature), JSON.stringify(changed)).toBe(false);
    }
    // The bare approval's signature (no number, no consent) is no approval with either added.
    const bare = v.messages[1]!;
    for (const added of [{ number: 47 }, { consent: 'once' }] satisfies Answer[]) {
      expect(await verifyDeviceSignature(publicJwk, login('approve', v.origin, added), bare.signature)).toBe(false);
    }
    // What v2 signed before the answer lines existed (six lines) is not an answer either.
    const sixLines = new TextEncoder().encode(bare.text.split('\n').slice(0, 6).join('\n'));
    expect(await verifyDeviceSignature(publicJwk, sixLines, bare.signature)).toBe(false);
  });

  it('refuses to sign an answer number outside 10–99, a consent other than once/always, or either on a scan', () => {
    for (const number of [9, 100, 42.5, -47, Number.NaN]) expect(() => login('approve', v.origin, { number }), String(number)).toThrow(TypeError);
    expect(() => login('approve', v.origin, { consent: 'forever' as ConsentChoice })).toThrow(TypeError);
    expect(() => login('approve', v.origin, { consent: 'once\n47' as ConsentChoice })).toThrow(TypeError);
    expect(() => login('scan', v.origin, { number: 47 })).toThrow(TypeError);
    expect(() => login('scan', v.origin, { consent: 'once' })).toThrow(TypeError);
  });

  it('a signature made with the vector private key verifies with its public key', async () => {
    const key = await crypto.subtle.importKey('jwk', v.private_jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const bytes = login('deny');
    expect(await verifyDeviceSignature(publicJwk, bytes, await signDeviceMessage(key, bytes))).toBe(true);
  });

  it('refuses to sign for something that is not an http(s) origin (no line feed, path or trailing slash can get in)', () => {
    for (const origin of ['https://login.example.cz/', 'https://login.example.cz/x', 'login.example.cz', 'https://a\nb', 'ftp://a.example', 'https://LOGIN.example.cz', 'https://a.example:443']) {
      expect(() => login('approve', origin), origin).toThrow(TypeError);
      expect(() => revocationMessage({ origin, deviceId: v.device_id, timestamp: 1 }), origin).toThrow(TypeError);
    }
  });

  it('reproduces the QR frames: the HMAC text, the frame and the login URL it makes', async () => {
    for (const frame of v.frames) {
      expect(frame.text).toBe(['mobile-key-frame-v2', frame.kind, v.login_id, String(frame.step)].join('\n'));
      expect(`${frame.kind}${frame.step}.${await frameMac(v.frame_key, frame.kind, v.login_id, frame.step)}`).toBe(frame.frame);
      expect(buildLoginUrl(v.origin, v.login_id, frame.frame)).toBe(frame.login_url);
      expect(parseLoginUrl(frame.login_url)).toEqual({ origin: v.origin, loginId: v.login_id, frame: frame.frame });
    }
    // Each second and each kind has its own MAC.
    expect(new Set(v.frames.map((f) => f.frame.split('.')[1])).size).toBe(v.frames.length);
  });
});
