/**
 * Logout with the real browser session (issue 10): a person logs in with the phone at one
 * service and silently at a second; RP-initiated logout with the ID token as hint ends the
 * session and sends the browser back with state; the session object delivers a back-channel
 * logout token to each service (one receiver fails first and gets the retry), which they verify
 * with jose against /jwks; front-channel iframes name the session; afterwards prompt=none is
 * login_required.
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
import { codeRequest, newClient, newPerson, type TestClient } from './oidc-support.ts';
import { authorizeIn, Browser, consented, loginWithPhone, redeem } from './sso-support.ts';

/** A confidential client with post-logout, back-channel and (optionally) front-channel logout registered. */
async function logoutClient(options: { frontchannel?: boolean } = {}) {
  const tc = await newClient();
  const base = new URL(tc.redirectUri).origin.replace('rp.example', `rp-${tc.client.client_id.slice(7, 13).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example`);
  const registration = {
    postLogoutRedirectUris: [`${base}/bye`],
    backchannelLogoutUri: `${base}/backchannel`,
    ...(options.frontchannel ? { frontchannelLogoutUri: `${base}/frontchannel` } : {}),
  };
  await updateClient(env.DB, tc.client.client_id, registration);
  return { tc, base, ...registration };
}

/** Logged in at `first` with the phone and silently at `second` (consented before); returns both ID tokens. */
async function loggedInAtTwo(first: TestClient, second: TestClient) {
  const person = await newPerson();
  const device = await testDevice('Jana’s phone', person.sub);
  const browser = new Browser();
  const request = await codeRequest(first);
  const a = await redeem(first, request, await loginWithPhone(browser, request.params, device));
  await consented(person.sub, second.client.client_id);
  const silent = await codeRequest(second);
  const res = await authorizeIn(browser, silent.params);
  expect(res.status).toBe(303);
  const b = await redeem(second, silent, new URL(res.headers.get('Location')!));
  expect(b.claims.sid).toBe(a.claims.sid);
  return { browser, person, a, b, sessionId: browser.session!.split('.')[0]! };
}

