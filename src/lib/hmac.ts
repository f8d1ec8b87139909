/**
 * HMAC-SHA-256 (RFC 2104, FIPS 198-1) with WebCrypto, on the ground floor for any area.
 */

const keys = new Map<string, Promise<CryptoKey>>();

/** The imported key for a secret (imported once per isolate; a secret is a handful of values). */
function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    keys.set(secret, key);
  }
  return key;
}

/**
 * HMAC-SHA-256 of a UTF-8 message under a UTF-8 secret.
 * @returns the 32-byte MAC as unpadded base64url (43 characters, RFC 4648 §5).
 */
export async function hmacSha256Base64url(secret: string, message: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await keyFor(secret), new TextEncoder().encode(message)));
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
