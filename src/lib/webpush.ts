/**
 * Web Push for the Workers runtime, WebCrypto only: message encryption (RFC 8291, the
 * `aes128gcm` content coding of RFC 8188 in a single record) and VAPID (RFC 8292). The
 * application server encrypts to the subscription's keys, so the push service forwards bytes it
 * cannot read.
 */
import { base64url, importJWK, SignJWT, type JWK } from 'jose';

/** A browser's push subscription, as `PushSubscription.toJSON()` gives it. */
export interface PushSubscriptionJson {
  endpoint: string;
  keys: {
    /** The user agent's P-256 public key, uncompressed point (65 bytes), base64url. */
    p256dh: string;
    /** The 16-byte authentication secret, base64url. */
    auth: string;
  };
}

/** The record size written into the header (RFC 8188 §2); one record holds the whole message. */
const RECORD_SIZE = 4096;
/** Largest plaintext one record carries: 4096 − 86 header − 16 tag − 1 delimiter (RFC 8291 §4). */
export const MAX_PUSH_PLAINTEXT = RECORD_SIZE - 86 - 16 - 1;

const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** HKDF-SHA-256 (RFC 5869) of `length` bytes. */
async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey('raw', ikm as Uint8Array<ArrayBuffer>, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: salt as Uint8Array<ArrayBuffer>, info: info as Uint8Array<ArrayBuffer> },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** The JWK of an uncompressed P-256 point (0x04 ‖ x ‖ y). @throws {Error} for another shape. */
export function p256PointToJwk(point: Uint8Array): JsonWebKey {
  if (point.byteLength !== 65 || point[0] !== 0x04) throw new Error('not an uncompressed P-256 point');
  return { kty: 'EC', crv: 'P-256', x: base64url.encode(point.slice(1, 33)), y: base64url.encode(point.slice(33, 65)), ext: true };
}

/** An ECDH P-256 key pair for one message: its private key and its public point (65 bytes). */
export interface SenderKeys {
  privateKey: CryptoKey;
  publicPoint: Uint8Array;
}

/** A fresh ephemeral ECDH P-256 key pair (RFC 8291 §3.1: new for every message). */
export async function newSenderKeys(): Promise<SenderKeys> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicPoint: new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer) };
}

/**
 * Encrypts a push message to a subscription (RFC 8291 §3.4, §4; RFC 8188 §2).
 * @param plaintext at most {@link MAX_PUSH_PLAINTEXT} bytes.
 * @param options.salt and options.senderKeys only for test vectors: both MUST be fresh per
 *   message, which is what the defaults give.
 * @returns the request body: salt(16) ‖ rs(4) ‖ idlen(1) ‖ sender public key(65) ‖ ciphertext.
 * @throws {Error} when the subscription's keys are malformed or the plaintext is too long.
 */
export async function encryptPushMessage(
  plaintext: Uint8Array,
  subscription: PushSubscriptionJson,
  options: { salt?: Uint8Array; senderKeys?: SenderKeys } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (plaintext.byteLength > MAX_PUSH_PLAINTEXT) throw new Error('push message too long for one record');
  const uaPublic = base64url.decode(subscription.keys.p256dh);
  const authSecret = base64url.decode(subscription.keys.auth);
  if (authSecret.byteLength !== 16) throw new Error('auth secret must be 16 bytes');
  const uaKey = await crypto.subtle.importKey('jwk', p256PointToJwk(uaPublic), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const sender = options.senderKeys ?? (await newSenderKeys());
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  if (salt.byteLength !== 16) throw new Error('salt must be 16 bytes');

  const ecdhSecret = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: uaKey }, sender.privateKey, 256));
  // RFC 8291 §3.4: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" ‖ 0 ‖ ua_public ‖ as_public, 32)
  const keyInfo = concat(encoder.encode('WebPush: info\0'), uaPublic, sender.publicPoint);
  const ikm = await hkdf(authSecret, ecdhSecret, keyInfo, 32);
  const cek = await hkdf(salt, ikm, encoder.encode('Content-Encoding: aes128gcm\0'), 16);
  const nonce = await hkdf(salt, ikm, encoder.encode('Content-Encoding: nonce\0'), 12);

  // RFC 8188 §2: the last record's plaintext ends with the delimiter 0x02 (no further padding).
  const record = concat(plaintext, new Uint8Array([0x02]));
  const aesKey = await crypto.subtle.importKey('raw', cek, 'AES-GCM', false, ['encrypt']);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, aesKey, record));

  const header = new Uint8Array(21);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = sender.publicPoint.byteLength;
  return concat(header, sender.publicPoint, ciphertext);
}

/** A VAPID key pair (RFC 8292 §3.2): the private JWK and the public point the browser subscribes with. */
export interface VapidKeys {
  /** ES256 private JWK (kty EC, crv P-256, x, y, d). */
  privateJwk: JWK;
  /** The uncompressed public point, base64url: `applicationServerKey` for `pushManager.subscribe`. */
  publicKey: string;
}

/** A fresh VAPID key pair (for `npm start`'s local secrets). */
export async function generateVapidKeys(): Promise<VapidKeys> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JWK;
  const point = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  return { privateJwk: { kty: 'EC', crv: 'P-256', x: privateJwk.x!, y: privateJwk.y!, d: privateJwk.d! }, publicKey: base64url.encode(point) };
}

/**
 * The `Authorization` header value for a push request (RFC 8292 §3: `vapid t=<JWT>, k=<key>`),
 * the JWT's `aud` being the push service's origin.
 * @param subject a `mailto:` or `https:` contact for the push service's operator.
 * @param now epoch milliseconds; the token lives 12 hours (RFC 8292 §2: at most 24).
 */
export async function vapidAuthorization(endpoint: string, keys: VapidKeys, subject: string, now = Date.now()): Promise<string> {
  const key = await importJWK(keys.privateJwk, 'ES256');
  const iat = Math.floor(now / 1000);
  const jwt = await new SignJWT({ sub: subject })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setAudience(new URL(endpoint).origin)
    .setExpirationTime(iat + 12 * 3600)
    .sign(key);
  return `vapid t=${jwt}, k=${keys.publicKey}`;
}

/**
 * The request to POST to the subscription's endpoint (RFC 8030 §5): the encrypted body with
 * `Content-Encoding: aes128gcm`, a `TTL` in seconds and VAPID authorization.
 */
export async function pushRequest(
  subscription: PushSubscriptionJson,
  payload: unknown,
  vapid: { keys: VapidKeys; subject: string },
  ttlSeconds = 24 * 3600,
): Promise<Request> {
  const body = await encryptPushMessage(encoder.encode(JSON.stringify(payload)), subscription);
  return new Request(subscription.endpoint, {
    method: 'POST',
    body,
    headers: {
      'Content-Encoding': 'aes128gcm',
      'Content-Type': 'application/octet-stream',
      TTL: String(ttlSeconds),
      Urgency: 'high',
      Authorization: await vapidAuthorization(subscription.endpoint, vapid.keys, vapid.subject),
    },
  });
}

/** A push service's answer that means the subscription is gone and must be removed (RFC 8030 §7.3). */
export function isGoneSubscription(status: number): boolean {
  return status === 404 || status === 410;
}
