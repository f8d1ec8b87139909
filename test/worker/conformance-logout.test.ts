/**
 * The OpenID Foundation conformance suite's RP-Initiated Logout OP, Back-Channel Logout OP and
 * Front-Channel Logout OP modules, one test per module, named after its `testName` and checking
 * what its conditions check. The lists mirror OIDCCRpInitiatedLogoutTestPlan,
 * OIDCCBackchannelRpInitiatedLogoutTestPlan and OIDCCFrontchannelRpInitiatedLogoutTestPlan in
 * github.com/openid-certification/conformance-suite; the suite itself was not run against us
 * (docs/relying-services.md, "Conformance suite"). As there (AbstractOIDCCRpInitiatedLogout), every
 * logout uses a 128-character state and ends with prompt=none, which must need a screen. oauth4webapi is the
 * relying service (sso-support's redeem), the Browser cookie jar and a test device the person;
 * a back-channel receiver verifies the logout token with jose against /jwks.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { createLocalJWKSet, decodeJwt, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { PendingDelivery } from '../../src/browser-session/lifetime.ts';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/oidc/backchannel.ts';
import { updateClient } from '../../src/oidc/clients.ts';
import { call, testDevice } from './helpers.ts';
import { formFields, heading } from './logout-support.ts';
import { codeRequest, discover, newClient, newPerson } from './oidc-support.ts';
import { authorizeIn, Browser, loginWithPhone, redeem } from './sso-support.ts';

afterEach(() => vi.restoreAllMocks());

/** The suite's end-session state: 128 characters, to check the OP does not corrupt it. */
const STATE = 'S'.repeat(64) + 'tate-._~'.repeat(8);

/** A client with a post-logout URI (`/post_logout_redirect`, as the suite registers it), back-channel and optionally front-channel logout. */
async function logoutClient(options: { frontchannel?: boolean } = {}) {
  const tc = await newClient();
  const base = `https://rp-${tc.client.client_id.slice(7, 13).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example`;
  const registration = {
    postLogoutRedirectUris: [`${base}/post_logout_redirect`],
    backchannelLogoutUri: `${base}/backchannel`,
    ...(options.frontchannel ? { frontchannelLogoutUri: `${base}/frontchannel` } : {}),
  };
  await updateClient(env.DB, tc.client.client_id, registration);
  return { tc, base, ...registration };
}

/** Logged in at the client with the phone; returns the browser, the ID token and its claims. */
async function loggedIn(options: { frontchannel?: boolean } = {}) {
  const client = await logoutClient(options);
  const person = await newPerson();
  const browser = new Browser();
  const received = await receiver(client.backchannelLogoutUri);
  const request = await codeRequest(client.tc);
  const { claims, idToken } = await redeem(client.tc, request, await loginWithPhone(browser, request.params, await testDevice('p', person.sub)));
  return { ...client, person, browser, claims, idToken, received, sessionId: browser.session!.split('.')[0]! };
}

function logout(browser: Browser, params: Record<string, string>) {
  return browser.get(`/logout?${new URLSearchParams(params)}`);
}

/** After logout, prompt=none at the client is login_required (the suite's final check). */
async function expectLoggedOut(browser: Browser, tc: Awaited<ReturnType<typeof logoutClient>>['tc']) {
  const request = await codeRequest(tc, { prompt: 'none' });
  const back = new URL((await authorizeIn(browser, request.params)).headers.get('Location')!);
  expect(back.searchParams.get('error')).toBe('login_required');
  expect(back.searchParams.get('state')).toBe(request.state);
}

/**
 * The person confirms on our logout page (a POST of its form with the CSRF cookie).
 * @returns the logged-out page.
 */
async function confirm(browser: Browser, confirmation: Response): Promise<Response> {
  expect(confirmation.status).toBe(200);
  const html = await confirmation.text();
  expect(heading(html)).toBe('Odhlásit se?');
  const done = await browser.post('/logout', new URLSearchParams(formFields(html)));
  expect(done.status).toBe(200);
  return done;
}

