/**
 * Structured logs: one JSON object per line on stdout, as Workers Logs and `wrangler tail`
 * index them (docs/deploy.md §7). Only the named fields below are written, so a secret, an
 * activation code, an authorization code or a token cannot slip into a log by a stray spread.
 */

/** What an event may carry: ids, an outcome, durations. Never a secret or a code's value. */
export interface LogFields {
  /** How it ended: `approved`, `denied`, `expired`, `ok`, `refused`… */
  outcome?: string;
  /** The LoginSession id (64 hex), which is public (it is in the page URL). */
  login_id?: string;
  client_id?: string;
  sub?: string;
  device_id?: string;
  /** The `sub` of the operator who acted (console). */
  operator?: string;
  /** A stable error code (`ProblemError.code`, an OAuth `error`), never a message with input. */
  error?: string;
  /** HTTP status. */
  status?: number;
  method?: string;
  /** The request path without its query string. */
  path?: string;
  /** How long the thing took, in milliseconds. */
  duration_ms?: number;
}

const FIELDS: readonly (keyof LogFields)[] = [
  'outcome', 'login_id', 'client_id', 'sub', 'device_id', 'operator', 'error', 'status', 'method', 'path', 'duration_ms',
];

/**
 * Builds the log line of one event (pure; {@link logEvent} prints it).
 * @param event a dotted kind such as `login.approved`, `code.redeemed`, `error`.
 * @param at epoch milliseconds.
 * @returns one line of JSON with `at` (ISO 8601), `event` and the known, defined fields only.
 */
export function logLine(event: string, fields: LogFields = {}, at = Date.now()): string {
  const line: Record<string, unknown> = { at: new Date(at).toISOString(), event };
  for (const name of FIELDS) {
    const value = (fields as Record<string, unknown>)[name];
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) line[name] = value;
  }
  return JSON.stringify(line);
}

/** Logs one event as a JSON line (`console.error` for `level: 'error'`, else `console.log`). */
export function logEvent(event: string, fields: LogFields = {}, level: 'info' | 'error' = 'info'): void {
  (level === 'error' ? console.error : console.log)(logLine(event, fields));
}
