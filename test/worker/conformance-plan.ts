/**
 * The OpenID Foundation conformance suite's Basic OP module list, run in one response mode: the
 * Basic OP plan (`oidcc-basic-certification-test-plan`, response mode `default`, i.e. query) and
 * the Form Post OP plan (`oidcc-formpost-basic-certification-test-plan`, which is the same list
 * with `response_mode=form_post`: the suite's `AbstractFormPostTestPlan.changeResponseTypeToFormPost`
 * over `OIDCCBasicTestPlan`). One test per module, named after the module's `testName` and checking
 * what its conditions check; the list mirrors OIDCCBasicTestPlan in
 * github.com/openid-certification/conformance-suite (src/main/java/net/openid/conformance/openid/).
 * The suite itself was not run against us (docs/relying-services.md, "Conformance suite").
 * conformance-basic.test.ts runs it with {@link QUERY}, conformance-formpost.test.ts with {@link FORM_POST}.
 * oauth4webapi is the relying service; the Browser cookie jar and a test device are the person.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { call, testDevice, type TestDevice } from './helpers.ts';
import { codeRequest, discover, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';
import { enrolledPhone, refreshClient } from './refresh-support.ts';
import { approveWithPhone, authorizeIn, Browser } from './sso-support.ts';

/** The authorization response as the relying service receives it: where, and its parameters. */
export interface Answer {
  /** The redirect_uri it reached (origin and path, no query). */
  target: string;
  params: URLSearchParams;
}

/** A response mode of the plan: its name in the suite, the request parameter it adds, how the answer arrives. */
export interface ResponseMode {
  /** The plan's certification profile name. */
  plan: 'Basic OP' | 'Form Post OP';
  /** Parameters every authorization request of the plan carries. */
  extra: Record<string, string>;
  /** Reads the answer from our response to the browser (a redirect or an auto-submitting form). */
  answer(res: Response): Promise<Answer>;
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** `response_mode` absent: a 303 to the redirect_uri with the parameters in its query (RFC 6749 §4.1.2). */
export const QUERY: ResponseMode = {
  plan: 'Basic OP',
  extra: {},
  async answer(res) {
    const url = location(res);
    return { target: `${url.origin}${url.pathname}`, params: url.searchParams };
  },
};

/**
 * `response_mode=form_post` (OAuth 2.0 Form Post Response Mode §2): a 200 HTML page whose form
 * POSTs the parameters to the redirect_uri, as the browser would submit it.
 */
export const FORM_POST: ResponseMode = {
  plan: 'Form Post OP',
  extra: { response_mode: 'form_post' },
  async answer(res) {
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Location')).toBeNull();
    const html = await res.text();
    const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
    expect(action, 'a form that posts to the redirect_uri').toBeDefined();
    const params = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) params.append(unescape(name!), unescape(value!));
    return { target: unescape(action!), params };
  },
};

/** A 303 of ours, resolved against the issuer. */
export function location(res: Response): URL {
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!, 'http://localhost:8787');
}

/**
 * The browser's trip through the phone: /authorize, `device` approves (its consent remembered, as
 * the phone's "always" records it), /continue answers in `mode`.
 */
export async function loginTrip(mode: ResponseMode, browser: Browser, params: Record<string, string>, device: TestDevice): Promise<Answer> {
  return mode.answer(await approveWithPhone(browser, params, device));
}

/** Moves the browser session's auth_time `seconds` into the past, as if the first login were older. */
async function ageSession(browser: Browser, seconds: number): Promise<void> {
  const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
  await runInDurableObject(stub, async (_i: BrowserSession, state) => {
    const record = (await state.storage.get<SessionRecord>('session'))!;
    await state.storage.put('session', { ...record, authTime: record.authTime - seconds, createdAt: record.createdAt - seconds * 1000 });
  });
}

