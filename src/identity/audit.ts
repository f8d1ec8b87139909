/**
 * Audit events in D1: who enrolled, approved, denied or revoked what, and when.
 * `detail` is a small JSON object and never holds a secret.
 */

export type AuditType =
  | 'identity.created'
  | 'activation-code.issued'
  | 'enrolment'
  | 'device.revoked'
  | 'login.approved'
  | 'login.denied'
  | 'client.registered'
  | 'client.updated';

export interface AuditEvent {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  type: AuditType;
  sub: string | null;
  deviceId: string | null;
  clientId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditInput {
  type: AuditType;
  sub?: string | null;
  deviceId?: string | null;
  clientId?: string | null;
  detail?: Record<string, unknown>;
}

/** The statement that records one event (for use inside a `db.batch`). @param at epoch milliseconds. */
export function auditStatement(db: D1Database, event: AuditInput, at = Date.now()): D1PreparedStatement {
  return db
    .prepare('INSERT INTO audit_events (at, type, sub, device_id, client_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)')
    .bind(
      at,
      event.type,
      event.sub ?? null,
      event.deviceId ?? null,
      event.clientId ?? null,
      event.detail ? JSON.stringify(event.detail) : null,
    );
}

/** Records one audit event. @param at epoch milliseconds. */
export async function recordAudit(db: D1Database, event: AuditInput, at = Date.now()): Promise<void> {
  await auditStatement(db, event, at).run();
}

/**
 * Audit events, newest first.
 * @param filter.sub only this identity's events.
 * @param filter.limit at most this many (default 100, at most 1000).
 */
export async function listAudit(db: D1Database, filter: { sub?: string; limit?: number } = {}): Promise<AuditEvent[]> {
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 1000);
  const statement = filter.sub
    ? db.prepare('SELECT * FROM audit_events WHERE sub = ?1 ORDER BY at DESC, id DESC LIMIT ?2').bind(filter.sub, limit)
    : db.prepare('SELECT * FROM audit_events ORDER BY at DESC, id DESC LIMIT ?1').bind(limit);
  const { results } = await statement.all<{
    id: number;
    at: number;
    type: AuditType;
    sub: string | null;
    device_id: string | null;
    client_id: string | null;
    detail: string | null;
  }>();
  return results.map((row) => ({
    id: row.id,
    at: row.at,
    type: row.type,
    sub: row.sub,
    deviceId: row.device_id,
    clientId: row.client_id,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
  }));
}
