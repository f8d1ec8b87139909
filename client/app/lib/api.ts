/**
 * The phone-facing HTTP API (same origin; see docs/mobile-protocol.md). JSON in snake_case,
 * times in epoch milliseconds, errors as problem+json.
 */
import { problemFromBody, type ApiProblem } from './problems.ts';

export type ApiResult<T> = { ok: true; value: T } | { ok: false; problem: ApiProblem };

import type { AnswerResponse, EnrolResponse, RevokeResponse, ScanResponse } from '../../../src/mobile/wire.ts';
import { PROTOCOL_VERSION } from '../../../src/mobile/protocol.ts';

export type { AnswerResponse, EnrolResponse, RevokeResponse, ScanResponse };

/**
 * POSTs JSON and reads the JSON answer; never throws: a network failure is the problem
 * `network` (status 0).
 */
export async function postJson<T>(path: string, body: unknown): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { ok: false, problem: { code: 'network', status: 0 } };
  }
  let data: unknown = null;
  try {
    data = await response.json();
  } catch {
    // not JSON: handled below by status
  }
  if (response.ok && data && typeof data === 'object') return { ok: true, value: data as T };
  return { ok: false, problem: problemFromBody(response.status, data) };
}

export const api = {
  enrol: (body: { activation_code: string; public_jwk: JsonWebKey; name: string }) =>
    postJson<EnrolResponse>('/api/mobile/enrol', body),
  // Signed requests name their protocol version (docs/mobile-protocol.md §5).
  scan: (loginId: string, body: { frame: string; device_id: string; signature: string }) =>
    postJson<ScanResponse>(`/api/mobile/logins/${loginId}/scan`, { version: PROTOCOL_VERSION, ...body }),
  answer: (
    loginId: string,
    body: { device_id: string; decision: 'approve' | 'deny'; nonce: string; signature: string; number?: number; consent?: 'once' | 'always' },
  ) => postJson<AnswerResponse>(`/api/mobile/logins/${loginId}/answer`, { version: PROTOCOL_VERSION, ...body }),
  revoke: (deviceId: string, body: { timestamp: number; signature: string }) =>
    postJson<RevokeResponse>(`/api/mobile/devices/${encodeURIComponent(deviceId)}/revoke`, { version: PROTOCOL_VERSION, ...body }),
};

/** Where a login that ended without approval returns to its service from this browser. */
export interface WayBack {
  /** The login's `POST /login/:id/return` (same origin, relative; src/oidc/return.ts). */
  action: string;
  /** The service's name as the server holds it. */
  client: string;
}

/**
 * The same-device way back to the service: when this browser started the login (it holds the
 * page's binding cookie), the login page's own "Back to <service>" form target, read from the
 * page's snapshot (`GET /login/:id/state`). Never throws.
 * @returns null on another device or browser, for a login without a service to return to, or
 *   when the server cannot be reached.
 */
export async function wayBack(loginId: string): Promise<WayBack | null> {
  try {
    const response = await fetch(`/login/${loginId}/state`, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) return null;
    const snapshot = (await response.json()) as { returnUrl?: unknown; client?: { name?: unknown } };
    const action = snapshot.returnUrl;
    const client = snapshot.client?.name;
    // Only this login's own endpoint: the form never posts anywhere else.
    if (action !== `/login/${loginId}/return` || typeof client !== 'string' || !client) return null;
    return { action, client };
  } catch {
    return null;
  }
}

/**
 * Whether this browser is the one that started the login (it holds the page's binding
 * cookie): then the login page can be reached from here after approval.
 */
export async function isLoginBrowser(loginId: string): Promise<boolean> {
  try {
    const response = await fetch(`/login/${loginId}/state`, { credentials: 'same-origin', cache: 'no-store' });
    return response.ok;
  } catch {
    return false;
  }
}
