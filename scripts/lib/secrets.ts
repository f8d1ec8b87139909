/**
 * Local secrets for `wrangler dev`: an admin token, the ID token signing keys, the key of
 * pairwise subject identifiers and the VAPID keys of Web Push (RFC 8292).
 * Production sets the same names with `wrangler secret put`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { generateVapidKeys } from '../../src/lib/webpush.ts';

export interface LocalSecrets {
  /** Bearer token of the operator API (`/admin`). */
  ADMIN_TOKEN: string;
  /** JSON array of private JWKs (each with `kid` and `alg`) that sign ID tokens; the first of each alg signs. */
  SIGNING_KEYS: string;
  /**
   * HMAC-SHA-256 key of pairwise subject identifiers (OIDC Core §8.1, src/oidc/subject.ts), 256
   * bits base64url. Never rotated: a new value gives every pairwise client new `sub`s.
   */
  PAIRWISE_SECRET: string;
  /** JSON `{privateJwk, publicKey}`: the VAPID key pair Web Push messages are signed with (src/lib/webpush.ts). */
  VAPID_KEYS: string;
}

/** The names of {@link LocalSecrets}, in the order they are written. */
export const SECRET_NAMES = ['ADMIN_TOKEN', 'SIGNING_KEYS', 'PAIRWISE_SECRET', 'VAPID_KEYS'] as const;

/** A private signing JWK as `SIGNING_KEYS` holds it (src/oidc/keys.ts). */
export type SigningJwk = JWK & { kid: string; alg: 'RS256' | 'ES256' };

/** A fresh private signing JWK: RS256 (2048-bit RSA) or ES256 (P-256), with a random `kid`. */
export async function generateSigningKey(alg: 'RS256' | 'ES256'): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}` };
}

/**
 * Generates fresh secrets: a 256-bit admin token, an RS256 (2048-bit) and an ES256 signing key,
 * a 256-bit pairwise subject key and a VAPID key pair.
 */
export async function generateSecrets(): Promise<LocalSecrets> {
  const keys = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
  return {
    ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    SIGNING_KEYS: JSON.stringify(keys),
    PAIRWISE_SECRET: randomBytes(32).toString('base64url'),
    VAPID_KEYS: JSON.stringify(await generateVapidKeys()),
  };
}

/**
 * Key rotation step 1 (publish): appends `key` after every key of its alg, so it is published in
 * the JWKS but does not sign yet (the first key of an alg signs).
 */
export function publishKey(keys: SigningJwk[], key: SigningJwk): SigningJwk[] {
  return [...keys, key];
}

/**
 * Key rotation step 2 (sign): moves the key `kid` to the front, so it signs its alg; the others
 * stay published so tokens they signed still verify.
 * @throws {Error} when no key has that `kid`.
 */
export function promoteKey(keys: SigningJwk[], kid: string): SigningJwk[] {
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new Error(`no key with kid ${kid}`);
  return [key, ...keys.filter((k) => k !== key)];
}

/**
 * Key rotation step 3 (retire): removes the key `kid` once the ID tokens it signed have expired.
 * @throws {Error} when no key has that `kid`, or it is the only key of its alg (it still signs).
 */
export function retireKey(keys: SigningJwk[], kid: string): SigningJwk[] {
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new Error(`no key with kid ${kid}`);
  if (keys.find((k) => k.alg === key.alg) === key) throw new Error(`${kid} signs ${key.alg} now; promote another key first`);
  return keys.filter((k) => k !== key);
}

/**
 * Serialises secrets in the dotenv format that `.dev.vars` and `--env-file` read.
 * Single quotes keep a value literal (dotenv does not unescape `\"` inside double quotes, which
 * broke the JSON of SIGNING_KEYS); a value with a quote or newline falls back to JSON quoting.
 */
export function formatDotenv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${/['\n\r]/.test(v) ? JSON.stringify(v) : `'${v}'`}`)
    .join('\n')
    .concat('\n');
}

/** Reads `KEY=value` lines (values optionally JSON-quoted) from a dotenv file. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match) continue;
    const raw = match[2]!;
    values[match[1]!] = raw.startsWith('"')
      ? (JSON.parse(raw) as string)
      : raw.startsWith("'") && raw.endsWith("'") && raw.length > 1
        ? raw.slice(1, -1)
        : raw;
  }
  return values;
}

/**
 * Makes sure `path` (default `.dev.vars`) holds every local secret, generating missing ones and
 * keeping existing values (a `.dev.vars` from before PAIRWISE_SECRET gains it, its other values kept).
 * @returns the secrets in force and whether the file was created or changed.
 */
export async function ensureDevVars(path = '.dev.vars'): Promise<{ secrets: LocalSecrets; written: boolean }> {
  const existing = existsSync(path) ? parseDotenv(readFileSync(path, 'utf8')) : {};
  if (SECRET_NAMES.every((name) => existing[name])) {
    // Rewrite a file from the earlier double-quoted format, which wrangler read wrongly.
    const text = readFileSync(path, 'utf8');
    if (text !== formatDotenv(existing)) writeFileSync(path, formatDotenv(existing), { mode: 0o600 });
    return { secrets: existing as unknown as LocalSecrets, written: false };
  }
  // A file from before a secret existed keeps its values and gains the missing ones.
  const fresh = await generateSecrets();
  const merged = { ...fresh, ...existing } as Record<string, string>;
  writeFileSync(path, formatDotenv(merged), { mode: 0o600 });
  return { secrets: merged as unknown as LocalSecrets, written: true };
}
