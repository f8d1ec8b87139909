/**
 * Operator roles in D1 (`operators`, migrations/0004_console.sql): a `clerk` works the counter
 * (people, activation codes, keys), an `admin` also manages relying services and reads the
 * audit and live figures. One role per identity.
 */

export type Role = 'clerk' | 'admin';

export const ROLES = ['clerk', 'admin'] as const satisfies readonly Role[];

/** True for a known role. */
export function isRole(value: unknown): value is Role {
  return value === 'clerk' || value === 'admin';
}

/** Whether `role` may do what `needed` may (an admin may do everything a clerk may). */
export function allows(role: Role | null, needed: Role): boolean {
  return role === 'admin' || (role === 'clerk' && needed === 'clerk');
}

export interface Operator {
  sub: string;
  role: Role;
  /** Epoch milliseconds. */
  grantedAt: number;
}

/**
 * Grants (or changes) an identity's role.
 * @param now epoch milliseconds.
 * @returns false when no identity has this `sub`.
 */
export async function grantRole(db: D1Database, sub: string, role: Role, now = Date.now()): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO operators (sub, role, granted_at) SELECT sub, ?2, ?3 FROM identities WHERE sub = ?1
       ON CONFLICT(sub) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at`,
    )
    .bind(sub, role, now)
    .run();
  return (result.meta.changes ?? 0) > 0;
}

/**
 * Revokes an identity's role and ends its console sessions.
 * @returns whether it had one.
 */
export async function revokeRole(db: D1Database, sub: string): Promise<boolean> {
  const [deleted] = await db.batch([
    db.prepare('DELETE FROM operators WHERE sub = ?1').bind(sub),
    db.prepare('DELETE FROM console_sessions WHERE sub = ?1').bind(sub),
  ]);
  return (deleted?.meta.changes ?? 0) > 0;
}

/** An identity's role, or null when it is no operator. */
export async function roleOf(db: D1Database, sub: string): Promise<Role | null> {
  const row = await db.prepare('SELECT role FROM operators WHERE sub = ?1').bind(sub).first<{ role: string }>();
  return row && isRole(row.role) ? row.role : null;
}

/** Every operator, most recently granted first. */
export async function listOperators(db: D1Database): Promise<Operator[]> {
  const { results } = await db
    .prepare('SELECT sub, role, granted_at FROM operators ORDER BY granted_at DESC')
    .all<{ sub: string; role: Role; granted_at: number }>();
  return results.map((r) => ({ sub: r.sub, role: r.role, grantedAt: r.granted_at }));
}
