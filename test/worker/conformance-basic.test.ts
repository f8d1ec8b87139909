/**
 * The OpenID Foundation conformance suite's Basic OP and Config OP modules (code flow, static
 * client registration), one test per module, named after the module's `testName` and checking
 * what its conditions check. The lists mirror OIDCCBasicTestPlan and OIDCCConfigTestPlan in
 * github.com/openid-certification/conformance-suite (src/main/java/net/openid/conformance/openid/);
 * the suite itself was not run against us (docs/relying-services.md, "Conformance suite").
 * oauth4webapi is the relying service; the Browser cookie jar and a test device are the person.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { call, testDevice } from './helpers.ts';
import { codeRequest, discover, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';
import { authorizeIn, Browser, loginWithPhone, redeem } from './sso-support.ts';

/** A person with an enrolled phone, logged in at a fresh client. */
async function loggedIn(extra: Record<string, string> = {}, order: (params: Record<string, string>) => Record<string, string> = (p) => p) {
  const person = await newPerson();
  const device = await testDevice('Jana’s phone', person.sub);
  // UserInfo checks that the approving key is still enrolled.
  await env.DB.prepare('INSERT INTO devices (id, sub, public_jwk, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)')
    .bind(device.id, person.sub, JSON.stringify(device.publicJwk), device.name, Date.now())
    .run();
  const browser = new Browser();
  const tc = await newClient();
  const request = await codeRequest(tc, extra);
  const callback = await loginWithPhone(browser, order(request.params), device);
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

/** Moves the browser session's auth_time `seconds` into the past, as if the first login were older. */
async function ageSession(browser: Browser, seconds: number): Promise<void> {
  const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
  await runInDurableObject(stub, async (_i: BrowserSession, state) => {
    const record = (await state.storage.get<SessionRecord>('session'))!;
    await state.storage.put('session', { ...record, authTime: record.authTime - seconds, createdAt: record.createdAt - seconds * 1000 });
  });
}

function location(res: Response): URL {
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!, 'http://localhost:8787');
}

describe('Config OP', () => {
  it('oidcc-discovery-endpoint-verification: the metadata has what OIDC Discovery and RFC 8414 require', async () => {
    const res = await call('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const as = await discover();
    expect(as.issuer).toBe(env.ISSUER);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) {
      // https in production (CheckDiscEndpointAllEndpointsAreHttps); the test issuer is http://localhost.
      expect(new URL(as[endpoint] as string).origin).toBe(new URL(env.ISSUER).origin);
    }
    expect(as.response_types_supported).toContain('code');
    expect(as.subject_types_supported?.every((t) => t === 'public' || t === 'pairwise')).toBe(true);
    expect(as.id_token_signing_alg_values_supported).toContain('RS256');
    expect(as.scopes_supported).toContain('openid');
    expect(as.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'aud']));
    expect(as.grant_types_supported).toContain('authorization_code');
    expect(Array.isArray(as.code_challenge_methods_supported)).toBe(true);
    expect(as.request_parameter_supported).toBe(false);
    expect(as.request_uri_parameter_supported).toBe(false);
    expect(typeof as.claims_parameter_supported).toBe('boolean');
  });

  it('oidcc-discovery-endpoint-verification (FetchServerKeys, ValidateJwksSequence): the jwks_uri serves public keys with kid and the ID token alg', async () => {
    const as = await discover();
    const jwks = (await (await call(new URL(as.jwks_uri!).pathname)).json()) as { keys: Record<string, unknown>[] };
    const rsa = jwks.keys.filter((k) => k.kty === 'RSA');
    expect(rsa.length).toBeGreaterThan(0);
    const kids = jwks.keys.map((key) => key.kid);
    expect(new Set(kids).size).toBe(kids.length);
    for (const key of jwks.keys) {
      expect(key.kid).toEqual(expect.any(String));
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
    }
  });
});

