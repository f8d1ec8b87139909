/**
 * The OpenID Foundation conformance suite's Basic OP and Config OP modules (code flow, static
 * client registration), one test per module, named after it. oauth4webapi is the relying
 * service; the Browser cookie jar and a test device are the person.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { call, testDevice } from './helpers.ts';
import { codeRequest, discover, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';
import { authorizeIn, Browser, loginWithPhone, redeem } from './sso-support.ts';

/** A person with an enrolled phone, logged in at a fresh client. */
async function loggedIn(extra: Record<string, string> = {}) {
  const person = await newPerson();
  const device = await testDevice('Jana’s phone', person.sub);
  // UserInfo checks that the approving key is still enrolled.
  await env.DB.prepare('INSERT INTO devices (id, sub, public_jwk, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)')
    .bind(device.id, person.sub, JSON.stringify(device.publicJwk), device.name, Date.now())
    .run();
  const browser = new Browser();
  const tc = await newClient();
  const request = await codeRequest(tc, extra);
  const callback = await loginWithPhone(browser, request.params, device);
  return { person, device, browser, tc, request, callback };
}

/** Redeems with client_secret_basic and returns the tokens (oauth4webapi validates the ID token). */
async function tokensFor(tc: TestClient, request: Awaited<ReturnType<typeof codeRequest>>, callback: URL, auth = oauth.ClientSecretBasic(tc.secret!)) {
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(as, tc.client, auth, params, tc.redirectUri, request.codeVerifier, rp);
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce, requireIdToken: true });
  return { as, tokens, claims: oauth.getValidatedIdTokenClaims(tokens)! };
}

function location(res: Response): URL {
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!, 'http://localhost:8787');
}

describe('Config OP', () => {
  it('oidcc-discovery-endpoint-verification: discovery names the issuer, endpoints and supported values', async () => {
    const as = await discover();
    expect(as.issuer).toBe(env.ISSUER);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) {
      expect(new URL(as[endpoint] as string).protocol).toMatch(/^https?:$/);
    }
    expect(as.response_types_supported).toContain('code');
    expect(as.subject_types_supported?.length).toBeGreaterThan(0);
    expect(as.id_token_signing_alg_values_supported).toContain('RS256');
    expect(as.scopes_supported).toContain('openid');
    expect(as.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'aud']));
  });

  it('oidcc-server-rotate-keys / jwks: the jwks_uri serves public RS256 keys with kid', async () => {
    const as = await discover();
    const jwks = (await (await call(new URL(as.jwks_uri!).pathname)).json()) as { keys: Record<string, unknown>[] };
    const rsa = jwks.keys.filter((k) => k.kty === 'RSA');
    expect(rsa.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key.kid).toEqual(expect.any(String));
      expect(key).not.toHaveProperty('d');
    }
  });
});

