/**
 * The OpenID Foundation conformance suite's RP-Initiated Logout OP, Back-Channel Logout OP and
 * Front-Channel Logout OP modules, one test per module, named after it. oauth4webapi is the
 * relying service (sso-support's redeem), the Browser cookie jar and a test device the person;
 * a back-channel receiver verifies the logout token with jose against /jwks.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { PendingDelivery } from '../../src/browser-session/lifetime.ts';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/oidc/backchannel.ts';
import { updateClient } from '../../src/oidc/clients.ts';
import { call, testDevice } from './helpers.ts';
import { heading } from './logout-support.ts';
import { codeRequest, discover, newClient, newPerson } from './oidc-support.ts';
import { authorizeIn, Browser, loginWithPhone, redeem } from './sso-support.ts';

afterEach(() => vi.restoreAllMocks());

/** A client with post-logout URIs (one with a query), back-channel and optionally front-channel logout. */
async function logoutClient(options: { frontchannel?: boolean } = {}) {
  const tc = await newClient();
  const base = `https://rp-${tc.client.client_id.slice(7, 13).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example`;
  const registration = {
    postLogoutRedirectUris: [`${base}/bye`, `${base}/bye?foo=bar`],
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

/** A back-channel receiver at `uri` verifying each token like an RP (§2.6). */
async function receiver(uri: string) {
  const jwks = createLocalJWKSet((await (await call('/jwks')).json()) as JSONWebKeySet);
  const received: JWTPayload[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== uri) return real(input, init);
    const token = String((await request.formData()).get('logout_token'));
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
  it('oidcc-rp-initiated-logout: discovery has end_session_endpoint; logout redirects with state unchanged', async () => {
    expect((await discover()).end_session_endpoint).toBe(`${env.ISSUER}/logout`);
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: 'xyz' });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(`${s.postLogoutRedirectUris[0]}?state=xyz`);
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an unregistered URI is never redirected to', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: 'https://attacker.example/bye', state: 'xyz' });
    expect(res.headers.get('Location')).toBeNull();
    expect(res.status).toBeLessThan(500);
  });

  it('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: the registered query is kept, state appended', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[1]!, state: 'xyz' });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('Location')!);
    expect(`${to.origin}${to.pathname}`).toBe(`${s.base}/bye`);
    expect(Object.fromEntries(to.searchParams)).toEqual({ foo: 'bar', state: 'xyz' });
  });

  it('oidcc-rp-initiated-logout-modified-id-token-hint: a tampered hint is not trusted: no redirect', async () => {
    const s = await loggedIn();
    const [h, p, sig] = s.idToken.split('.');
    const tampered = `${h}.${p}.${sig!.slice(0, -4)}${sig!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const res = await logout(s.browser, { id_token_hint: tampered, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: 'xyz' });
    expect(res.headers.get('Location')).toBeNull();
    expect(res.status).toBeLessThan(500);
  });

  it('oidcc-rp-initiated-logout-no-id-token-hint: without a hint the person is asked to confirm, no redirect', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: 'xyz' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Location')).toBeNull();
    expect(heading(await res.text())).toBe('Odhlásit se?');
  });

  it('oidcc-rp-initiated-logout-no-params: logout with no parameters is a page (confirmation), not an error', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, {});
    expect(res.status).toBe(200);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri: a hint alone logs out and shows the logged-out page', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken });
    expect(res.status).toBe(200);
    expect(heading(await res.text())).toBe('Jste odhlášeni');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-rp-initiated-logout-no-state: without state the redirect adds nothing', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]! });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(s.postLogoutRedirectUris[0]);
  });

  it('oidcc-rp-initiated-logout-only-state: state without a hint or URI never redirects', async () => {
    const s = await loggedIn();
    const res = await logout(s.browser, { state: 'xyz' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Location')).toBeNull();
  });
});

describe('Back-Channel Logout OP', () => {
  it('oidcc-backchannel-rp-initiated-logout: a valid logout token (iss, aud, sub, sid, events, no nonce) reaches the client', async () => {
    expect((await discover()).backchannel_logout_session_supported).toBe(true);
    const s = await loggedIn();
    const received = s.received;
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: 'xyz' });
    expect(res.headers.get('Location')).toBe(`${s.postLogoutRedirectUris[0]}?state=xyz`);
    await deliverNow(s.sessionId);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ iss: env.ISSUER, aud: s.tc.client.client_id, sub: s.person.sub, sid: s.claims.sid });
    expect(received[0]!.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
    expect(received[0]).not.toHaveProperty('nonce');
    await expectLoggedOut(s.browser, s.tc);
  });

  it('oidcc-backchannel-rp-initiated-logout (without post_logout_redirect_uri): the logout token is still delivered', async () => {
    const s = await loggedIn();
    const received = s.received;
    await logout(s.browser, { id_token_hint: s.idToken });
    await deliverNow(s.sessionId);
    expect(received.map((t) => t.sid)).toEqual([s.claims.sid]);
  });
});

describe('Front-Channel Logout OP', () => {
  it('oidcc-frontchannel-rp-initiated-logout: the logged-out page frames the frontchannel_logout_uri with iss and sid', async () => {
    expect((await discover()).frontchannel_logout_session_supported).toBe(true);
    const s = await loggedIn({ frontchannel: true });
    const res = await logout(s.browser, { id_token_hint: s.idToken, post_logout_redirect_uri: s.postLogoutRedirectUris[0]!, state: 'xyz' });
    expect(res.status).toBe(200);
    const html = await res.text();
    const frames = [...html.matchAll(/<iframe data-frontchannel src="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&')));
    expect(frames.map((f) => `${f.origin}${f.pathname}`)).toEqual([s.frontchannelLogoutUri]);
    expect(Object.fromEntries(frames[0]!.searchParams)).toEqual({ iss: env.ISSUER, sid: s.claims.sid });
    expect(html).toContain(`href="${s.postLogoutRedirectUris[0]}?state=xyz"`);
    await expectLoggedOut(s.browser, s.tc);
  });
});
