/**
 * Consents in D1 (`consents`, migrations/0008_account.sql): what a relying service may receive
 * about a person. One row per (person, service):
 * - `always` — remembered: a single-sign-on login of that service releases these claims without
 *   asking again; a later "always" adds to the set; withdrawn in the account.
 * - `once` — the latest one-time consent: listed in the account, never reused.
 * Claim names are OIDC claim names (`name`, `email`, …; OIDC Core §5.1).
 */

export type ConsentKind = 'once' | 'always';

export interface Consent {
  clientId: string;
  /** The service's current name (null when it was deleted). */
  clientName: string | null;
  kind: ConsentKind;
  claims: string[];
  /** Epoch milliseconds. */
  grantedAt: number;
}

/**
 * The statement that records a consent, for a `db.batch`. `always` replaces a `once` row and
 * merges into an earlier `always`; `once` never overwrites an `always`.
 * @param now epoch milliseconds.
 */
export function consentStatement(db: D1Database, input: { sub: string; clientId: string; kind: ConsentKind; claims: readonly string[] }, now = Date.now()): D1PreparedStatement {
  const claims = JSON.stringify([...new Set(input.claims)]);
  if (input.kind === 'always') {
    return db
      .prepare(
        `INSERT INTO consents (sub, client_id, kind, claims, granted_at) VALUES (?1, ?2, 'always', ?3, ?4)
         ON CONFLICT(sub, client_id) DO UPDATE SET
           claims = CASE WHEN consents.kind = 'always'
             THEN (SELECT json_group_array(value) FROM (SELECT value FROM json_each(consents.claims) UNION SELECT value FROM json_each(excluded.claims)))
             ELSE excluded.claims END,
           kind = 'always', granted_at = excluded.granted_at`,
      )
      .bind(input.sub, input.clientId, claims, now);
  }
  return db
    .prepare(
      `INSERT INTO consents (sub, client_id, kind, claims, granted_at) VALUES (?1, ?2, 'once', ?3, ?4)
       ON CONFLICT(sub, client_id) DO UPDATE SET claims = excluded.claims, granted_at = excluded.granted_at
       WHERE consents.kind = 'once'`,
    )
    .bind(input.sub, input.clientId, claims, now);
}

/** Records a consent (see {@link consentStatement}). @param now epoch milliseconds. */
export async function recordConsent(db: D1Database, input: { sub: string; clientId: string; kind: ConsentKind; claims: readonly string[] }, now = Date.now()): Promise<void> {
  await consentStatement(db, input, now).run();
}

/** The claims a person permanently consented to for a service, or an empty list. */
export async function standingConsent(db: D1Database, sub: string, clientId: string): Promise<string[]> {
  const row = await db
    .prepare(`SELECT claims FROM consents WHERE sub = ?1 AND client_id = ?2 AND kind = 'always'`)
    .bind(sub, clientId)
    .first<{ claims: string }>();
  return row ? parseClaims(row.claims) : [];
}

/** Whether every one of `needed` is among the consented claim names. */
export function covers(consented: readonly string[], needed: readonly string[]): boolean {
  const have = new Set(consented);
  return needed.every((name) => have.has(name));
}

/** A person's consents, newest first. */
export async function listConsents(db: D1Database, sub: string): Promise<Consent[]> {
  const { results } = await db
    .prepare(
      `SELECT c.client_id, k.name AS client_name, c.kind, c.claims, c.granted_at FROM consents c
       LEFT JOIN clients k ON k.client_id = c.client_id WHERE c.sub = ?1 ORDER BY c.granted_at DESC`,
    )
    .bind(sub)
    .all<{ client_id: string; client_name: string | null; kind: ConsentKind; claims: string; granted_at: number }>();
  return results.map((row) => ({ clientId: row.client_id, clientName: row.client_name, kind: row.kind, claims: parseClaims(row.claims), grantedAt: row.granted_at }));
}

/**
 * Withdraws a person's consent for a service; the next login of that service asks again.
 * @returns false when there was none (another person's service included).
 */
export async function withdrawConsent(db: D1Database, sub: string, clientId: string): Promise<boolean> {
  const result = await db.prepare('DELETE FROM consents WHERE sub = ?1 AND client_id = ?2').bind(sub, clientId).run();
  return (result.meta.changes ?? 0) > 0;
}

function parseClaims(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
