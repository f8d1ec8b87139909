/**
 * The D1 index of browser sessions by approving device (`browser_sessions`, migration 0006), so
 * revoking a device finds the sessions it approved. The sessions themselves live in their
 * BrowserSession objects; a stale row only points at an ended session or, if creating one failed
 * after its row was written, at an empty object (ending either changes no session).
 */

/**
 * The statement adding or moving a session's row **unless its device is revoked**: in the D1 batch
 * in which `/continue` reads the approving device (src/oidc/authorization.ts) one round trip both
 * checks the key and indexes the session about to be created, under the condition on which
 * `/continue` creates it, so a revoked key's session is never indexed (`INSERT … SELECT … WHERE
 * NOT EXISTS`); run alone by a renewal with another device (`reauthenticate`: `meta.changes` 0
 * means revoked).
 * @param row.expiresAt epoch ms (at or after the session's absolute end).
 */
export function indexSessionUnlessRevoked(
  db: D1Database,
  row: { sessionId: string; deviceId: string; sub: string; expiresAt: number },
): D1PreparedStatement {
  return db
    .prepare(
      'INSERT OR REPLACE INTO browser_sessions (session_id, device_id, sub, expires_at) ' +
        'SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM devices WHERE id = ?2 AND revoked_at IS NOT NULL)',
    )
    .bind(row.sessionId, row.deviceId, row.sub, row.expiresAt);
}

/** Removes a session's row (idempotent). */
export async function forgetSession(db: D1Database, sessionId: string): Promise<void> {
  await db.prepare('DELETE FROM browser_sessions WHERE session_id = ?1').bind(sessionId).run();
}

/** The ids of the sessions a device approved that may still be running (`now`: epoch ms). */
export async function sessionsOfDevice(db: D1Database, deviceId: string, now = Date.now()): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT session_id FROM browser_sessions WHERE device_id = ?1 AND expires_at > ?2')
    .bind(deviceId, now)
    .all<{ session_id: string }>();
  return results.map((row) => row.session_id);
}
