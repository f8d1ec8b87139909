/**
 * Audit events in D1: who enrolled, approved, denied or revoked what, and when.
 * `detail` is a small JSON object and never holds a secret.
 */

export type AuditType =
  | 'identity.created'
  | 'activation-code.issued'
  | 'enrolment'
  | 'device.revoked'
  | 'login.started'
  | 'login.approved'
  | 'login.denied'
  | 'login.expired'
  | 'client.registered'
  | 'client.updated'
  | 'client.secret-rotated'
  | 'client.disabled';

export interface AuditEvent {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  type: AuditType;
  sub: string | null;
  deviceId: string | null;
  clientId: string | null;
  /** The operator (console) who caused it, else null. */
  operator: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditInput {
  type: AuditType;
  sub?: string | null;
  deviceId?: string | null;
  clientId?: string | null;
  /** The `sub` of the operator who acted in the console. */
  operator?: string | null;
  detail?: Record<string, unknown>;
}

/** The statement that records one event (for use inside a `db.batch`). @param at epoch milliseconds. */
export function auditStatement(db: D1Database, event: AuditInput, at = Date.now()): D1PreparedStatement {
  return db
    .prepare('INSERT INTO audit_events (at, type, sub, device_id, client_id, detail, operator) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)')
    .bind(
      at,
      event.type,
      event.sub ?? null,
      event.deviceId ?? null,
      event.clientId ?? null,
      event.detail ? JSON.stringify(event.detail) : null,
      event.operator ?? null,
    );
}

/** Records one audit event. @param at epoch milliseconds. */
export async function recordAudit(db: D1Database, event: AuditInput, at = Date.now()): Promise<void> {
  await auditStatement(db, event, at).run();
}

/** What {@link listAudit} filters by; every given field must match. */
export interface AuditFilter {
  /** The identity concerned. */
  sub?: string;
  clientId?: string;
  operator?: string;
  type?: string;
  /** Epoch milliseconds, inclusive. */
  from?: number;
  /** Epoch milliseconds, exclusive. */
  to?: number;
  /** At most this many (default 100, at most 1000). */
  limit?: number;
}

/** Audit events matching every given filter, newest first. */
export async function listAudit(db: D1Database, filter: AuditFilter = {}): Promise<AuditEvent[]> {
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 1000);
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    where.push(sql.replace('?', `?${values.length}`));
  };
  if (filter.sub) add('sub = ?', filter.sub);
  if (filter.clientId) add('client_id = ?', filter.clientId);
  if (filter.operator) add('operator = ?', filter.operator);
  if (filter.type) add('type = ?', filter.type);
  if (filter.from !== undefined) add('at >= ?', filter.from);
  if (filter.to !== undefined) add('at < ?', filter.to);
  values.push(limit);
  const statement = db
    .prepare(`SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?${values.length}`)
    .bind(...values);
  const { results } = await statement.all<{
    id: number;
    at: number;
    type: AuditType;
    sub: string | null;
    device_id: string | null;
    client_id: string | null;
    operator: string | null;
    detail: string | null;
  }>();
  return results.map((row) => ({
    id: row.id,
    at: row.at,
    type: row.type,
    sub: row.sub,
    deviceId: row.device_id,
    clientId: row.client_id,
    operator: row.operator ?? null,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
  }));
}
