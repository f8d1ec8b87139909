/**
 * Validation of the public key a device enrols: a P-256 public JWK (RFC 7517, RFC 7518 §6.2.1).
 * No Workers API: WebCrypto only.
 */
import { ProblemError } from '../http/problem.ts';
import type { PublicP256Jwk } from '../identity/devices.ts';
import { base64urlDecode } from './protocol.ts';

const invalid = (detail: string) => new ProblemError('invalid-public-key', 400, 'Invalid public key', { detail });

/**
 * Checks that `value` is a usable P-256 public key and returns only its public members.
 * Refuses private keys outright (a `d` member means the device sent its secret: it must make
 * a new key), other curves and key types, and points that are not on the curve.
 * @throws {ProblemError} 400 `invalid-public-key` naming the reason.
 */
export async function parsePublicJwk(value: unknown): Promise<PublicP256Jwk> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('public_jwk must be a JWK object.');
  const jwk = value as Record<string, unknown>;
  if ('d' in jwk) {
    throw invalid('public_jwk contains a private key ("d"); send only the public key and generate a new key pair.');
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw invalid('public_jwk must be an EC key on P-256 (kty "EC", crv "P-256").');
  for (const name of ['x', 'y'] as const) {
    const coordinate = jwk[name];
    const bytes = typeof coordinate === 'string' ? base64urlDecode(coordinate) : null;
    if (!bytes || bytes.byteLength !== 32) throw invalid(`public_jwk.${name} must be 32 bytes in base64url.`);
  }
  const key: PublicP256Jwk = { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
  try {
    await crypto.subtle.importKey('jwk', { ...key, ext: true }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  } catch {
    throw invalid('public_jwk is not a point on P-256.');
  }
  return key;
}
