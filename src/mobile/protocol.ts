/**
 * The signed mobile key protocol (v2): the exact bytes a device signs, and their verification.
 * Specified for app developers in `docs/mobile-protocol.md` §5; no Workers API here, so the CLI,
 * the web app and the tests share it.
 *
 * A signed message is UTF-8 text, lines joined by "\n" with no trailing newline. A scan is six lines:
 *
 *   mobile-key-v2
 *   <issuer origin>   the service's origin (RFC 6454 §6.2), e.g. https://login.example.cz
 *   scan
 *   <login id>        64 lowercase hex characters
 *   -                 no nonce yet
 *   <device id>
 *
 * An answer (approve | deny) is eight: the same six with the scan's nonce, then what the answer
 * body carries beside the decision, so none of it can be changed in transit ({@link signedMessage}):
 *
 *   mobile-key-v2
 *   <issuer origin>
 *   <action>          approve | deny
 *   <login id>
 *   <nonce>           the server nonce issued at scan time
 *   <device id>
 *   <number>          the body's `number` (number matching), two decimal digits 10–99; "-" without one
 *   <consent>         the body's `consent`, once | always; "-" without one
 *
 * A device revoking its own key signs the six-line shape with no login ({@link revocationMessage}):
 *
 *   mobile-key-v2
 *   <issuer origin>
 *   revoke
 *   -                 no login
 *   <timestamp>       the device's clock, epoch milliseconds in decimal
 *   <device id>
 *
 * The origin line makes a signature made for one service worthless at any other (a relay that
 * forwards the phone's signatures to the real service needs them made for the real origin, which
 * the phone only does for the service it is enrolled with). Request bodies carry
 * `"version": 2`; a body without it is v1 and refused ({@link PROTOCOL_VERSION}).
 *
 * The signature is ECDSA over P-256 with SHA-256 (FIPS 186-5), encoded as the 64-byte IEEE P1363
 * concatenation r‖s (what WebCrypto produces), in base64url without padding (RFC 4648 §5).
 */

/** The protocol version of request bodies (`"version": 2`); v1 (no `version`) is refused. */
export const PROTOCOL_VERSION = 2;
/** The first line of every v2 signed message. */
export const MESSAGE_TAG = 'mobile-key-v2';

/** The login actions of {@link signedMessage}; a device's own revocation is {@link revocationMessage}. */
export type SignedAction = 'scan' | 'approve' | 'deny';

/** The consent choices an answer may carry (docs/mobile-protocol.md §3). */
export type ConsentChoice = 'once' | 'always';

/** Characters allowed in every field of a signed message (so "\n" cannot be smuggled in). */
const FIELD = /^[A-Za-z0-9_-]{1,128}$/;
/** An ASCII-serialised http(s) origin: scheme, lowercase host, optional port; no path. */
const ORIGIN = /^https?:\/\/[a-z0-9.-]{1,253}(?::[0-9]{1,5})?$/;
/** The line written for an answer field the body does not carry. */
const ABSENT = '-';

/**
 * Whether `origin` is an origin a message may name: the ASCII serialisation of an http(s) origin
 * (RFC 6454 §6.2), exactly as `new URL(x).origin` writes it (no trailing slash, no default port).
 */
export function isSignableOrigin(origin: string): boolean {
  if (typeof origin !== 'string' || !ORIGIN.test(origin)) return false;
  try {
    return new URL(origin).origin === origin;
  } catch {
    return false;
  }
}

function checkOrigin(origin: string): void {
  if (!isSignableOrigin(origin)) throw new TypeError('origin is not an ASCII http(s) origin');
}

/** The number line of an answer: the pick in decimal, or "-". @throws {TypeError} outside 10–99. */
function numberLine(number: number | undefined): string {
  if (number === undefined) return ABSENT;
  if (!Number.isInteger(number) || number < 10 || number > 99) throw new TypeError('number is not an integer 10–99');
  return String(number);
}

/** The consent line of an answer: the choice, or "-". @throws {TypeError} for any other value. */
function consentLine(consent: ConsentChoice | undefined): string {
  if (consent === undefined) return ABSENT;
  if (consent !== 'once' && consent !== 'always') throw new TypeError('consent is not once or always');
  return consent;
}

/**
 * Builds the canonical message a device signs for a login (v2, docs/mobile-protocol.md §5):
 * six lines for `scan`, eight for `approve` / `deny` (the answer's `number` and `consent` lines,
 * each "-" when the answer body does not carry it). Sign exactly what the body sends: the server
 * rebuilds the message from the body, so a number or consent changed in transit, added or dropped
 * makes the signature fail.
 * @param input.origin the issuer's origin (`https://login.example.cz`, no trailing slash).
 * @param input.loginId the login's id (from the QR).
 * @param input.nonce the server nonce from the scan response; omit for `scan`.
 * @param input.number an answer's number-matching pick (integer 10–99), as sent in its body.
 * @param input.consent an answer's consent choice, as sent in its body.
 * @throws {TypeError} if the origin is not an http(s) origin, a field has characters outside
 *   [A-Za-z0-9_-] or is empty or too long, the number is not an integer 10–99, the consent is
 *   not `once`/`always`, or a scan is given a number or consent.
 */
