/**
 * Subject identifiers (OIDC Core §8): which `sub` a client sees for a person. A `public` client
 * sees the identity's own `sub`; a `pairwise` client (§8.1) sees
 * `base64url(HMAC-SHA-256(PAIRWISE_SECRET, sector_identifier || sub))`, where the sector
 * identifier is the one host of the client's redirect URIs, stored at registration. The local
 * `sub` has a fixed length (`sub_` + 32 hex), so the concatenation is unambiguous.
 *
 * Every place a client meets a subject goes through here: the ID token, UserInfo, the logout
 * token (through the browser session's per-client record), the hints (which map back) and the
 * operator API's look-up. Pairwise subs issued are kept in D1 (`pairwise_subjects`) because an
 * HMAC cannot be inverted and a hint carrying one must name its identity again.
 */
import { hmacSha256Base64url } from '../lib/hmac.ts';

/** The subject types offered (discovery `subject_types_supported`, client `subject_type`). */
export const SUBJECT_TYPES = ['public', 'pairwise'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

/** Shortest accepted PAIRWISE_SECRET, in characters (`npm run secrets` makes 43: 256 bits). */
export const MIN_PAIRWISE_SECRET_LENGTH = 32;

/** What of a client decides its subjects. */
export interface SubjectClient {
  subjectType: SubjectType;
  /** The pairwise client's sector identifier (a host); null for a public client. */
  sectorIdentifier: string | null;
}

/**
 * The sector identifier of a set of redirect URIs (OIDC Core §8.1 without a
 * `sector_identifier_uri`): their host, when they all share one.
 * @returns the lower-case host name (no port), or null when the URIs name several hosts (or none).
 */
export function sectorIdentifierOf(redirectUris: readonly string[]): string | null {
  const hosts = new Set(redirectUris.map((uri) => URL.parse(uri)?.hostname ?? ''));
  const [host] = hosts;
  return hosts.size === 1 && host ? host : null;
}

/** The configured PAIRWISE_SECRET, or null when missing or too short to trust. */
export function pairwiseSecret(env: { PAIRWISE_SECRET?: string }): string | null {
  const secret = env.PAIRWISE_SECRET;
  return typeof secret === 'string' && secret.length >= MIN_PAIRWISE_SECRET_LENGTH ? secret : null;
}

/**
 * The pairwise `sub` of an identity in a sector (OIDC Core §8.1).
 * @returns 43 characters of base64url (256 bits).
 */
export function pairwiseSub(secret: string, sectorIdentifier: string, sub: string): Promise<string> {
  return hmacSha256Base64url(secret, `${sectorIdentifier}${sub}`);
}

/**
 * The `sub` this client sees for the identity `sub`.
 * @throws {Error} for a pairwise client when PAIRWISE_SECRET is not configured (a deployment
 *   error, like a missing signing key: registration of pairwise clients refuses first).
 */
export async function subjectFor(env: { PAIRWISE_SECRET?: string }, client: SubjectClient, sub: string): Promise<string> {
  if (client.subjectType !== 'pairwise') return sub;
  const secret = pairwiseSecret(env);
  if (!secret || !client.sectorIdentifier) throw new Error('pairwise subject without PAIRWISE_SECRET or sector identifier');
  return pairwiseSub(secret, client.sectorIdentifier, sub);
}

/**
 * {@link subjectFor} for a token about to carry the subject: a pairwise sub is also recorded
 * (idempotent), so a hint that carries it later maps back to the identity.
 * @param now epoch milliseconds.
 */
export async function issueSubject(env: Env, client: SubjectClient, sub: string, now = Date.now()): Promise<string> {
  const subject = await subjectFor(env, client, sub);
  if (client.subjectType === 'pairwise') {
    await env.DB.prepare('INSERT OR IGNORE INTO pairwise_subjects (sector_identifier, pairwise_sub, sub, created_at) VALUES (?1, ?2, ?3, ?4)')
      .bind(client.sectorIdentifier, subject, sub, now)
      .run();
  }
  return subject;
}

/**
 * The identity `sub` behind a `sub` this client sees: itself for a public client; for a pairwise
 * client the identity it was issued for.
 * @returns undefined when a pairwise sub was never issued in the client's sector.
 */
export async function localSubject(db: D1Database, client: SubjectClient, clientSub: string): Promise<string | undefined> {
  if (client.subjectType !== 'pairwise') return clientSub;
  const row = await db
    .prepare('SELECT sub FROM pairwise_subjects WHERE sector_identifier = ?1 AND pairwise_sub = ?2')
    .bind(client.sectorIdentifier, clientSub)
    .first<{ sub: string }>();
  return row?.sub;
}
