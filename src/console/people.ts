/** Finding a person at the counter: by name, birthdate and e-mail, in the identities' claims. */
import type { Identity, IdentityClaims } from '../identity/identities.ts';

/** What the clerk typed; empty fields are ignored, the rest must all match. */
export interface PersonQuery {
  /** Matches the start of the given or the family name, case-insensitively. */
  name?: string;
  /** YYYY-MM-DD, exact. */
  birthdate?: string;
  /** Exact, case-insensitively. */
  email?: string;
}

/** LIKE pattern for a prefix, with `%`, `_` and `\` escaped. */
function prefix(text: string): string {
  return `${text.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

/**
 * People matching every given field, at most 50, by family then given name.
 * @returns an empty list when no field is given.
 */
export async function findPeople(db: D1Database, query: PersonQuery): Promise<Identity[]> {
  const where: string[] = [];
  const values: string[] = [];
  const name = query.name?.trim();
  if (name) {
    values.push(prefix(name));
    where.push(`(lower(json_extract(claims, '$.given_name')) LIKE ?${values.length} ESCAPE '\\' OR lower(json_extract(claims, '$.family_name')) LIKE ?${values.length} ESCAPE '\\')`);
  }
  if (query.birthdate?.trim()) {
    values.push(query.birthdate.trim());
    where.push(`json_extract(claims, '$.birthdate') = ?${values.length}`);
  }
  if (query.email?.trim()) {
    values.push(query.email.trim().toLowerCase());
    where.push(`lower(json_extract(claims, '$.email')) = ?${values.length}`);
  }
  if (where.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT sub, claims, created_at FROM identities WHERE ${where.join(' AND ')}
       ORDER BY json_extract(claims, '$.family_name'), json_extract(claims, '$.given_name'), created_at LIMIT 50`,
    )
    .bind(...values)
    .all<{ sub: string; claims: string; created_at: number }>();
  return results.map((row) => ({ sub: row.sub, claims: JSON.parse(row.claims) as IdentityClaims, createdAt: row.created_at }));
}