/** Back-channel receivers at these URIs: each verifies the token like an RP (§2.6) and answers its statuses in turn. */
async function receivers(byUri: Record<string, { clientId: string; statuses: number[] }>) {
  const jwks = createLocalJWKSet((await (await call('/jwks')).json()) as JSONWebKeySet);
  const received: Record<string, JWTPayload[]> = Object.fromEntries(Object.keys(byUri).map((uri) => [uri, []]));
  const attempts: Record<string, number> = Object.fromEntries(Object.keys(byUri).map((uri) => [uri, 0]));
  const real = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const receiver = byUri[request.url];
    if (!receiver) return real(input, init);
    const status = receiver.statuses[Math.min(attempts[request.url]!++, receiver.statuses.length - 1)]!;
    const token = String((await request.formData()).get('logout_token'));
    const { payload } = await jwtVerify(token, jwks, { issuer: env.ISSUER, audience: receiver.clientId, typ: 'logout+jwt' });
    received[request.url]!.push(payload);
    return new Response(null, { status });
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

afterEach(() => vi.restoreAllMocks());

describe('logout of a real browser session', () => {
  it('RP-initiated logout with the hint: back with state, logout tokens to both services (one after a retry), then prompt=none is login_required', async () => {
    const one = await logoutClient();
    const two = await logoutClient();
    const { browser, person, a, sessionId } = await loggedInAtTwo(one.tc, two.tc);
    const received = await receivers({
      [one.backchannelLogoutUri]: { clientId: one.tc.client.client_id, statuses: [200] },
      [two.backchannelLogoutUri]: { clientId: two.tc.client.client_id, statuses: [503, 200] },
    });

    const res = await browser.get(`/logout?${new URLSearchParams({ id_token_hint: a.idToken, post_logout_redirect_uri: one.postLogoutRedirectUris[0]!, state: 'st 1' })}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(`${one.postLogoutRedirectUris[0]}?state=st+1`);
    expect(browser.session).toBeUndefined();

    await deliverNow(sessionId);
    await deliverNow(sessionId);
    for (const [uri, tc] of [[one.backchannelLogoutUri, one.tc], [two.backchannelLogoutUri, two.tc]] as const) {
      const last = received[uri]!.at(-1)!;
      expect(last).toMatchObject({ iss: env.ISSUER, aud: tc.client.client_id, sub: person.sub, sid: a.claims.sid });
      expect(last.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
      expect(last).not.toHaveProperty('nonce');
    }
    expect(received[two.backchannelLogoutUri]).toHaveLength(2); // failed once, then the retry
    expect(received[one.backchannelLogoutUri]).toHaveLength(1);

    const silent = await codeRequest(one.tc, { prompt: 'none' });
    const after = await authorizeIn(browser, silent.params);
    expect(after.status).toBe(303);
    const back = new URL(after.headers.get('Location')!);
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(back.searchParams.get('state')).toBe(silent.state);

    // A repeated logout is harmless: the same way back, nothing more delivered.
    const again = await browser.get(`/logout?${new URLSearchParams({ id_token_hint: a.idToken, post_logout_redirect_uri: one.postLogoutRedirectUris[0]!, state: 'st 1' })}`);
    expect(again.headers.get('Location')).toBe(res.headers.get('Location'));
  });

  it('front-channel: the logged-out page loads the services’ URIs with iss and the session’s sid', async () => {
    const one = await logoutClient({ frontchannel: true });
    const two = await logoutClient({ frontchannel: true });
    const { browser, a } = await loggedInAtTwo(one.tc, two.tc);
    await receivers({});
    const res = await browser.get(`/logout?${new URLSearchParams({ id_token_hint: a.idToken, post_logout_redirect_uri: one.postLogoutRedirectUris[0]!, state: 's' })}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const frames = [...html.matchAll(/<iframe data-frontchannel src="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&')));
    expect(frames.map((f) => `${f.origin}${f.pathname}`).sort()).toEqual([one.frontchannelLogoutUri, two.frontchannelLogoutUri].sort());
    for (const frame of frames) expect(Object.fromEntries(frame.searchParams)).toEqual({ iss: env.ISSUER, sid: a.claims.sid });
    expect(res.headers.get('Content-Security-Policy')).toContain(`frame-src ${[one.base, two.base].join(' ')};`);
    expect(html).toContain(`id="continue" href="${one.postLogoutRedirectUris[0]}?state=s"`);
    expect(browser.session).toBeUndefined();
  });

  it('a hint for another person does not end the session until the person confirms', async () => {
    const one = await logoutClient();
    const two = await logoutClient();
    const { browser } = await loggedInAtTwo(one.tc, two.tc);
    const other = await loggedInAtTwo(one.tc, two.tc); // someone else's ID token
    await receivers({});
    const res = await browser.get(`/logout?${new URLSearchParams({ id_token_hint: other.a.idToken, post_logout_redirect_uri: one.postLogoutRedirectUris[0]! })}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(/<h1>([^<]*)<\/h1>/.exec(html)![1]).toBe('Odhlásit se?');
    expect(browser.session).toBeDefined();
    const silent = await authorizeIn(browser, (await codeRequest(two.tc, { prompt: 'none' })).params);
    expect(new URL(silent.headers.get('Location')!).searchParams.get('code')).toBeTruthy(); // still logged in

    const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    const done = browser.take(
      await call('/logout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: browser.header() },
        body: new URLSearchParams(fields),
        redirect: 'manual',
      }),
    );
    expect(done.status).toBe(200);
    expect(/<h1>([^<]*)<\/h1>/.exec(await done.text())![1]).toBe('Jste odhlášeni');
    expect(browser.session).toBeUndefined();
    const after = await authorizeIn(browser, (await codeRequest(two.tc, { prompt: 'none' })).params);
    expect(new URL(after.headers.get('Location')!).searchParams.get('error')).toBe('login_required');
  });
});
