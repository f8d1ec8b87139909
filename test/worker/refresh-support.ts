/**
 * Shared steps for the refresh token tests: a client allowed the refresh_token grant, a person
 * whose phone approves a login with `offline_access` and `prompt=consent` in a browser (so the
 * ID token carries `sid`), and oauth4webapi as the relying service redeeming and refreshing.
 */
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { expect } from 'vitest';
import { call, testDevice, type TestDevice } from './helpers.ts';
import { codeRequest, discover, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';
import { Browser, loginWithPhone } from './sso-support.ts';

/** A confidential client registered for authorization_code and refresh_token. */
export function refreshClient(options: { public?: boolean } = {}): Promise<TestClient> {
  return newClient({ ...options, grantTypes: ['authorization_code', 'refresh_token'] });
}

/** The client's authentication at the token and revocation endpoints. */
export function authOf(tc: TestClient): oauth.ClientAuth {
  return tc.secret ? oauth.ClientSecretBasic(tc.secret) : oauth.None();
}

/** Enrols a phone for `sub` in D1 (refreshes and UserInfo check the approving key there). */
export async function enrolledPhone(sub: string): Promise<TestDevice> {
  const device = await testDevice('Jana’s phone', sub);
  await env.DB.prepare('INSERT INTO devices (id, sub, public_jwk, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)')
    .bind(device.id, sub, JSON.stringify(device.publicJwk), device.name, Date.now())
    .run();
  return device;
}

/**
 * The whole login: authorization request (by default `openid profile offline_access` with
 * `prompt=consent`), the phone approves, the client redeems the code with oauth4webapi.
 * @returns the token response, the validated ID token claims and the people involved.
 */
export async function loginForTokens(tc: TestClient, extra: Record<string, string> = {}) {
  const person = await newPerson();
  const device = await enrolledPhone(person.sub);
  const request = await codeRequest(tc, { scope: 'openid profile offline_access', prompt: 'consent', ...extra });
  const callback = await loginWithPhone(new Browser(), request.params, device);
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(as, tc.client, authOf(tc), params, tc.redirectUri, request.codeVerifier, rp);
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce, requireIdToken: true });
  return { as, person, device, request, tokens, claims: oauth.getValidatedIdTokenClaims(tokens)! };
}

/** A refresh with oauth4webapi; resolves to the processed response or rejects with its OAuth error. */
export async function refresh(as: oauth.AuthorizationServer, tc: TestClient, refreshToken: string, scope?: string) {
  const response = await oauth.refreshTokenGrantRequest(as, tc.client, authOf(tc), refreshToken, {
    ...rp,
    ...(scope !== undefined ? { additionalParameters: { scope } } : {}),
  });
  expect(response.headers.get('Cache-Control')).toBe('no-store');
  return oauth.processRefreshTokenResponse(as, tc.client, response);
}

/** The OAuth `error` of a refused refresh (asserting it is a 4xx JSON error, never a 500). */
export async function refreshError(as: oauth.AuthorizationServer, tc: TestClient, refreshToken: string, scope?: string): Promise<string> {
  try {
    await refresh(as, tc, refreshToken, scope);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      expect(error.status).toBeGreaterThanOrEqual(400);
      expect(error.status).toBeLessThan(500);
      return error.error;
    }
    throw error;
  }
  throw new Error('the refresh succeeded');
}

/** The UserInfo status (and body when 200) for an access token. */
export async function userinfo(accessToken: string): Promise<{ status: number; body?: Record<string, unknown> }> {
  const res = await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
  return res.status === 200 ? { status: 200, body: (await res.json()) as Record<string, unknown> } : { status: res.status };
}