export function signedMessage(input: {
  origin: string;
  action: SignedAction;
  loginId: string;
  deviceId: string;
  nonce?: string;
  number?: number;
  consent?: ConsentChoice;
}): Uint8Array<ArrayBuffer> {
  checkOrigin(input.origin);
  const scan = input.action === 'scan';
  const nonce = scan ? ABSENT : (input.nonce ?? '');
  for (const [name, value] of Object.entries({ loginId: input.loginId, deviceId: input.deviceId, nonce })) {
    if (!(value === ABSENT && name === 'nonce' && scan) && !FIELD.test(value)) {
      throw new TypeError(`${name} is not a valid protocol field`);
    }
  }
  const lines = [MESSAGE_TAG, input.origin, input.action, input.loginId, nonce, input.deviceId];
  if (scan) {
    if (input.number !== undefined || input.consent !== undefined) throw new TypeError('a scan carries no number or consent');
  } else {
    lines.push(numberLine(input.number), consentLine(input.consent));
  }
  return new TextEncoder().encode(lines.join('\n'));
}

/**
 * The message an answer's signature must cover, rebuilt from the answer as received: its decision,
 * the scan nonce it names and exactly the `number` and `consent` it carries ({@link signedMessage}).
 * @throws {TypeError} as {@link signedMessage} (a nonce, number or consent the protocol does not allow).
 */
export function answerMessage(
  origin: string,
  loginId: string,
  answer: { decision: 'approve' | 'deny'; device: { id: string }; nonce: string; number?: number; consent?: ConsentChoice },
): Uint8Array<ArrayBuffer> {
  const { decision: action, device, nonce, number, consent } = answer;
  return signedMessage({ origin, action, loginId, deviceId: device.id, nonce, number, consent });
}

/** The action of a device revoking its own key (not tied to a login). */
export const REVOKE_ACTION = 'revoke';

/**
 * Signed requests a device makes about itself, not about a login: the same five-line shape as
 * {@link revocationMessage}, with the action, a subject in the login slot (`-` when there is none)
 * and the device's clock:
 *
 *   mobile-key-v2
 *   <action>          pair-start | notifications | notifications-read | push-subscribe
 *   <subject>         "-", or what the request is about (the last notification id read, the
 *                     push endpoint's SHA-256 in base64url)
 *   <timestamp>       epoch milliseconds in decimal
 *   <device id>
 *
 * Timestamps are checked against {@link REVOCATION_WINDOW_MS}, as revocations are.
 */
export type DeviceRequestAction = 'pair-start' | 'notifications' | 'notifications-read' | 'push-subscribe';

/**
 * Builds the canonical message of a {@link DeviceRequestAction}.
 * @param input.timestamp the signer's clock, epoch milliseconds (a positive safe integer).
 * @param input.subject a protocol field, or omitted for `-`.
 * @throws {TypeError} if the device id or subject is not a protocol field or the timestamp is not a positive safe integer.
 */
export function deviceRequestMessage(input: {
  action: DeviceRequestAction;
  deviceId: string;
  timestamp: number;
  subject?: string;
}): Uint8Array<ArrayBuffer> {
  if (!FIELD.test(input.deviceId)) throw new TypeError('deviceId is not a valid protocol field');
  const subject = input.subject ?? '-';
  if (subject !== '-' && !FIELD.test(subject)) throw new TypeError('subject is not a valid protocol field');
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp <= 0) {
    throw new TypeError('timestamp must be a positive integer (epoch milliseconds)');
  }
  return new TextEncoder().encode([MESSAGE_TAG, input.action, subject, String(input.timestamp), input.deviceId].join('\n'));
}

/**
 * How far a revocation's timestamp may be from the server's clock, either way, in milliseconds
 * (5 minutes): a captured revocation cannot be replayed later, and phones with a slightly wrong
 * clock still work.
 */
export const REVOCATION_WINDOW_MS = 5 * 60 * 1000;

/**
 * Builds the canonical message a device signs to revoke its own key:
 * `mobile-key-v2`, the origin, `revoke`, `-` (no login), the timestamp, the device id, joined by "\n".
 * The action line and the `-` in the login slot keep it apart from every scan/approve/deny
 * message (whose login slot is always 64 hex characters), so no login signature can revoke a
 * device and no revocation can answer a login.
 * @param input.origin the issuer's origin.
 * @param input.deviceId the device's id (`device_id` of the enrolment).
 * @param input.timestamp the signer's clock, epoch milliseconds (a positive safe integer).
 * @throws {TypeError} if the origin or device id is not valid or the timestamp is not a positive safe integer.
 */
