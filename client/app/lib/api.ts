/**
 * The phone-facing HTTP API (same origin; see docs/mobile-protocol.md). JSON in snake_case,
 * times in epoch milliseconds, errors as problem+json.
 */
import { problemFromBody, type ApiProblem } from './problems.ts';

export type ApiResult<T> = { ok: true; value: T } | { ok: false; problem: ApiProblem };

import type { AnswerResponse, EnrolResponse, RevokeResponse, ScanResponse } from '../../../src/mobile/wire.ts';

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
  scan: (loginId: string, body: { secret: string; device_id: string; signature: string }) =>
    postJson<ScanResponse>(`/api/mobile/logins/${loginId}/scan`, body),
  answer: (
    loginId: string,
    body: { secret: string; device_id: string; decision: 'approve' | 'deny'; nonce: string; signature: string; consent?: 'once' | 'always' },
  ) => postJson<AnswerResponse>(`/api/mobile/logins/${loginId}/answer`, body),
  revoke: (deviceId: string, body: { timestamp: number; signature: string }) =>
    postJson<RevokeResponse>(`/api/mobile/devices/${encodeURIComponent(deviceId)}/revoke`, body),
};

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
