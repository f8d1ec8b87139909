/**
 * ID token signing keys from the `SIGNING_KEYS` secret: a JSON array of private JWKs, each with
 * `kid` and `alg` (RS256 or ES256). The first key of an alg signs; every key is published in the
 * JWKS, so a new key can be added (published) before it signs and an old one kept until the
 * tokens it signed have expired (rotation).
 */
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { IdTokenAlg } from './clients.ts';

/** A private signing key ready for `jose`. */
export interface SigningKey {
  kid: string;
  alg: IdTokenAlg;
  key: CryptoKey;
}

/** Members of a JWK that are public (RFC 7517 §4, RFC 7518 §6.2.1, §6.3.1). */
const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'] as const;

let cached: { source: string; jwks: JWK[]; keys: Promise<SigningKey[]> } | undefined;

/**
 * Parses `SIGNING_KEYS` once per isolate.
 * @throws {Error} when the secret is missing or malformed (a deployment error: logged, 500).
 */
function load(source: string | undefined): { jwks: JWK[]; keys: Promise<SigningKey[]> } {
  if (cached && cached.source === source) return cached;
  if (!source) throw new Error('SIGNING_KEYS is not set');
  const jwks = JSON.parse(source) as JWK[];
  if (!Array.isArray(jwks) || jwks.length === 0) throw new Error('SIGNING_KEYS must be a non-empty JSON array of JWKs');
  for (const jwk of jwks) {
    if (!jwk.kid || (jwk.alg !== 'RS256' && jwk.alg !== 'ES256') || !jwk.d) {
      throw new Error('every SIGNING_KEYS entry must be a private JWK with kid and alg RS256 or ES256');
    }
  }
  const keys = Promise.all(
    jwks.map(async (jwk) => ({ kid: jwk.kid!, alg: jwk.alg as IdTokenAlg, key: (await importJWK(jwk, jwk.alg)) as CryptoKey })),
  );
  cached = { source, jwks, keys };
  return cached;
}

/**
 * The key that signs ID tokens with `alg` (the first of that alg in `SIGNING_KEYS`).
 * @throws {Error} when no key of that alg is configured.
 */
export async function signingKey(env: Env, alg: IdTokenAlg): Promise<SigningKey> {
  const key = (await load(env.SIGNING_KEYS).keys).find((k) => k.alg === alg);
  if (!key) throw new Error(`no ${alg} key in SIGNING_KEYS`);
  return key;
}

/** The public JWK Set (RFC 7517 §5) of every configured key, private members removed. */
export function publicJwks(env: Env): { keys: JWK[] } {
  return {
    keys: load(env.SIGNING_KEYS).jwks.map((jwk) => {
      const publicJwk: JWK = { use: 'sig' };
      for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) (publicJwk as Record<string, unknown>)[member] = jwk[member];
      return publicJwk;
    }),
  };
}

/** The algs there is a key for (discovery `id_token_signing_alg_values_supported`). */
export function signingAlgs(env: Env): IdTokenAlg[] {
  return [...new Set(load(env.SIGNING_KEYS).jwks.map((jwk) => jwk.alg as IdTokenAlg))];
}
