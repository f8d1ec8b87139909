/**
 * What a login's transitions leave behind outside the object: a JSON log line, an Analytics
 * Engine data point, and for `started` and `expired` an audit event in D1 (the console's live
 * figures count them there; `approved` and `denied` are audited by the phone API with the
 * approving device). Never fails the login: the D1 write runs after the answer and is logged
 * when it fails.
 */
import { auditStatement } from '../identity/audit.ts';
import { logEvent } from '../lib/log.ts';
import { loginMetric } from '../lib/metrics.ts';
import type { LoginRecord } from './machine.ts';

/**
 * The outcome a change of a login record shows, or null when nothing observable happened.
 * @param from the record before (undefined when the login was just started).
 */
export function observedOutcome(from: LoginRecord | undefined, to: LoginRecord): { outcome: string; durationMs: number } | null {
  if (!from) return { outcome: 'started', durationMs: 0 };
  if (from.state !== to.state && to.state !== 'scanned' && to.state !== 'pending') {
    return { outcome: to.state, durationMs: (to.endedAt ?? to.createdAt) - to.createdAt };
  }
  if (from.redeemedAt === undefined && to.redeemedAt !== undefined) {
    return { outcome: 'redeemed', durationMs: to.redeemedAt - to.createdAt };
  }
  return null;
}

/**
 * Logs, counts and (for `started` and `expired`) audits a login's change.
 * @param waitUntil keeps the D1 write alive after the caller answers (`ctx.waitUntil`).
 */
export function observeLogin(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  loginId: string,
  clientId: string | undefined,
  from: LoginRecord | undefined,
  to: LoginRecord,
): void {
  const seen = observedOutcome(from, to);
  if (!seen) return;
  const client = clientId ?? 'unknown';
  logEvent(seen.outcome === 'redeemed' ? 'code.redeemed' : `login.${seen.outcome}`, {
    outcome: seen.outcome,
    login_id: loginId,
    client_id: client,
    duration_ms: seen.durationMs,
  });
  loginMetric(env, seen.outcome, client, seen.durationMs);
  if (seen.outcome !== 'started' && seen.outcome !== 'expired') return;
  const type = seen.outcome === 'started' ? 'login.started' : 'login.expired';
  const at = seen.outcome === 'started' ? to.createdAt : (to.endedAt ?? Date.now());
  waitUntil(
    auditStatement(env.DB, { type, clientId: client, detail: { login_id: loginId } }, at)
      .run()
      .catch((error: unknown) => logEvent('audit.failed', { login_id: loginId, error: error instanceof Error ? error.name : 'unknown' }, 'error')),
  );
}