/** A back-channel receiver at `uri` verifying each token like an RP (§2.6). */
async function receiver(uri: string) {
  const jwks = createLocalJWKSet((await (await call('/jwks')).json()) as JSONWebKeySet);
  const received: JWTPayload[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== uri) return real(input, init);
    const form = await request.formData();
    // CheckForUnexpectedParametersInBackchannelLogoutRequest: the body is the token alone.
    expect([...form.keys()]).toEqual(['logout_token']);
    const token = String(form.get('logout_token'));
    received.push((await jwtVerify(token, jwks, { issuer: env.ISSUER, typ: 'logout+jwt' })).payload);
    return new Response(null, { status: 200 });
  });
  return received;
}

/** Runs the session object's alarm with every pending delivery due now. */
async function deliverNow(sessionId: string) {
  const stub = browserSessionStub(env, sessionId)!;
  await runInDurableObject(stub, async (_i: BrowserSession, state) => {
    const pending = (await state.storage.get<PendingDelivery[]>('pending')) ?? [];
    await state.storage.put('pending', pending.map((d) => ({ ...d, dueAt: Date.now() })));
    await state.storage.setAlarm(Date.now());
  });
  await runDurableObjectAlarm(stub);
}

describe('RP-Initiated Logout OP', () => {
  it('oidcc-rp-initiated-logout-discovery-endpoint-verification: discovery has end_session_endpoint', async () => {
    expect((await discover()).end_session_endpoint).toBe(`${env.ISSUER}/logout`);
  });

  it('oidcc-rp-initiated-logout: with hint and registered URI the browser returns there with state unchanged, nothing added', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: STATE });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('Location')!);
    expect(`${to.origin}${to.pathname}`).toBe(s.postLogoutRedirectUris[0]);
    expect(Object.fromEntries(to.searchParams)).toEqual({ state: STATE });
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an unregistered URI is never redirected to: the person confirms', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: 'https://attacker.example/post_logout_redirect', state: STATE });
    expect(res.headers.get('Location')).toBeNull();
    const done = await confirm(s.browser, res);
    expect(await done.text()).not.toContain('attacker.example');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-modified-id-token-hint: a hint changed to alg "none" is not trusted: no redirect', async () => {
    const s = await loggedIn();
    const [, payload] = s.idToken.split('.');
    const unsigned = `${btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '')}.${payload}.`;
    const res = await logout(s.browser, { id_token_hint: unsigned, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: STATE });
    expect(res.headers.get('Location')).toBeNull();
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('invalid_request');
  });

  it('oidcc-rp-initiated-logout-no-id-token-hint: a URI without a hint is not redirected to: the person confirms', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: STATE });
    expect(res.headers.get('Location')).toBeNull();
    const done = await confirm(s.browser, res);
    const html = await done.text();
    expect(heading(html)).toBe('Jste odhlášeni');
    expect(html).not.toContain('post_logout_redirect');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-no-params: no parameters: the person confirms and is logged out', async () => {
    const s = await loggedIn();
    const done = await confirm(s.browser, await logout(s.browser, {}));
    expect(heading(await done.text())).toBe('Jste odhlášeni');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri: a hint alone logs out and shows the logged-out page', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, state: STATE });
    expect(res.status).toBe(200);
    expect(res.headers.get('Location')).toBeNull();
    expect(heading(await res.text())).toBe('Jste odhlášeni');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-no-state: without state the redirect adds nothing', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]! });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(s.postLogoutRedirectUris[0]);
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-only-state: state alone never redirects: the person confirms and is logged out', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { state: STATE });
    expect(res.headers.get('Location')).toBeNull();
    const done = await confirm(s.browser, res);
    expect(heading(await done.text())).toBe('Jste odhlášeni');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: the registered URI with "?foo=bar" added is not redirected to', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: `${s.postLogoutRedirectUris[0]}?foo=bar`, state: STATE });
    expect(res.headers.get('Location')).toBeNull();
    const done = await confirm(s.browser, res);
    expect(await done.text()).not.toContain('foo=bar');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-bad-id-token-hint: a hint signed by someone else gets an error page; nothing changes', async () => {
    const s = await loggedIn();
    const { privateKey } = await generateKeyPair('RS256');
    const claims = decodeJwt(s.idToken);
    const fake = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'suite' }).sign(privateKey);
    const res = await logout(s.browser, { id_token_hint: fake, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: STATE });
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
    expect(await res.text()).toContain('invalid_request');
    // Still logged in: prompt=none is answered with a code.
    const again = await codeRequest(s.tc, { prompt: 'none' });
    expect(new URL((await authorizeIn(s.browser, again.params)).headers.get('Location')!).searchParams.get('code')).toBeTruthy();
  });
});

