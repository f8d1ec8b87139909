/**
 * The `claims` request parameter (OIDC Core §5.5), the level of assurance (`acr`, eIDAS
 * substantial; Unmet Authentication Requirements 1.0) and request objects refused by name.
 */
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { DESCRIPTIONS } from '../../src/oidc/descriptions.ts';
import { approvedCallback, authorize, codeRequest, discover, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';

const SUBSTANTIAL = 'http://eidas.europa.eu/LoA/substantial';

/** The error the relying service reads at its callback (oauth4webapi checks state and iss). */
async function errorOf(tc: TestClient, res: Response, state: string) {
  expect(res.status).toBe(303);
  const callback = new URL(res.headers.get('Location')!);
  try {
    oauth.validateAuthResponse(await discover(), tc.client, callback, state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) return { error: error.error, description: error.error_description };
    throw error;
  }
  throw new Error('expected an error response');
}

/** The whole login with oauth4webapi: ID token claims and UserInfo. */
async function login(tc: TestClient, extra: Record<string, string>) {
  const person = await newPerson();
  const request = await codeRequest(tc, extra);
  const callback = await approvedCallback(request.params, person.sub);
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), params, tc.redirectUri, request.codeVerifier, rp);
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce });
  const idToken = oauth.getValidatedIdTokenClaims(tokens)!;
  const userinfo = await oauth.processUserInfoResponse(as, tc.client, idToken.sub, await oauth.userInfoRequest(as, tc.client, tokens.access_token, rp));
  return { person, idToken, userinfo };
}

describe('level of assurance', () => {
  it('discovery and the ID token say eIDAS substantial', async () => {
    const as = await discover();
    expect(as.acr_values_supported).toEqual([SUBSTANTIAL]);
    expect(as.claims_parameter_supported).toBe(true);
    const { idToken } = await login(await newClient(), { scope: 'openid' });
    expect(idToken.acr).toBe(SUBSTANTIAL);
  });

  it('an essential request for high is unmet_authentication_requirements, with state and iss', async () => {
    const tc = await newClient();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, value: 'http://eidas.europa.eu/LoA/high' } } });
    const { params, state } = await codeRequest(tc, { claims });
    expect(await errorOf(tc, await authorize(params), state)).toEqual({
      error: 'unmet_authentication_requirements',
      description: DESCRIPTIONS.acrUnmet,
    });
  });

  it('an essential request that substantial meets, or a voluntary one for high, logs in as usual', async () => {
    const tc = await newClient();
    const meets = JSON.stringify({ id_token: { acr: { essential: true, values: ['http://eidas.europa.eu/LoA/high', SUBSTANTIAL] } } });
    expect((await login(tc, { claims: meets })).idToken.acr).toBe(SUBSTANTIAL);
    const voluntary = JSON.stringify({ id_token: { acr: { value: 'http://eidas.europa.eu/LoA/high' } } });
    expect((await authorize((await codeRequest(tc, { claims: voluntary })).params)).headers.get('Location')).toMatch(/^\/login\//);
  });
});

describe('request objects are refused by name, never ignored', () => {
  it('request → request_not_supported; request_uri → request_uri_not_supported', async () => {
    const tc = await newClient();
    const a = await codeRequest(tc, { request: 'eyJhbGciOiJub25lIn0.e30.' });
    expect(await errorOf(tc, await authorize(a.params), a.state)).toEqual({ error: 'request_not_supported', description: DESCRIPTIONS.requestObject });
    const b = await codeRequest(tc, { request_uri: 'urn:ietf:params:oauth:request_uri:abc' });
    expect(await errorOf(tc, await authorize(b.params), b.state)).toEqual({ error: 'request_uri_not_supported', description: DESCRIPTIONS.requestUri });
    expect((await discover()).request_parameter_supported).toBe(false);
    expect((await discover()).request_uri_parameter_supported).toBe(false);
  });
});

describe('the claims parameter', () => {
  it('releases the claims asked for at UserInfo and in the ID token, beyond the scopes, never unreleasable ones', async () => {
    const tc = await newClient();
    const claims = JSON.stringify({
      userinfo: { email: { essential: true }, national_id: null },
      id_token: { given_name: null, birthdate: { essential: true }, national_id: { essential: true } },
    });
    const { person, idToken, userinfo } = await login(tc, { scope: 'openid', claims });
    expect(userinfo).toEqual({ sub: person.sub, email: 'jana@example.cz' });
    expect(idToken).toMatchObject({ sub: person.sub, given_name: 'Jana', birthdate: '1990-04-01', iss: env.ISSUER });
    expect(idToken).not.toHaveProperty('national_id');
    expect(idToken).not.toHaveProperty('email');
  });

  it('a claim the person does not hold is left out, even when essential', async () => {
    const tc = await newClient();
    const claims = JSON.stringify({ userinfo: { middle_name: { essential: true } } });
    const { person, userinfo } = await login(tc, { scope: 'openid', claims });
    expect(userinfo).toEqual({ sub: person.sub });
  });

  it('malformed claims are invalid_request', async () => {
    const tc = await newClient();
    for (const claims of ['{', '[]', '{"userinfo":[]}', '{"id_token":{"acr":{"essential":"yes"}}}']) {
      const { params, state } = await codeRequest(tc, { claims });
      expect(await errorOf(tc, await authorize(params), state)).toEqual({ error: 'invalid_request', description: DESCRIPTIONS.claimsInvalid });
    }
  });
});
