/**
 * The OpenID Foundation conformance suite's Basic OP module list, run in one response mode: the
 * Basic OP plan (`oidcc-basic-certification-test-plan`, response mode `default`, i.e. query) and
 * the Form Post OP plan (`oidcc-formpost-basic-certification-test-plan`, which is the same list
 * with `response_mode=form_post`: the suite's `AbstractFormPostTestPlan.changeResponseTypeToFormPost`
 * over `OIDCCBasicTestPlan`). One test per module, named after it. oauth4webapi is the relying
 * service; the Browser cookie jar and a test device are the person.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { answerAs, call, scanAs, testDevice, type TestDevice } from './helpers.ts';
import { codeRequest, discover, loginFrom, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';
import { authorizeIn, Browser } from './sso-support.ts';

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

/** The browser's trip through the phone: /authorize, `device` approves, /continue answers in `mode`. */
export async function loginTrip(mode: ResponseMode, browser: Browser, params: Record<string, string>, device: TestDevice): Promise<Answer> {
  const login = await loginFrom(await authorizeIn(browser, params));
  const nonce = await scanAs(login, device);
  expect((await answerAs(login, device, 'approve', nonce)).ok).toBe(true);
  return mode.answer(await browser.get(`/login/${login.id}/continue`));
}

/** The plan's shared steps in a response mode. */
function planHelpers(mode: ResponseMode) {
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
    const request = await codeRequest(tc, { ...mode.extra, ...extra });
    const callback = await loginTrip(mode, browser, request.params, device);
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

  return { loggedIn, tokensFor, back: (res: Response) => mode.answer(res), extra: mode.extra };
}

/**
 * Registers the Basic OP module list as tests under `describe(mode.plan)`.
 */
export function basicOpPlan(mode: ResponseMode): void {
  const { loggedIn, tokensFor, back, extra: modeExtra } = planHelpers(mode);
  describe(mode.plan, () => {
    it('oidcc-server: the code flow gives a valid ID token for the approving person', async () => {
      const { person, tc, request, callback } = await loggedIn();
      expect(callback.target).toBe(tc.redirectUri);
      expect(callback.params.get('iss')).toBe(env.ISSUER);
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
      const { params, state } = await codeRequest(tc, modeExtra);
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
      const request = await codeRequest(tc, modeExtra);
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
      const request = await codeRequest(tc, { ...modeExtra, prompt: 'none' });
      const answer = await back(await authorizeIn(new Browser(), request.params));
      expect(answer.target).toBe(tc.redirectUri);
      expect(answer.params.get('error')).toBe('login_required');
      expect(answer.params.get('state')).toBe(request.state);
      expect(answer.params.get('iss')).toBe(env.ISSUER);
    });

    it('oidcc-prompt-none-logged-in: with a session prompt=none gives a code for the same sub', async () => {
      const { person, browser, tc } = await loggedIn();
      const request = await codeRequest(tc, { ...modeExtra, prompt: 'none' });
      const { claims } = await tokensFor(tc, request, await back(await authorizeIn(browser, request.params)));
      expect(claims.sub).toBe(person.sub);
    });

    it('oidcc-prompt-login: with a session prompt=login asks the phone again', async () => {
      const { device, browser, tc, request, callback } = await loggedIn();
      const first = await tokensFor(tc, request, callback);
      const again = await codeRequest(tc, { ...modeExtra, prompt: 'login' });
      const res = await authorizeIn(browser, again.params);
      expect(location(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
      const second = await tokensFor(tc, again, await loginTrip(mode, browser, again.params, device));
      expect(second.claims.auth_time).toBeGreaterThanOrEqual(first.claims.auth_time as number);
    });

    it('oidcc-max-age-10000: with a fresh session no phone is asked and auth_time is in the ID token', async () => {
      const { person, browser, tc } = await loggedIn();
      const request = await codeRequest(tc, { ...modeExtra, max_age: '10000' });
      const { claims } = await tokensFor(tc, request, await back(await authorizeIn(browser, request.params)));
      expect(claims.sub).toBe(person.sub);
      expect(claims.auth_time).toEqual(expect.any(Number));
    });

    it('oidcc-id-token-hint: prompt=none with our ID token as hint succeeds for the same sub', async () => {
      const { person, browser, tc, request, callback } = await loggedIn();
      const { tokens } = await tokensFor(tc, request, callback);
      const again = await codeRequest(tc, { ...modeExtra, prompt: 'none', id_token_hint: tokens.id_token! });
      const { claims } = await tokensFor(tc, again, await back(await authorizeIn(browser, again.params)));
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
      const request = await codeRequest(tc, { ...modeExtra, redirect_uri: 'https://attacker.example/cb' });
      const res = await authorizeIn(new Browser(), request.params);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('Location')).toBeNull();
    });

    it('oidcc-ensure-post-request-succeeds: the authorization request also works as a form POST', async () => {
      const tc = await newClient();
      const request = await codeRequest(tc, modeExtra);
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
      const request = await codeRequest(tc, { ...modeExtra, max_age: '1' });
      expect(location(await authorizeIn(browser, request.params)).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    });

    it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: request objects are refused with request_not_supported', async () => {
      expect((await discover()).request_parameter_supported).toBe(false);
      const tc = await newClient();
      const request = await codeRequest(tc, { ...modeExtra, request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.' });
      const answer = await back(await authorizeIn(new Browser(), request.params));
      expect(answer.params.get('error')).toBe('request_not_supported');
      expect(answer.params.get('state')).toBe(request.state);
    });

    it('oidcc-request-uri-unsigned: request_uri is refused with request_uri_not_supported', async () => {
      expect((await discover()).request_uri_parameter_supported).toBe(false);
      const tc = await newClient();
      const request = await codeRequest(tc, { ...modeExtra, request_uri: 'https://rp.example/request.jwt' });
      const answer = await back(await authorizeIn(new Browser(), request.params));
      expect(answer.params.get('error')).toBe('request_uri_not_supported');
    });

    it('oidcc-claims-essential: the claims parameter asking for name as essential at UserInfo is honoured', async () => {
      const { tc, request, callback } = await loggedIn({ scope: 'openid', claims: JSON.stringify({ userinfo: { given_name: { essential: true } } }) });
      const { tokens } = await tokensFor(tc, request, callback);
      const body = (await (await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
      expect(body.given_name).toBe('Jana');
    });
  });
}