describe('Back-Channel Logout OP', () => {
  it('oidcc-backchannel-logout-discovery-endpoint-verification: back-channel logout with sid, and end_session_endpoint', async () => {
    const as = await discover();
    expect(as.backchannel_logout_supported).toBe(true);
    expect(as.backchannel_logout_session_supported).toBe(true);
    expect(as.end_session_endpoint).toBe(`${env.ISSUER}/logout`);
  });

  it('oidcc-backchannel-rp-initiated-logout: a valid logout token reaches the client; the browser returns with state', async () => {
    const s = await loggedIn();
    const received = s.received;
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: STATE });
    const to = new URL(res.headers.get('Location')!);
    expect(Object.fromEntries(to.searchParams)).toEqual({ state: STATE });
    await deliverNow(s.sessionId);
    expect(received).toHaveLength(1);
    const token = received[0]!;
    // ValidateLogoutTokenClaims, CheckIdTokenSubMatchesLogoutToken, CheckIdTokenSidMatchesLogoutToken, CheckLogoutTokenNoNonce.
    expect(token).toMatchObject({ iss: env.ISSUER, aud: s.tc.client.client_id, sub: s.claims.sub, sid: s.claims.sid });
    expect(token.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 5);
    expect(token.iat).toBeGreaterThan(Math.floor(Date.now() / 1000) - 86_400);
    expect(token.jti).toEqual(expect.any(String));
    expect(token.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
    expect(token).not.toHaveProperty('nonce');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('beyond the suite: without post_logout_redirect_uri the logout token is still delivered', async () => {
    const s = await loggedIn();
    const received = s.received;
    await logout(s.browser, { id_token_hint: s.idToken });
    await deliverNow(s.sessionId);
    expect(received.map((t) => t.sid)).toEqual([s.claims.sid]);
  });
});

describe('Front-Channel Logout OP', () => {
  it('oidcc-frontchannel-logout-discovery-endpoint-verification: front-channel logout with sid, and end_session_endpoint', async () => {
    const as = await discover();
    expect(as.frontchannel_logout_supported).toBe(true);
    expect(as.frontchannel_logout_session_supported).toBe(true);
    expect(as.end_session_endpoint).toBe(`${env.ISSUER}/logout`);
  });

  it('oidcc-frontchannel-rp-initiated-logout: the logged-out page frames the frontchannel_logout_uri with iss and sid, then continues with state', async () => {
    const s = await loggedIn({ frontchannel: true });
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: STATE });
    expect(res.status).toBe(200);
    const html = await res.text();
    const frames = [...html.matchAll(/<iframe data-frontchannel src="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&')));
    expect(frames.map((f) => `${f.origin}${f.pathname}`)).toEqual([s.frontchannelLogoutUri]);
    // CheckForUnexpectedParametersInFrontchannelLogoutRequest, ValidateFrontchannelLogoutIss, CheckIdTokenSidMatchesFrontChannelLogoutRequest.
    expect(Object.fromEntries(frames[0]!.searchParams)).toEqual({ iss: env.ISSUER, sid: s.claims.sid });
    const onward = new URL(/id="continue" href="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&'));
    expect(`${onward.origin}${onward.pathname}`).toBe(s.postLogoutRedirectUris[0]);
    expect(Object.fromEntries(onward.searchParams)).toEqual({ state: STATE });
    await expectLoggedOut(s.browser, s.tc);
  });
});