/** The plan's shared steps in a response mode. */
function planHelpers(mode: ResponseMode) {
  /**
   * A person with an enrolled phone, logged in at a fresh client (`options.client`, by default
   * {@link newClient}); `options.order` rearranges the request's parameters as the browser sends them.
   */
  async function loggedIn(
    extra: Record<string, string> = {},
    { order = (p) => p, client = newClient }: { order?: (params: Record<string, string>) => Record<string, string>; client?: () => Promise<TestClient> } = {},
  ) {
    const person = await newPerson();
    // UserInfo checks that the approving key is still enrolled.
    const device = await enrolledPhone(person.sub);
    const browser = new Browser();
    const tc = await client();
    const request = await codeRequest(tc, { ...mode.extra, ...extra });
    const callback = await loginTrip(mode, browser, order(request.params), device);
    return { person, device, browser, tc, request, callback };
  }

  /** Redeems with client_secret_basic and returns the tokens (oauth4webapi validates the ID token). */
  async function tokensFor(tc: TestClient, request: Awaited<ReturnType<typeof codeRequest>>, callback: Answer, auth = oauth.ClientSecretBasic(tc.secret!)) {
    expect(callback.target).toBe(tc.redirectUri);
    const as = await discover();
    const params = oauth.validateAuthResponse(as, tc.client, callback.params, request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, auth, params, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce, requireIdToken: true });
    return { as, tokens, claims: oauth.getValidatedIdTokenClaims(tokens)! };
  }

  /** The parameters of a request made at a fresh client in this mode. */
  const requestAt = (tc: TestClient, extra: Record<string, string> = {}) => codeRequest(tc, { ...mode.extra, ...extra });

  return { loggedIn, tokensFor, requestAt, back: (res: Response) => mode.answer(res) };
}

/** UserInfo's JSON for a bearer access token. */
async function userinfo(accessToken: string): Promise<Record<string, unknown>> {
  return (await (await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).json()) as Record<string, unknown>;
}

/** The request's /authorize answer is our error page for the redirect_uri: a 400, no redirect anywhere. */
async function expectRedirectUriErrorPage(request: { params: Record<string, string> }): Promise<void> {
  const res = await authorizeIn(new Browser(), request.params);
  expect(res.status).toBe(400);
  expect(res.headers.get('Location')).toBeNull();
  expect(await res.text()).toContain('invalid_redirect_uri');
}

/**
 * Registers the Basic OP module list as tests under `describe(mode.plan)`, every authorization
 * request carrying `mode.extra` and every answer read with `mode.answer`.
 */