describe('Basic OP', () => {
  it('oidcc-server: the code flow gives a valid ID token for the approving person', async () => {
    const { person, tc, request, callback } = await loggedIn();
    expect(callback.searchParams.get('iss')).toBe(env.ISSUER);
    expect(callback.searchParams.get('state')).toBe(request.state);
    const { claims } = await tokensFor(tc, request, callback);
    expect(claims).toMatchObject({ iss: env.ISSUER, aud: tc.client.client_id, sub: person.sub, nonce: request.nonce });
    expect(claims.exp).toBeGreaterThan(claims.iat);
  });

  it('oidcc-idtoken-signature: without a requested alg the ID token is RS256 with a kid from the JWKS', async () => {
    const { tc, request, callback } = await loggedIn();
    const { tokens } = await tokensFor(tc, request, callback);
    const header = decodeProtectedHeader(tokens.id_token!);
    expect(header.alg).toBe('RS256');
    const jwks = (await (await call('/jwks')).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
  });

  it('oidcc-idtoken-unsigned: "none" is not offered (the suite skips the module) and never used', async () => {
    const as = await discover();
    expect(as.id_token_signing_alg_values_supported).not.toContain('none');
    const { tc, request, callback } = await loggedIn();
    const { tokens } = await tokensFor(tc, request, callback);
    expect(decodeProtectedHeader(tokens.id_token!).alg).not.toBe('none');
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

  it('oidcc-alternate-happy-flow: scope reversed and parameters in another order still log in', async () => {
    const reverse = (params: Record<string, string>) => Object.fromEntries(Object.entries(params).reverse());
    const { person, tc, request, callback } = await loggedIn({ scope: 'email profile openid' }, reverse);
    expect(new URLSearchParams(reverse(request.params)).toString()).toMatch(/^code_challenge_method=S256&/);
    const { claims, tokens } = await tokensFor(tc, request, callback);
    expect(claims.sub).toBe(person.sub);
    const body = (await (await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    expect(body.email).toBeDefined();
  });

  for (const [module, extra] of [
    ['oidcc-display-page', { display: 'page' }],
    ['oidcc-display-popup', { display: 'popup' }],
    ['oidcc-ensure-request-with-unknown-parameter-succeeds', { extra: 'foobar' }],
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

  it('oidcc-ensure-request-with-acr-values-succeeds: the advertised acr_values log in and the ID token has one of them', async () => {
    const advertised = (await discover()).acr_values_supported!;
    const { tc, request, callback } = await loggedIn({ acr_values: advertised.join(' ') });
    const { claims } = await tokensFor(tc, request, callback);
    expect(advertised).toContain(claims.acr);
  });

  it('oidcc-prompt-none-not-logged-in: login_required back to the client with state and iss', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc, { prompt: 'none' });
    const back = location(await authorizeIn(new Browser(), request.params));
    expect(`${back.origin}${back.pathname}`).toBe(tc.redirectUri);
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.get('iss')).toBe(env.ISSUER);
  });

  it('oidcc-prompt-none-logged-in: with a session prompt=none gives a code; sub and auth_time as the first time', async () => {
    const { person, browser, tc, request, callback } = await loggedIn();
    const first = await tokensFor(tc, request, callback);
    const again = await codeRequest(tc, { prompt: 'none' });
    const { claims } = await tokensFor(tc, again, location(await authorizeIn(browser, again.params)));
    expect(claims.sub).toBe(person.sub);
    expect(claims.auth_time).toBe(first.claims.auth_time);
  });

  it('oidcc-prompt-login: with a session prompt=login asks the phone again; the second auth_time is later', async () => {
    const { device, browser, tc, request, callback } = await loggedIn();
    const first = await tokensFor(tc, request, callback);
    // The suite's person needs seconds for the second login; here the first one is made older.
    await ageSession(browser, 5);
    const again = await codeRequest(tc, { prompt: 'login' });
    const res = await authorizeIn(browser, again.params);
    expect(location(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    const second = await redeem(tc, again, await loginWithPhone(browser, again.params, device));
    expect(second.claims.auth_time as number).toBeGreaterThan((first.claims.auth_time as number) - 5);
    expect(second.claims.sub).toBe(first.claims.sub);
  });

  it('oidcc-max-age-10000: max_age=15000 first, then max_age=10000 asks no phone; sub and auth_time unchanged', async () => {
    const { person, browser, tc, request, callback } = await loggedIn({ max_age: '15000' });
    const first = await tokensFor(tc, request, callback);
    expect(first.claims.auth_time).toEqual(expect.any(Number));
    const again = await codeRequest(tc, { max_age: '10000' });
    const { claims } = await tokensFor(tc, again, location(await authorizeIn(browser, again.params)));
    expect(claims.sub).toBe(person.sub);
    expect(claims.auth_time).toBe(first.claims.auth_time);
  });

  it('oidcc-id-token-hint: prompt=none with our ID token as hint succeeds at once; sub and auth_time unchanged', async () => {
    const { person, browser, tc, request, callback } = await loggedIn();
    const { tokens, claims: first } = await tokensFor(tc, request, callback);
    const again = await codeRequest(tc, { prompt: 'none', id_token_hint: tokens.id_token! });
    const { claims } = await tokensFor(tc, again, location(await authorizeIn(browser, again.params)));
    expect(claims.sub).toBe(person.sub);
    expect(claims.auth_time).toBe(first.auth_time);
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

  it('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri gets an error page, no redirect', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc, { redirect_uri: 'https://attacker.example/cb' });
    const res = await authorizeIn(new Browser(), request.params);
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
    expect(await res.text()).toContain('invalid_redirect_uri');
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
  it('oidcc-max-age-1: a login older than max_age=1 asks the phone again; the second ID token has a later auth_time', async () => {
    const { browser, device, tc, request: firstRequest, callback } = await loggedIn();
    const first = await tokensFor(tc, firstRequest, callback);
    await ageSession(browser, 5);
    const request = await codeRequest(tc, { max_age: '1' });
    expect(location(await authorizeIn(browser, request.params)).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    const { claims } = await tokensFor(tc, request, await loginWithPhone(browser, request.params, device));
    expect(claims.auth_time).toEqual(expect.any(Number));
    expect(claims.auth_time as number).toBeGreaterThan((first.claims.auth_time as number) - 5);
  });

  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: request objects are refused with request_not_supported', async () => {
    expect((await discover()).request_parameter_supported).toBe(false);
    const tc = await newClient();
    const request = await codeRequest(tc, { request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.' });
    const back = location(await authorizeIn(new Browser(), request.params));
    expect(back.searchParams.get('error')).toBe('request_not_supported');
    expect(back.searchParams.get('state')).toBe(request.state);
  });

  it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: request_uri is refused with request_uri_not_supported', async () => {
    expect((await discover()).request_uri_parameter_supported).toBe(false);
    const tc = await newClient();
    const request = await codeRequest(tc, { request_uri: 'https://rp.example/request.jwt' });
    const back = location(await authorizeIn(new Browser(), request.params));
    expect(back.searchParams.get('error')).toBe('request_uri_not_supported');
  });

  it('oidcc-claims-essential: the claims parameter asking for name as essential at UserInfo is honoured', async () => {
    const { tc, request, callback } = await loggedIn({ scope: 'openid', claims: JSON.stringify({ userinfo: { name: { essential: true } } }) });
    const { tokens } = await tokensFor(tc, request, callback);
    const body = (await (await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    expect(body.name).toBe('Jana Nováková');
  });

  it('oidcc-ensure-request-object-with-redirect-uri: a request object with an unregistered outer redirect_uri gets an error page, no redirect', async () => {
    const tc = await newClient();
    const header = btoa(JSON.stringify({ alg: 'none' })).replace(/=+$/, '');
    const body = btoa(JSON.stringify({ client_id: tc.client.client_id, redirect_uri: tc.redirectUri, response_type: 'code', scope: 'openid' })).replace(/=+$/, '');
    const request = await codeRequest(tc, { request: `${header}.${body}.`, redirect_uri: 'https://attacker.example/cb' });
    const res = await authorizeIn(new Browser(), request.params);
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
    expect(await res.text()).toContain('invalid_redirect_uri');
  });

  it('oidcc-refresh-token: refresh tokens are issued exactly when discovery offers the grant (the suite skips the module otherwise)', async () => {
    const as = await discover();
    const offered = as.grant_types_supported?.includes('refresh_token') ?? false;
    const scope = as.scopes_supported?.includes('offline_access') ? 'openid offline_access' : 'openid';
    // OIDC Core §11: offline_access is honoured with prompt=consent.
    const { tc, request, callback } = await loggedIn(scope.includes('offline_access') ? { scope, prompt: 'consent' } : { scope });
    const { tokens } = await tokensFor(tc, request, callback);
    expect(typeof tokens.refresh_token === 'string').toBe(offered);
    if (offered) {
      const refreshed = await oauth.processRefreshTokenResponse(as, tc.client, await oauth.refreshTokenGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), tokens.refresh_token!, rp));
      expect(refreshed.access_token).toEqual(expect.any(String));
      const other = await newClient();
      await expect(
        oauth.processRefreshTokenResponse(as, other.client, await oauth.refreshTokenGrantRequest(as, other.client, oauth.ClientSecretBasic(other.secret!), tokens.refresh_token!, rp)),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    }
  });
});