describe('Basic OP', () => {
  it('oidcc-server: the code flow gives a valid ID token for the approving person', async () => {
    const { person, tc, request, callback } = await loggedIn();
    expect(callback.searchParams.get('iss')).toBe(env.ISSUER);
    const { claims } = await tokensFor(tc, request, callback);
    expect(claims).toMatchObject({ iss: env.ISSUER, aud: tc.client.client_id, sub: person.sub, nonce: request.nonce });
  });

  it('oidcc-server-client-secret-post: client_secret_post authenticates at the token endpoint', async () => {
    const { tc, request, callback } = await loggedIn();
    const { claims } = await tokensFor(tc, request, callback, oauth.ClientSecretPost(tc.secret!));
    expect(claims.aud).toBe(tc.client.client_id);
  });

  it('oidcc-response-type-missing: without response_type the error goes back to the client with state', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    delete (params as Record<string, string | undefined>).response_type;
    const back = location(await authorizeIn(new Browser(), params));
    expect(`${back.origin}${back.pathname}`).toBe(tc.redirectUri);
    expect(back.searchParams.get('error')).toMatch(/^(invalid_request|unsupported_response_type)$/);
    expect(back.searchParams.get('state')).toBe(state);
  });

  for (const [module, method] of [
    ['oidcc-userinfo-get', 'GET'],
    ['oidcc-userinfo-post-header', 'POST'],
  ] as const) {
    it(`${module}: UserInfo (${method}, bearer header) returns the sub of the ID token`, async () => {
      const { person, tc, request, callback } = await loggedIn();
      const { as, tokens } = await tokensFor(tc, request, callback);
      const res = await call(new URL(as.userinfo_endpoint!).pathname, {
        method,
        headers: { Authorization: `Bearer ${tokens.access_token}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Record<string, unknown>).sub).toBe(person.sub);
    });
  }

  it('oidcc-userinfo-post-body: UserInfo with the access token in a form body returns the sub', async () => {
    const { person, tc, request, callback } = await loggedIn();
    const { tokens } = await tokensFor(tc, request, callback);
    const res = await call('/userinfo', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.access_token }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, unknown>).sub).toBe(person.sub);
  });

  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow: no nonce, still a code and an ID token', async () => {
    const tc = await newClient();
    const person = await newPerson();
    const request = await codeRequest(tc);
    delete (request.params as Record<string, string | undefined>).nonce;
    const callback = await loginWithPhone(new Browser(), request.params, await testDevice('p', person.sub));
    const as = await discover();
    const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), params, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { requireIdToken: true });
    expect(oauth.getValidatedIdTokenClaims(tokens)!.sub).toBe(person.sub);
  });

  for (const [module, scope, claim] of [
    ['oidcc-scope-profile', 'openid profile', 'given_name'],
    ['oidcc-scope-email', 'openid email', 'email'],
    ['oidcc-scope-address', 'openid address', 'address'],
    ['oidcc-scope-phone', 'openid phone', 'phone_number'],
  ] as const) {
    it(`${module}: scope "${scope}" releases ${claim} at UserInfo`, async () => {
      const { tc, request, callback } = await loggedIn({ scope });
      const { tokens } = await tokensFor(tc, request, callback);
      const res = await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
      expect(((await res.json()) as Record<string, unknown>)[claim]).toBeDefined();
    });
  }

  it('oidcc-scope-all: every standard scope at once releases all their claims', async () => {
    const { tc, request, callback } = await loggedIn({ scope: 'openid profile email address phone' });
    const { tokens } = await tokensFor(tc, request, callback);
    const body = (await (await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    for (const claim of ['given_name', 'family_name', 'email', 'address', 'phone_number']) expect(body[claim]).toBeDefined();
  });

  it('oidcc-ensure-other-scope-order-succeeds: scope order does not matter', async () => {
    const { person, tc, request, callback } = await loggedIn({ scope: 'email openid' });
    const { claims } = await tokensFor(tc, request, callback);
    expect(claims.sub).toBe(person.sub);
  });

  for (const [module, extra] of [
    ['oidcc-display-page', { display: 'page' }],
    ['oidcc-display-popup', { display: 'popup' }],
    ['oidcc-ensure-request-with-unknown-parameter-succeeds', { extra: 'foobar' }],
    ['oidcc-ensure-request-with-acr-values-succeeds', { acr_values: '1 2' }],
    ['oidcc-login-hint', { login_hint: 'nobody@example.invalid' }],
    ['oidcc-ui-locales', { ui_locales: 'se' }],
    ['oidcc-claims-locales', { claims_locales: 'se' }],
    ['oidcc-ensure-request-with-valid-pkce-succeeds', {}],
  ] as const) {
    it(`${module}: the request is accepted and the login completes`, async () => {
      const { person, tc, request, callback } = await loggedIn(extra);
      const { claims } = await tokensFor(tc, request, callback);
      expect(claims.sub).toBe(person.sub);
    });
  }

  it('oidcc-prompt-none-not-logged-in: login_required back to the client with state and iss', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc, { prompt: 'none' });
    const back = location(await authorizeIn(new Browser(), request.params));
    expect(`${back.origin}${back.pathname}`).toBe(tc.redirectUri);
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.get('iss')).toBe(env.ISSUER);
  });

  it('oidcc-prompt-none-logged-in: with a session prompt=none gives a code for the same sub', async () => {
    const { person, browser, tc } = await loggedIn();
    const request = await codeRequest(tc, { prompt: 'none' });
    const { claims } = await tokensFor(tc, request, location(await authorizeIn(browser, request.params)));
    expect(claims.sub).toBe(person.sub);
  });

  it('oidcc-prompt-login: with a session prompt=login asks the phone again', async () => {
    const { device, browser, tc, request, callback } = await loggedIn();
    const first = await tokensFor(tc, request, callback);
    const again = await codeRequest(tc, { prompt: 'login' });
    const res = await authorizeIn(browser, again.params);
    expect(location(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    const second = await redeem(tc, again, await loginWithPhone(browser, again.params, device));
    expect(second.claims.auth_time).toBeGreaterThanOrEqual(first.claims.auth_time as number);
  });

  it('oidcc-max-age-10000: with a fresh session no phone is asked and auth_time is in the ID token', async () => {
    const { person, browser, tc } = await loggedIn();
    const request = await codeRequest(tc, { max_age: '10000' });
    const { claims } = await tokensFor(tc, request, location(await authorizeIn(browser, request.params)));
    expect(claims.sub).toBe(person.sub);
    expect(claims.auth_time).toEqual(expect.any(Number));
  });

  it('oidcc-id-token-hint: prompt=none with our ID token as hint succeeds for the same sub', async () => {
    const { person, browser, tc, request, callback } = await loggedIn();
    const { tokens } = await tokensFor(tc, request, callback);
    const again = await codeRequest(tc, { prompt: 'none', id_token_hint: tokens.id_token! });
    const { claims } = await tokensFor(tc, again, location(await authorizeIn(browser, again.params)));
    expect(claims.sub).toBe(person.sub);
  });

  it('oidcc-codereuse: a code redeemed twice is invalid_grant the second time', async () => {
    const { tc, request, callback } = await loggedIn();
    await tokensFor(tc, request, callback);
    await expect(tokensFor(tc, request, callback)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('oidcc-codereuse-30seconds: after a code is reused, the access token from its first redemption is revoked', async () => {
    const { tc, request, callback } = await loggedIn();
    const { tokens } = await tokensFor(tc, request, callback);
    await expect(tokensFor(tc, request, callback)).rejects.toMatchObject({ error: 'invalid_grant' });
    const res = await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(401);
  });

  it('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri is refused without a redirect', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc, { redirect_uri: 'https://attacker.example/cb' });
    const res = await authorizeIn(new Browser(), request.params);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('oidcc-ensure-post-request-succeeds: the authorization request also works as a form POST', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc);
    const res = await call('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(request.params),
      redirect: 'manual',
    });
    expect(location(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
  });
  it('oidcc-max-age-1: a login older than max_age=1 asks the phone again, auth_time in the ID token', async () => {
    const { browser, tc } = await loggedIn();
    const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
    await runInDurableObject(stub, async (_i: BrowserSession, state) => {
      const record = (await state.storage.get<SessionRecord>('session'))!;
      await state.storage.put('session', { ...record, authTime: record.authTime - 5 });
    });
    const request = await codeRequest(tc, { max_age: '1' });
    expect(location(await authorizeIn(browser, request.params)).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
  });

  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: request objects are refused with request_not_supported', async () => {
    expect((await discover()).request_parameter_supported).toBe(false);
    const tc = await newClient();
    const request = await codeRequest(tc, { request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.' });
    const back = location(await authorizeIn(new Browser(), request.params));
    expect(back.searchParams.get('error')).toBe('request_not_supported');
    expect(back.searchParams.get('state')).toBe(request.state);
  });

  it('oidcc-request-uri-unsigned: request_uri is refused with request_uri_not_supported', async () => {
    expect((await discover()).request_uri_parameter_supported).toBe(false);
    const tc = await newClient();
    const request = await codeRequest(tc, { request_uri: 'https://rp.example/request.jwt' });
    const back = location(await authorizeIn(new Browser(), request.params));
    expect(back.searchParams.get('error')).toBe('request_uri_not_supported');
  });

  it('oidcc-claims-essential: the claims parameter asking for name as essential at UserInfo is honoured', async () => {
    const { tc, request, callback } = await loggedIn({ scope: 'openid', claims: JSON.stringify({ userinfo: { given_name: { essential: true } } }) });
    const { tokens } = await tokensFor(tc, request, callback);
    const body = (await (await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    expect(body.given_name).toBe('Jana');
  });
});