export function basicOpPlan(mode: ResponseMode): void {
  const { loggedIn, tokensFor, requestAt, back } = planHelpers(mode);
  describe(mode.plan, () => {
    it('oidcc-server: the code flow gives a valid ID token for the approving person', async () => {
      const { person, tc, request, callback } = await loggedIn();
      expect(callback.target).toBe(tc.redirectUri);
      expect(callback.params.get('iss')).toBe(env.ISSUER);
      expect(callback.params.get('state')).toBe(request.state);
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
      const { params, state } = await requestAt(tc);
      delete (params as Record<string, string | undefined>).response_type;
      const answer = await back(await authorizeIn(new Browser(), params));
      expect(answer.target).toBe(tc.redirectUri);
      expect(answer.params.get('error')).toMatch(/^(invalid_request|unsupported_response_type)$/);
      expect(answer.params.get('state')).toBe(state);
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
      const request = await requestAt(tc);
      delete (request.params as Record<string, string | undefined>).nonce;
      const callback = await loginTrip(mode, new Browser(), request.params, await testDevice('p', person.sub));
      const as = await discover();
      const params = oauth.validateAuthResponse(as, tc.client, callback.params, request.state);
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
        expect((await userinfo(tokens.access_token))[claim]).toBeDefined();
      });
    }

    it('oidcc-scope-all: every standard scope at once releases all their claims', async () => {
      const { tc, request, callback } = await loggedIn({ scope: 'openid profile email address phone' });
      const { tokens } = await tokensFor(tc, request, callback);
      const body = await userinfo(tokens.access_token);
      for (const claim of ['given_name', 'family_name', 'email', 'address', 'phone_number']) expect(body[claim]).toBeDefined();
    });

    it('oidcc-alternate-happy-flow: scope reversed and parameters in another order still log in', async () => {
      const reverse = (params: Record<string, string>) => Object.fromEntries(Object.entries(params).reverse());
      const { person, tc, request, callback } = await loggedIn({ scope: 'email profile openid' }, { order: reverse });
      // The browser sends client_id, redirect_uri and response_type last, not first.
      expect(Object.keys(reverse(request.params)).slice(-3)).toEqual(['response_type', 'redirect_uri', 'client_id']);
      const { claims, tokens } = await tokensFor(tc, request, callback);
      expect(claims.sub).toBe(person.sub);
      expect((await userinfo(tokens.access_token)).email).toBeDefined();
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
      const request = await requestAt(tc, { prompt: 'none' });
      const answer = await back(await authorizeIn(new Browser(), request.params));
      expect(answer.target).toBe(tc.redirectUri);
      expect(answer.params.get('error')).toBe('login_required');
      expect(answer.params.get('state')).toBe(request.state);
      expect(answer.params.get('iss')).toBe(env.ISSUER);
    });

    it('oidcc-prompt-none-logged-in: with a session prompt=none gives a code; sub and auth_time as the first time', async () => {
      const { person, browser, tc, request, callback } = await loggedIn();
      const first = await tokensFor(tc, request, callback);
      const again = await requestAt(tc, { prompt: 'none' });
      const { claims } = await tokensFor(tc, again, await back(await authorizeIn(browser, again.params)));
      expect(claims.sub).toBe(person.sub);
      expect(claims.auth_time).toBe(first.claims.auth_time);
    });

    it('oidcc-prompt-login: with a session prompt=login asks the phone again; the second auth_time is later', async () => {
      const { device, browser, tc, request, callback } = await loggedIn();
      const first = await tokensFor(tc, request, callback);
      // The suite's person needs seconds for the second login; here the first one is made older.
      await ageSession(browser, 5);
      const again = await requestAt(tc, { prompt: 'login' });
      const res = await authorizeIn(browser, again.params);
      expect(location(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
      const second = await tokensFor(tc, again, await loginTrip(mode, browser, again.params, device));
      expect(second.claims.auth_time as number).toBeGreaterThan((first.claims.auth_time as number) - 5);
      expect(second.claims.sub).toBe(first.claims.sub);
    });

    it('oidcc-max-age-1: a login older than max_age=1 asks the phone again; the second ID token has a later auth_time', async () => {
      const { browser, device, tc, request: firstRequest, callback } = await loggedIn();
      const first = await tokensFor(tc, firstRequest, callback);
      await ageSession(browser, 5);
      const request = await requestAt(tc, { max_age: '1' });
      expect(location(await authorizeIn(browser, request.params)).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
      const { claims } = await tokensFor(tc, request, await loginTrip(mode, browser, request.params, device));
      expect(claims.auth_time).toEqual(expect.any(Number));
      expect(claims.auth_time as number).toBeGreaterThan((first.claims.auth_time as number) - 5);
    });

    it('oidcc-max-age-10000: max_age=15000 first, then max_age=10000 asks no phone; sub and auth_time unchanged', async () => {
      const { person, browser, tc, request, callback } = await loggedIn({ max_age: '15000' });
      const first = await tokensFor(tc, request, callback);
      expect(first.claims.auth_time).toEqual(expect.any(Number));
      const again = await requestAt(tc, { max_age: '10000' });
      const { claims } = await tokensFor(tc, again, await back(await authorizeIn(browser, again.params)));
      expect(claims.sub).toBe(person.sub);
      expect(claims.auth_time).toBe(first.claims.auth_time);
    });

    it('oidcc-id-token-hint: prompt=none with our ID token as hint succeeds at once; sub and auth_time unchanged', async () => {
      const { person, browser, tc, request, callback } = await loggedIn();
      const { tokens, claims: first } = await tokensFor(tc, request, callback);
      const again = await requestAt(tc, { prompt: 'none', id_token_hint: tokens.id_token! });
      const { claims } = await tokensFor(tc, again, await back(await authorizeIn(browser, again.params)));
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
      await expectRedirectUriErrorPage(await requestAt(tc, { redirect_uri: 'https://attacker.example/cb' }));
    });

    it('oidcc-ensure-post-request-succeeds: the authorization request also works as a form POST', async () => {
      const tc = await newClient();
      const request = await requestAt(tc);
      const res = await call('/authorize', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(request.params),
        redirect: 'manual',
      });
      expect(location(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    });

    it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: request_uri is refused with request_uri_not_supported', async () => {
      expect((await discover()).request_uri_parameter_supported).toBe(false);
      const tc = await newClient();
      const request = await requestAt(tc, { request_uri: 'https://rp.example/request.jwt' });
      const answer = await back(await authorizeIn(new Browser(), request.params));
      expect(answer.target).toBe(tc.redirectUri);
      expect(answer.params.get('error')).toBe('request_uri_not_supported');
    });

    it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: request objects are refused with request_not_supported', async () => {
      expect((await discover()).request_parameter_supported).toBe(false);
      const tc = await newClient();
      const request = await requestAt(tc, { request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.' });
      const answer = await back(await authorizeIn(new Browser(), request.params));
      expect(answer.params.get('error')).toBe('request_not_supported');
      expect(answer.params.get('state')).toBe(request.state);
    });

    it('oidcc-claims-essential: the claims parameter asking for name as essential at UserInfo is honoured', async () => {
      const { tc, request, callback } = await loggedIn({ scope: 'openid', claims: JSON.stringify({ userinfo: { name: { essential: true } } }) });
      const { tokens } = await tokensFor(tc, request, callback);
      expect((await userinfo(tokens.access_token)).name).toBe('Jana Nováková');
    });

    it('oidcc-ensure-request-object-with-redirect-uri: a request object with an unregistered outer redirect_uri gets an error page, no redirect', async () => {
      const tc = await newClient();
      const header = btoa(JSON.stringify({ alg: 'none' })).replace(/=+$/, '');
      const body = btoa(JSON.stringify({ client_id: tc.client.client_id, redirect_uri: tc.redirectUri, response_type: 'code', scope: 'openid' })).replace(/=+$/, '');
      await expectRedirectUriErrorPage(await requestAt(tc, { request: `${header}.${body}.`, redirect_uri: 'https://attacker.example/cb' }));
    });

    it('oidcc-refresh-token: refresh tokens are issued exactly when discovery offers the grant (the suite skips the module otherwise)', async () => {
      const as = await discover();
      const offered = as.grant_types_supported?.includes('refresh_token') ?? false;
      const scope = as.scopes_supported?.includes('offline_access') ? 'openid offline_access' : 'openid';
      // OIDC Core §11: offline_access is honoured with prompt=consent. The suite's clients are
      // registered for the refresh_token grant (conformance-refresh.test.ts has the module's every condition).
      const extra: Record<string, string> = scope.includes('offline_access') ? { scope, prompt: 'consent' } : { scope };
      const { tc, request, callback } = await loggedIn(extra, { client: refreshClient });
      const { tokens } = await tokensFor(tc, request, callback);
      expect(typeof tokens.refresh_token === 'string').toBe(offered);
      if (offered) {
        const refreshed = await oauth.processRefreshTokenResponse(as, tc.client, await oauth.refreshTokenGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), tokens.refresh_token!, rp));
        expect(refreshed.access_token).toEqual(expect.any(String));
        const other = await refreshClient();
        await expect(
          oauth.processRefreshTokenResponse(as, other.client, await oauth.refreshTokenGrantRequest(as, other.client, oauth.ClientSecretBasic(other.secret!), tokens.refresh_token!, rp)),
        ).rejects.toMatchObject({ error: 'invalid_grant' });
      }
    });
  });
}
