/**
 * Identities in D1: a stable subject identifier and the person's claims (OIDC Core §5.1 names).
 * Query functions take the database so tests call them directly.
 */
import { isSafeDisplayName } from '../http/names.ts';

/** The claims we hold for a person, by their OIDC standard names (OIDC Core §5.1). */
export interface IdentityClaims {
  given_name?: string;
  family_name?: string;
  birthdate?: string; // YYYY-MM-DD
  email?: string;
  email_verified?: boolean;
  phone_number?: string;
  phone_number_verified?: boolean;
  address?: { formatted?: string; street_address?: string; locality?: string; postal_code?: string; country?: string };
  [claim: string]: unknown;
}

export interface Identity {
  sub: string;
  claims: IdentityClaims;
  /** Epoch milliseconds. */
  createdAt: number;
}

/**
 * Creates an identity with a fresh random `sub` (never reused: 128 bits, `sub_` prefix).
 * @param now epoch milliseconds.
 */
export async function createIdentity(db: D1Database, claims: IdentityClaims, now = Date.now()): Promise<Identity> {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const sub = `sub_${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  await db
    .prepare('INSERT INTO identities (sub, claims, created_at) VALUES (?1, ?2, ?3)')
    .bind(sub, JSON.stringify(claims), now)
    .run();
  return { sub, claims, createdAt: now };
}

/** The identity with this `sub`, or null. */
export async function getIdentity(db: D1Database, sub: string): Promise<Identity | null> {
  const row = await db
    .prepare('SELECT sub, claims, created_at FROM identities WHERE sub = ?1')
    .bind(sub)
    .first<{ sub: string; claims: string; created_at: number }>();
  return row ? { sub: row.sub, claims: JSON.parse(row.claims) as IdentityClaims, createdAt: row.created_at } : null;
}

/**
 * Identities whose `email` claim equals `email` exactly (oldest first). Used by operators (and
 * the demo seed) to find a person again; e-mail is not unique, so this returns a list.
 */
export async function findIdentitiesByEmail(db: D1Database, email: string): Promise<Identity[]> {
  const { results } = await db
    .prepare("SELECT sub, claims, created_at FROM identities WHERE json_extract(claims, '$.email') = ?1 ORDER BY created_at, sub")
    .bind(email)
    .all<{ sub: string; claims: string; created_at: number }>();
  return results.map((row) => ({ sub: row.sub, claims: JSON.parse(row.claims) as IdentityClaims, createdAt: row.created_at }));
}

/**
 * The short name a person recognises as theirs, shown before a key is added to their identity
 * ("Jana N."): the given name and the family name's initial; only the family name's initial, or
 * the given name alone, when the other is missing; '' when there is neither. Names with
 * control or invisible formatting characters are left out (src/http/names.ts).
 */
export function shortPersonName(claims: IdentityClaims): string {
  const clean = (value: unknown) => (typeof value === 'string' && isSafeDisplayName(value.trim()) ? value.trim().slice(0, 64) : '');
  const given = clean(claims.given_name);
  const initial = [...clean(claims.family_name)][0];
  return [given, initial ? `${initial.toLocaleUpperCase('cs')}.` : ''].filter(Boolean).join(' ');
}
