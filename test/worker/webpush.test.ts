/**
 * Web Push inside workerd: RFC 8291 §5's example reproduced byte for byte, a round trip decrypted
 * the way a browser would (with the user agent's private key), and a VAPID header a push service
 * can verify (RFC 8292).
 */
import { base64url, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  encryptPushMessage,
  generateVapidKeys,
  isGoneSubscription,
  MAX_PUSH_PLAINTEXT,
  p256PointToJwk,
  pushRequest,
  vapidAuthorization,
} from '../../src/lib/webpush.ts';

// RFC 8291 §5, "Push Message Encryption Example".
const RFC = {
  plaintext: 'When I grow up, I want to be a watermelon',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  asPublic: 'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  body:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml' +
    'mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT' +
    'pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;

function privateEcdhKey(d: string, publicPoint: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('jwk', { ...p256PointToJwk(base64url.decode(publicPoint)), d }, ECDH, false, ['deriveBits']);
}

type Bytes = Uint8Array<ArrayBuffer>;

async function hkdf(salt: Bytes, ikm: Bytes, info: string | Bytes, length: number): Promise<Bytes> {
  const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const infoBytes = typeof info === 'string' ? new TextEncoder().encode(info) : info;
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: infoBytes }, key, length * 8));
}

/** The user agent's side of RFC 8291, written separately from the sender's. */
async function decryptAsBrowser(body: Bytes, uaPrivate: CryptoKey, uaPublic: Uint8Array, auth: Uint8Array): Promise<string> {
  const salt = body.slice(0, 16);
  const idlen = body[20]!;
  const asPublic = body.slice(21, 21 + idlen);
  const ciphertext = body.slice(21 + idlen);
  const asKey = await crypto.subtle.importKey('jwk', p256PointToJwk(asPublic), ECDH, false, []);
  const ecdh = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: asKey }, uaPrivate, 256));
  const info = new Uint8Array([...new TextEncoder().encode('WebPush: info\0'), ...uaPublic, ...asPublic]);
  const ikm = await hkdf(new Uint8Array(auth), ecdh, info, 32);
  const cek = await crypto.subtle.importKey('raw', await hkdf(salt, ikm, 'Content-Encoding: aes128gcm\0', 16), 'AES-GCM', false, ['decrypt']);
  const iv = await hkdf(salt, ikm, 'Content-Encoding: nonce\0', 12);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, cek, ciphertext));
  const end = padded.lastIndexOf(0x02);
  return new TextDecoder().decode(padded.slice(0, end));
}

const subscription = { endpoint: 'https://push.example/send/abc', keys: { p256dh: RFC.uaPublic, auth: RFC.auth } };

describe('RFC 8291 message encryption', () => {
  it('reproduces the RFC 8291 §5 example byte for byte', async () => {
    const senderKeys = { privateKey: await privateEcdhKey(RFC.asPrivate, RFC.asPublic), publicPoint: base64url.decode(RFC.asPublic) };
    const body = await encryptPushMessage(new TextEncoder().encode(RFC.plaintext), subscription, {
      salt: base64url.decode(RFC.salt),
      senderKeys,
    });
    expect(base64url.encode(body)).toBe(RFC.body);
  });

  it('encrypts with a fresh key and salt that the browser decrypts', async () => {
    const uaPrivate = await privateEcdhKey(RFC.uaPrivate, RFC.uaPublic);
    const first = await encryptPushMessage(new TextEncoder().encode('Nové přihlášení'), subscription);
    const second = await encryptPushMessage(new TextEncoder().encode('Nové přihlášení'), subscription);
    expect(base64url.encode(first.slice(0, 16))).not.toBe(base64url.encode(second.slice(0, 16)));
    expect(await decryptAsBrowser(first, uaPrivate, base64url.decode(RFC.uaPublic), base64url.decode(RFC.auth))).toBe('Nové přihlášení');
  });

  it('refuses malformed subscription keys and oversized messages', async () => {
    const text = new TextEncoder().encode('x');
    await expect(encryptPushMessage(text, { ...subscription, keys: { ...subscription.keys, auth: 'AAAA' } })).rejects.toThrow(/auth/);
    await expect(encryptPushMessage(text, { ...subscription, keys: { ...subscription.keys, p256dh: 'AAAA' } })).rejects.toThrow(/point/);
    await expect(encryptPushMessage(new Uint8Array(MAX_PUSH_PLAINTEXT + 1), subscription)).rejects.toThrow(/too long/);
  });
});

describe('RFC 8292 VAPID', () => {
  it("signs a 'vapid' authorization the push service verifies with the public key", async () => {
    const keys = await generateVapidKeys();
    const header = await vapidAuthorization(subscription.endpoint, keys, 'mailto:ops@mobile-key.example');
    const match = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(header);
    expect(match?.[2]).toBe(keys.publicKey);
    const publicKey = await importJWK(p256PointToJwk(base64url.decode(match![2]!)) as never, 'ES256');
    const { payload } = await jwtVerify(match![1]!, publicKey, { audience: 'https://push.example' });
    expect(payload.sub).toBe('mailto:ops@mobile-key.example');
    expect(payload.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(24 * 3600);
  });

  it('builds the RFC 8030 request: aes128gcm body, TTL and VAPID', async () => {
    const request = await pushRequest(subscription, { type: 'login' }, { keys: await generateVapidKeys(), subject: 'mailto:a@b.example' });
    expect(request.method).toBe('POST');
    expect(request.headers.get('Content-Encoding')).toBe('aes128gcm');
    expect(request.headers.get('TTL')).toBe('86400');
    expect(request.headers.get('Authorization')).toMatch(/^vapid t=/);
    const uaPrivate = await privateEcdhKey(RFC.uaPrivate, RFC.uaPublic);
    const body = new Uint8Array(await request.arrayBuffer());
    expect(JSON.parse(await decryptAsBrowser(body, uaPrivate, base64url.decode(RFC.uaPublic), base64url.decode(RFC.auth)))).toEqual({ type: 'login' });
  });

  it('treats 404 and 410 as a subscription that is gone', () => {
    expect([200, 201, 404, 410, 429, 500].filter(isGoneSubscription)).toEqual([404, 410]);
  });
});
