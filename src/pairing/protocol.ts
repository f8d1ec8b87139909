/**
 * The pairing protocol's pure parts (docs/pairing.md): the URL a pairing QR encodes and the exact
 * bytes the two devices sign. No Workers API, so the web app, the key CLI and the tests share it.
 *
 * Both signed messages have the five-line shape of src/mobile/protocol.ts:
 *
 *   mobile-key-v2
 *   pair-claim        the NEW device proves it holds the key it asks to enrol
 *   <pairing id>      64 lowercase hex characters
 *   -
 *   <thumbprint>      RFC 7638 SHA-256 thumbprint of the new public key (base64url, 43 chars)
 *
 *   mobile-key-v2
 *   pair-confirm      the EXISTING key (the one that started the pairing) lets the new key in
 *   <pairing id>
 *   <nonce>           issued when the new device claimed the pairing
 *   <device id>       the existing key's device id
 *
 * The pairing id in the login slot keeps these apart from every login message (whose actions
 * are scan/approve/deny) and from the device requests (whose login slot is `-` or a subject).
 */
import { calculateJwkThumbprint } from 'jose';
import { MESSAGE_TAG } from '../mobile/protocol.ts';

/** The path of the web app's screen that a pairing QR opens. */
export const PAIRING_URL_PATH = '/key/pair';

const FIELD = /^[A-Za-z0-9_-]{1,128}$/;
const PAIRING_ID = /^[0-9a-f]{64}$/;

/** What a pairing QR encodes: `<origin>/key/pair#<pairing id>.<secret>`. */
export function buildPairingUrl(origin: string, pairingId: string, secret: string): string {
  return `${origin}${PAIRING_URL_PATH}#${pairingId}.${secret}`;
}

/**
 * Splits a pairing URL (the inverse of {@link buildPairingUrl}).
 * @returns null when the text is not a pairing URL.
 */
export function parsePairingUrl(text: string): { origin: string; pairingId: string; secret: string } | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  const match = /^#([0-9a-f]{64})\.([A-Za-z0-9_-]{16,128})$/.exec(url.hash);
  if (url.pathname !== PAIRING_URL_PATH || !match) return null;
  return { origin: url.origin, pairingId: match[1]!, secret: match[2]! };
}

/** The RFC 7638 SHA-256 thumbprint (base64url) of a P-256 public JWK. */
export function keyThumbprint(publicJwk: JsonWebKey): Promise<string> {
  return calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: publicJwk.x!, y: publicJwk.y! }, 'sha256');
}

/**
 * The message the new device signs with its new key to claim a pairing.
 * @throws {TypeError} for a pairing id that is not 64 hex characters or a malformed thumbprint.
 */
export function pairClaimMessage(input: { pairingId: string; thumbprint: string }): Uint8Array<ArrayBuffer> {
  if (!PAIRING_ID.test(input.pairingId)) throw new TypeError('pairingId is not a pairing id');
  if (!FIELD.test(input.thumbprint)) throw new TypeError('thumbprint is not a valid protocol field');
  return new TextEncoder().encode([MESSAGE_TAG, 'pair-claim', input.pairingId, '-', input.thumbprint].join('\n'));
}

/**
 * The message the existing key signs to confirm the device that claimed the pairing.
 * @throws {TypeError} for a pairing id that is not 64 hex characters or a malformed nonce or device id.
 */
export function pairConfirmMessage(input: { pairingId: string; nonce: string; deviceId: string }): Uint8Array<ArrayBuffer> {
  if (!PAIRING_ID.test(input.pairingId)) throw new TypeError('pairingId is not a pairing id');
  if (!FIELD.test(input.nonce) || !FIELD.test(input.deviceId)) throw new TypeError('nonce or deviceId is not a valid protocol field');
  return new TextEncoder().encode([MESSAGE_TAG, 'pair-confirm', input.pairingId, input.nonce, input.deviceId].join('\n'));
}
