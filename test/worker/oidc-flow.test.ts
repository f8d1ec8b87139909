import { env } from 'cloudflare:workers';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { atHash } from '../../src/oidc/idtoken.ts';
import { call } from './helpers.ts';
import {
  approvedCallback,
  codeRequest,
  discover,
  newClient,
  newPerson,
  rp,
  type TestClient,
} from './oidc-support.ts';

/** The relying service's side after the browser lands on the callback, all through oauth4webapi. */
async function redeemAndFetch(
  tc: TestClient,
  auth: oauth.ClientAuth,
  request: Awaited<ReturnType<typeof codeRequest>>,
  callback: URL,
) {
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state); // checks state and iss
  const response = await oauth.authorizationCodeGrantRequest(as, tc.client, auth, params, tc.redirectUri, request.codeVerifier, rp);
  expect(response.headers.get('Cache-Control')).toBe('no-store');
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, {
    expectedNonce: request.nonce,
    requireIdToken: true,
  });
  await oauth.validateApplicationLevelSignature(as, response, rp); // ID token signature against /jwks
  const idToken = oauth.getValidatedIdTokenClaims(tokens)!;
  const userinfo = await oauth.processUserInfoResponse(
    as,
    tc.client,
    idToken.sub,
    await oauth.userInfoRequest(as, tc.client, tokens.access_token, rp),
  );
  return { tokens, idToken, userinfo };
}

describe('discovery and JWKS', () => {
  it('publishes the provider metadata for the configured issuer', async () => {
    const as = await discover();
    expect(as.issuer).toBe(env.ISSUER);
    expect(as.authorization_endpoint).toBe(`${env.ISSUER}/authorize`);
    expect(as.token_endpoint).toBe(`${env.ISSUER}/token`);
    expect(as.userinfo_endpoint).toBe(`${env.ISSUER}/userinfo`);
    expect(as.jwks_uri).toBe(`${env.ISSUER}/jwks`);
    expect(as.response_types_supported).toEqual(['code']);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
    expect(as.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.acr_values_supported).toEqual(['http://eidas.europa.eu/LoA/substantial']);
  });

  it('publishes every signing key, public parts only', async () => {
    const res = await call('/jwks');
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    const configured = JSON.parse(env.SIGNING_KEYS) as { kid: string }[];
    expect(keys.map((k) => k.kid)).toEqual(configured.map((k) => k.kid));
    expect(keys.map((k) => k.alg)).toEqual(['RS256', 'ES256']);
    for (const key of keys) for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(member);
  });
});

describe('authorization code flow with oauth4webapi as the relying service', () => {
  it('confidential client (client_secret_basic): ID token and UserInfo for the approving person', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc, { scope: 'openid profile email' });
    const before = Math.floor(Date.now() / 1000);
    const callback = await approvedCallback(request.params, person.sub);
    expect(`${callback.origin}${callback.pathname}`).toBe(tc.redirectUri);
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(env.ISSUER);

    const { tokens, idToken, userinfo } = await redeemAndFetch(tc, oauth.ClientSecretBasic(tc.secret!), request, callback);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBeGreaterThan(500);
    expect(tokens.access_token).toMatch(/^[0-9a-f]{64}\./);
    expect(idToken).toMatchObject({
      iss: env.ISSUER,
      sub: person.sub,
      aud: tc.client.client_id,
      nonce: request.nonce,
      acr: 'http://eidas.europa.eu/LoA/substantial',
      amr: ['pop'],
      at_hash: await atHash(tokens.access_token),
    });
    expect(idToken.auth_time).toBeGreaterThanOrEqual(before);
    expect(idToken.auth_time).toBeLessThanOrEqual(idToken.iat);
    expect(idToken.exp - idToken.iat).toBe(600);
    const header = decodeProtectedHeader(tokens.id_token!);
    expect(header.alg).toBe('RS256');
    expect(header.kid).toBe((JSON.parse(env.SIGNING_KEYS) as { kid: string }[])[0]!.kid);

    expect(userinfo).toEqual({
      sub: person.sub,
      name: 'Jana Nováková',
      given_name: 'Jana',
      family_name: 'Nováková',
      birthdate: '1990-04-01',
      email: 'jana@example.cz',
      email_verified: true,
    });
  });

  it('confidential client (client_secret_post)', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc, { scope: 'openid phone' });
    const callback = await approvedCallback(request.params, person.sub);
    const { idToken, userinfo } = await redeemAndFetch(tc, oauth.ClientSecretPost(tc.secret!), request, callback);
    expect(idToken.sub).toBe(person.sub);
    expect(userinfo).toEqual({ sub: person.sub, phone_number: '+420777123456', phone_number_verified: true });
  });

  it('public client (none + PKCE) with ES256 ID tokens', async () => {
    const person = await newPerson();
    const tc = await newClient({ public: true, alg: 'ES256' });
    const request = await codeRequest(tc, { scope: 'openid address' });
    const callback = await approvedCallback(request.params, person.sub);
    const { tokens, idToken, userinfo } = await redeemAndFetch(tc, oauth.None(), request, callback);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
    expect(idToken).toMatchObject({ sub: person.sub, aud: tc.client.client_id, nonce: request.nonce });
    expect(userinfo).toEqual({ sub: person.sub, address: { formatted: 'Náměstí 1, 602 00 Brno', locality: 'Brno', country: 'CZ' } });

    // The same check a relying service does with jose alone: the JWKS verifies the signature.
    const jwks = createLocalJWKSet(await (await call('/jwks')).json());
    const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: env.ISSUER, audience: tc.client.client_id });
    expect(payload.sub).toBe(person.sub);
  });

  it('without a nonce the ID token has none', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc);
    delete request.params.nonce;
    const callback = await approvedCallback(request.params, person.sub);
    const as = await discover();
    const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), params, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: oauth.expectNoNonce });
    expect(oauth.getValidatedIdTokenClaims(tokens)).not.toHaveProperty('nonce');
  });
});
