/**
 * The OpenID Foundation conformance suite's refresh token module, `oidcc-refresh-token`
 * (OIDCCRefreshToken with RefreshTokenRequestSteps and RefreshTokenRequestExpectingErrorSteps):
 * static clients with client_secret_basic, scope with `offline_access`, so the suite adds
 * `prompt=consent` (OIDC Core §11). Each condition the module runs is an assertion here, named
 * after it. oauth4webapi is the relying service.
 *
 * `oidcc-refresh-token-rp-key-rotation` does not apply: it needs private_key_jwt and dynamic
 * client registration, neither of which this provider offers (so the suite skips it for the
 * static-client plans too).
 */
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { basic, token, type TestClient } from './oidc-support.ts';
import { loginForTokens, refreshClient, userinfo } from './refresh-support.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Shannon entropy of a string in bits (per character times length), as the suite estimates it. */
function shannonBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * value.length;
}

/** RFC 6749 Appendix A: access tokens (A.12, NQB... printable ASCII) and refresh tokens (A.17, VSCHAR). */
const VSCHAR = /^[\x20-\x7E]+$/;

/** One client's pass through the module: authorization, code, refresh; returns the refreshed tokens. */
async function clientPass(tc: TestClient, second: boolean) {
  const { as, tokens: first, claims: firstClaims, person } = await loginForTokens(tc, { scope: 'openid email offline_access' });
  // ExtractRefreshTokenFromTokenResponse: without one the module would be skipped.
  expect(first.refresh_token).toEqual(expect.any(String));
  // EnsureServerConfigurationSupportsRefreshToken (OIDCD-3)
  expect(as.grant_types_supported).toContain('refresh_token');
  // EnsureRefreshTokenContainsAllowedCharactersOnly (RFC6749-A.17)
  expect(first.refresh_token).toMatch(VSCHAR);

  // CreateRefreshTokenRequest, AddScopeToTokenEndpointRequest (first client only), client_secret_basic;
  // WaitForOneSecond so the iat values differ.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 1000 });
  const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: first.refresh_token! };
  if (!second) form.scope = 'openid email offline_access';
  const { res, body } = await token(form, { Authorization: basic(tc.client.client_id, tc.secret!) });
  // CheckTokenEndpointHttpStatus200, CheckTokenEndpointReturnedJsonContentType, CheckTokenEndpointCacheHeaders (RFC6749-5.1)
  expect(res.status).toBe(200);
  expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  expect(res.headers.get('Pragma')).toBe('no-cache');
  // CheckIfTokenEndpointResponseError, ExtractAccessTokenFromTokenResponse, CheckTokenTypeIsBearer
  expect(body.error).toBeUndefined();
  const accessToken = body.access_token as string;
  expect(String(body.token_type).toLowerCase()).toBe('bearer');
  // EnsureMinimumAccessTokenEntropy (128 bits), EnsureAccessTokenContainsAllowedCharactersOnly (RFC6749-A.12)
  expect(shannonBits(accessToken)).toBeGreaterThan(128);
  expect(accessToken).toMatch(VSCHAR);
  // ExtractExpiresInFromTokenEndpointResponse, ValidateExpiresIn: a positive integer
  expect(Number.isInteger(body.expires_in)).toBe(true);
  expect(body.expires_in as number).toBeGreaterThan(0);
  // EnsureAccessTokenValuesAreDifferent
  expect(accessToken).not.toBe(first.access_token);
  // ExtractRefreshTokenFromTokenResponse, EnsureMinimumRefreshTokenLength / Entropy (RFC6749-10.10)
  const refreshToken = body.refresh_token as string;
  expect(refreshToken).toMatch(VSCHAR);
  expect(shannonBits(refreshToken)).toBeGreaterThan(128);
  // ExtractIdTokenFromTokenResponse (validated: signature, iss, aud, exp) and CompareIdTokenClaims (OIDCC-12.2)
  const response = new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
  const refreshed = await oauth.processRefreshTokenResponse(as, tc.client, response);
  const secondClaims = oauth.getValidatedIdTokenClaims(refreshed)!;
  for (const claim of ['iss', 'sub', 'aud', 'auth_time'] as const) expect(secondClaims[claim]).toEqual(firstClaims[claim]);
  expect(secondClaims.iat).not.toBe(firstClaims.iat);
  expect('azp' in secondClaims).toBe('azp' in firstClaims);
  vi.useRealTimers();

  // requestProtectedResource with the second access token
  const info = await userinfo(accessToken);
  expect(info.status).toBe(200);
  expect(info.body).toMatchObject({ sub: person.sub, email: person.claims.email });
  return { refreshToken };
}

describe('Basic OP: refresh tokens', () => {
  it('oidcc-refresh-token: both clients refresh; client 2’s refresh token used by client 1 is invalid_grant', async () => {
    const [client1, client2] = [await refreshClient(), await refreshClient()];
    await clientPass(client1, false);
    const { refreshToken } = await clientPass(client2, true);

    // performSecondClientTests: RefreshTokenRequestExpectingErrorSteps with client 1's credentials
    const { res, body } = await token(
      { grant_type: 'refresh_token', refresh_token: refreshToken, scope: 'openid email offline_access' },
      { Authorization: basic(client1.client.client_id, client1.secret!) },
    );
    // ValidateErrorFromTokenEndpointResponseError, CheckTokenEndpointHttpStatus400,
    // CheckTokenEndpointReturnedJsonContentType (OIDCC-3.1.3.4), CheckErrorFromTokenEndpointResponseErrorInvalidGrant (RFC6749-5.2)
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toEqual(expect.any(String));

    // Beyond the module: the refusal spent nothing — client 2 still refreshes with it.
    const again = await token({ grant_type: 'refresh_token', refresh_token: refreshToken }, { Authorization: basic(client2.client.client_id, client2.secret!) });
    expect(again.res.status).toBe(200);
  });
});
