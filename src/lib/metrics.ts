/**
 * Metrics through the Workers Analytics Engine binding `METRICS` (docs/deploy.md §6). Writes are
 * fire-and-forget and never fail a request; without the binding nothing is written.
 * Data points: `login` (blob2 outcome, blob3 client_id; double1 1, double2 ms since the login
 * started; index client_id) and `error` (blob2 code, blob3 status; double1 1; index code).
 */

type WithMetrics = { METRICS?: AnalyticsEngineDataset };

function write(env: WithMetrics, point: AnalyticsEngineDataPoint): void {
  try {
    env.METRICS?.writeDataPoint(point);
  } catch {
    // metrics never fail the product
  }
}

/**
 * One login event.
 * @param outcome `started`, `approved`, `denied`, `expired`, `cancelled` or `redeemed`.
 * @param durationMs milliseconds since the login started (0 for `started`).
 */
export function loginMetric(env: WithMetrics, outcome: string, clientId: string, durationMs = 0): void {
  write(env, { blobs: ['login', outcome, clientId], doubles: [1, Math.max(0, durationMs)], indexes: [clientId.slice(0, 96)] });
}

/** One error answered, by its stable code and HTTP status. */
export function errorMetric(env: WithMetrics, code: string, status: number): void {
  write(env, { blobs: ['error', code, String(status)], doubles: [1], indexes: [code.slice(0, 96)] });
}