export function revocationMessage(input: { origin: string; deviceId: string; timestamp: number }): Uint8Array<ArrayBuffer> {
  checkOrigin(input.origin);
  if (!FIELD.test(input.deviceId)) throw new TypeError('deviceId is not a valid protocol field');
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp <= 0) {
    throw new TypeError('timestamp must be a positive integer (epoch milliseconds)');
  }
  return new TextEncoder().encode(
    [MESSAGE_TAG, input.origin, REVOKE_ACTION, '-', String(input.timestamp), input.deviceId].join('\n'),
  );
}

/**
 * Whether a revocation's timestamp is within {@link REVOCATION_WINDOW_MS} of the server's clock.
 * @param timestamp the signed timestamp, epoch milliseconds.
 * @param now the server's clock, epoch milliseconds.
 */
export function isRevocationTimely(timestamp: number, now: number): boolean {
  return Math.abs(now - timestamp) <= REVOCATION_WINDOW_MS;
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * Imports an enrolled P-256 public key for {@link verifyWithDeviceKey}.
 * @param publicJwk the enrolled key (only `x` and `y` are used).
 * @returns the verification key, or null when the JWK is not a point on P-256; never throws.
 */
export async function importDeviceKey(publicJwk: JsonWebKey): Promise<CryptoKey | null> {
  try {
    return await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y, ext: true }, ECDSA, false, ['verify']);
  } catch {
    return null;
  }
}

/**
 * Verifies a device signature with a key from {@link importDeviceKey} (null: an unusable key, false).
 * @param message the canonical message bytes ({@link signedMessage}).
 * @param signature base64url r‖s (64 bytes).
 * @returns false for a wrong or malformed signature; never throws.
 */
export async function verifyWithDeviceKey(key: CryptoKey | null, message: Uint8Array<ArrayBuffer>, signature: string): Promise<boolean> {
  const bytes = base64urlDecode(signature);
  if (!key || !bytes || bytes.byteLength !== 64) return false;
  try {
    return await crypto.subtle.verify(ECDSA_SHA256, key, bytes, message);
  } catch {
    return false;
  }
}

/**
 * Verifies a device signature.
 * @param publicJwk the enrolled P-256 public key.
 * @param message the canonical message bytes ({@link signedMessage}).
 * @param signature base64url r‖s (64 bytes).
 * @returns false for a wrong signature, a malformed signature or an unusable key; never throws.
 */
export async function verifyDeviceSignature(
  publicJwk: JsonWebKey,
  message: Uint8Array<ArrayBuffer>,
  signature: string,
): Promise<boolean> {
  const bytes = base64urlDecode(signature);
  if (!bytes || bytes.byteLength !== 64) return false;
  return verifyWithDeviceKey(await importDeviceKey(publicJwk), message, signature);
}

/**
 * Signs a canonical message with a device's private key (used by the reference clients and tests).
 * @returns base64url r‖s.
 */
export async function signDeviceMessage(privateKey: CryptoKey, message: Uint8Array<ArrayBuffer>): Promise<string> {
  return base64urlEncode(new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, privateKey, message)));
}

/** base64url without padding (RFC 4648 §5). */
export function base64urlEncode(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes base64url without padding; null for anything else. */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * What follows the login id in a login URL: a rotating QR frame (`r<step>.<mac>`), the frame of
 * a page without script (`s<step>.<mac>`) or the same-device launch token (`l.<token>`); see
 * src/session/rotation.ts and docs/mobile-protocol.md §2. The phone sends it as `frame`.
 */
export const FRAME_PATTERN = /^(?:[rs][0-9]{1,6}\.[A-Za-z0-9_-]{22}|l\.[A-Za-z0-9_-]{22,64})$/;

/**
 * Splits what a login QR (or the same-device link) encodes: `<origin>/key/login#<login id>.<frame>`.
 * @returns null when the text is not a login URL.
 */
export function parseLoginUrl(text: string): { origin: string; loginId: string; frame: string } | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const match = /^#([0-9a-f]{64})\.(.{1,80})$/.exec(url.hash);
  if (url.pathname !== LOGIN_URL_PATH || !match || !FRAME_PATTERN.test(match[2]!)) return null;
  return { origin: url.origin, loginId: match[1]!, frame: match[2]! };
}

/** The path of the mobile key web app's login screen, which the QR's URL opens. */
export const LOGIN_URL_PATH = '/key/login';

/** Builds what a login QR encodes (the inverse of {@link parseLoginUrl}). */
export function buildLoginUrl(origin: string, loginId: string, frame: string): string {
  return `${origin}${LOGIN_URL_PATH}#${loginId}.${frame}`;
}
