/**
 * Single sign-on through the browser session (issue 10): a second service logs in without the
 * phone; prompt, max_age, id_token_hint and login_hint; the session's end by device revocation.
 * oauth4webapi is each relying service; a cookie jar is the browser.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import { sessionsOfDevice } from '../../src/browser-session/index-db.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { revocationMessage, signDeviceMessage } from '../../src/mobile/protocol.ts';
import { answerAs, call, ORIGIN, scanAs, testDevice } from './helpers.ts';
import { enrolTestDevice, revoke } from './identity-helpers.ts';
import { codeRequest, loginFrom, newClient, newPerson } from './oidc-support.ts';
import { authorizeIn, Browser, consented, loginWithPhone, redeem } from './sso-support.ts';

/** Logs in with the phone at a fresh client; returns the browser, the client, the person's device and the ID token. */
async function loggedIn() {
  const person = await newPerson();
  const device = await testDevice('Jana’s phone', person.sub);
  const browser = new Browser();
  const first = await newClient();
  const request = await codeRequest(first);
  const callback = await loginWithPhone(browser, request.params, device);
  const { claims, idToken } = await redeem(first, request, callback);
  expect(browser.session).toBeDefined();
  return { browser, person, device, first, claims, idToken };
}

/** Moves the session's auth_time (and creation) `seconds` into the past, as if the login were older. */
async function ageSession(browser: Browser, seconds: number): Promise<void> {
  const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
  await runInDurableObject(stub, async (_instance: BrowserSession, state) => {
    const record = (await state.storage.get<SessionRecord>('session'))!;
    await state.storage.put('session', { ...record, authTime: record.authTime - seconds, createdAt: record.createdAt - seconds * 1000 });
  });
}

function redirectedTo(res: Response): URL {
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!, 'http://localhost:8787');
}

describe('single sign-on', () => {
  it('a second service logs in without the phone: a code at once, the same sub, sid and auth_time', async () => {
    const { browser, claims, person } = await loggedIn();
    expect(claims.sid).toEqual(expect.any(String));
    const second = await newClient();
    await consented(person.sub, second.client.client_id);
    const request = await codeRequest(second);
    const callback = redirectedTo(await authorizeIn(browser, request.params));
    expect(`${callback.origin}${callback.pathname}`).toBe(second.redirectUri);
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(env.ISSUER);
    const again = await redeem(second, request, callback);
    expect(again.claims.sub).toBe(claims.sub);
    expect(again.claims.sid).toBe(claims.sid);
    expect(again.claims.auth_time).toBe(claims.auth_time);
    expect(again.claims.aud).toBe(second.client.client_id);
  });

  it('records every client that received tokens in the session', async () => {
    const { browser, first, person } = await loggedIn();
    const second = await newClient();
    await consented(person.sub, second.client.client_id);
    const request = await codeRequest(second);
    await redeem(second, request, redirectedTo(await authorizeIn(browser, request.params)));
    const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
    const view = await runInDurableObject(stub, async (_i: BrowserSession, state) => state.storage.get<SessionRecord>('session'));
    expect(view!.clients).toEqual([first.client.client_id, second.client.client_id]);
  });

  it('a silent code is single use like any other', async () => {
    const { browser, person } = await loggedIn();
    const second = await newClient();
    await consented(person.sub, second.client.client_id);
    const request = await codeRequest(second);
    const callback = redirectedTo(await authorizeIn(browser, request.params));
    await redeem(second, request, callback);
    await expect(redeem(second, request, callback)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('without the cookie, or with a forged one, the login page is shown', async () => {
    const { browser, first } = await loggedIn();
    const request = await codeRequest(first);
    expect(redirectedTo(await authorizeIn(new Browser(), request.params)).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    const forged = new Browser();
    forged.cookies.set('__Host-mk_session', `${browser.session!.split('.')[0]}.${'A'.repeat(43)}`);
    expect(redirectedTo(await authorizeIn(forged, request.params)).pathname).toMatch(/^\/login\//);
  });
});

describe('prompt and max_age (OIDC Core §3.1.2.1)', () => {
  it('prompt=none with a session succeeds silently', async () => {
    const { browser, claims, person } = await loggedIn();
    const second = await newClient();
    await consented(person.sub, second.client.client_id);
    const request = await codeRequest(second, { prompt: 'none' });
    const again = await redeem(second, request, redirectedTo(await authorizeIn(browser, request.params)));
    expect(again.claims.sub).toBe(claims.sub);
  });

  it('prompt=none without a session is login_required with state and iss', async () => {
    const tc = await newClient();
    const request = await codeRequest(tc, { prompt: 'none' });
    const back = redirectedTo(await authorizeIn(new Browser(), request.params));
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.get('iss')).toBe(env.ISSUER);
    expect(back.searchParams.has('code')).toBe(false);
  });

  it('prompt=login asks the phone again, keeps the sid and gives a later auth_time', async () => {
    const { browser, device, first, claims } = await loggedIn();
    await ageSession(browser, 120);
    const request = await codeRequest(first, { prompt: 'login' });
    const callback = await loginWithPhone(browser, request.params, device);
    const fresh = await redeem(first, request, callback);
    expect(fresh.claims.auth_time).toBeGreaterThan((claims.auth_time as number) - 120);
    expect(fresh.claims.auth_time).toBeGreaterThanOrEqual(claims.auth_time as number);
    expect(fresh.claims.sid).toBe(claims.sid);
    // The session planned for the second login was not created: its index row went with it.
    expect(await sessionsOfDevice(env.DB, device.id)).toEqual([browser.session!.split('.')[0]]);
  });

  it('max_age: a login older than max_age asks the phone, a recent one does not; auth_time is in the ID token', async () => {
    const { browser, first } = await loggedIn();
    await ageSession(browser, 600);
    const recent = await codeRequest(first, { max_age: '3600' });
    const silent = await redeem(first, recent, redirectedTo(await authorizeIn(browser, recent.params)));
    expect(silent.claims.auth_time).toEqual(expect.any(Number));
    const strict = await codeRequest(first, { max_age: '300' });
    expect(redirectedTo(await authorizeIn(browser, strict.params)).pathname).toMatch(/^\/login\//);
    const none = await codeRequest(first, { max_age: '300', prompt: 'none' });
    expect(redirectedTo(await authorizeIn(browser, none.params)).searchParams.get('error')).toBe('login_required');
  });

  it('prompt=consent asks the phone (select_account: select-account.test.ts); none combined with another value is invalid_request', async () => {
    const { browser, first } = await loggedIn();
    for (const prompt of ['consent']) {
      const request = await codeRequest(first, { prompt });
      expect(redirectedTo(await authorizeIn(browser, request.params)).pathname, prompt).toMatch(/^\/login\//);
    }
    const mixed = await codeRequest(first, { prompt: 'none login' });
    expect(redirectedTo(await authorizeIn(browser, mixed.params)).searchParams.get('error')).toBe('invalid_request');
  });
});

describe('id_token_hint and login_hint', () => {
  it('id_token_hint naming the session’s sub with prompt=none succeeds silently', async () => {
    const { browser, first, claims, idToken } = await loggedIn();
    const request = await codeRequest(first, { prompt: 'none', id_token_hint: idToken });
    const again = await redeem(first, request, redirectedTo(await authorizeIn(browser, request.params)));
    expect(again.claims.sub).toBe(claims.sub);
  });

  it('id_token_hint of another person with prompt=none is login_required', async () => {
    const { first, idToken } = await loggedIn();
    const other = await loggedIn();
    const request = await codeRequest(first, { prompt: 'none', id_token_hint: idToken });
    const back = redirectedTo(await authorizeIn(other.browser, request.params));
    expect(back.searchParams.get('error')).toBe('login_required');
  });

  it('a forged or foreign id_token_hint is invalid_request', async () => {
    const { browser, first, idToken } = await loggedIn();
    const [header, payload] = idToken.split('.');
    const tampered = `${header}.${payload}.${'A'.repeat(86)}`;
    for (const hint of [tampered, 'not-a-jwt', idToken.slice(0, -4)]) {
      const request = await codeRequest(first, { id_token_hint: hint });
      const back = redirectedTo(await authorizeIn(browser, request.params));
      expect(back.searchParams.get('error'), hint.slice(0, 20)).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe(request.state);
    }
  });

  it('login_hint: another identity’s key is refused on the phone and the page keeps waiting', async () => {
    const jana = await newPerson();
    const petr = await newPerson({ given_name: 'Petr', email: `petr-${crypto.randomUUID()}@example.cz` });
    const tc = await newClient();
    const request = await codeRequest(tc, { login_hint: petr.sub });
    const login = await loginFrom(await authorize(request.params));
    const janasPhone = await testDevice('Jana’s phone', jana.sub);
    const refused = await login.stub.scan({
      frame: login.frame,
      device: { id: janasPhone.id, sub: janasPhone.sub, name: janasPhone.name, publicJwk: janasPhone.publicJwk },
      signature: await (await import('./helpers.ts')).sign(janasPhone, 'scan', login.id),
    });
    expect(refused).toMatchObject({ ok: false, problem: { code: 'wrong-identity', status: 403 } });
    const page = await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } });
    expect(((await page.json()) as { state: string }).state).toBe('pending');
    // Petr's key, found by his e-mail as well, may approve.
    const byEmail = await codeRequest(tc, { login_hint: petr.claims.email! });
    const second = await loginFrom(await authorize(byEmail.params));
    const petrsPhone = await testDevice('Petr’s phone', petr.sub);
    const nonce = await scanAs(second, petrsPhone);
    expect((await answerAs(second, petrsPhone, 'approve', nonce)).ok).toBe(true);
  });

  it('login_hint of another person than the session’s asks the phone (and is login_required with prompt=none)', async () => {
    const { browser, first } = await loggedIn();
    const petr = await newPerson({ given_name: 'Petr' });
    const request = await codeRequest(first, { login_hint: petr.sub });
    expect(redirectedTo(await authorizeIn(browser, request.params)).pathname).toMatch(/^\/login\//);
    const none = await codeRequest(first, { login_hint: petr.sub, prompt: 'none' });
    expect(redirectedTo(await authorizeIn(browser, none.params)).searchParams.get('error')).toBe('login_required');
  });
});

describe('revoking the key ends the session', () => {
  it('after the operator revokes the approving device, prompt=none is login_required', async () => {
    const device = await enrolTestDevice();
    const browser = new Browser();
    const tc = await newClient();
    const request = await codeRequest(tc);
    await redeem(tc, request, await loginWithPhone(browser, request.params, device));
    const silent = await codeRequest(tc, { prompt: 'none' });
    expect(redirectedTo(await authorizeIn(browser, silent.params)).searchParams.has('code')).toBe(true);
    await revoke(device.id);
    const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
    const record = await runInDurableObject(stub, async (_i: BrowserSession, state) => state.storage.get<SessionRecord>('session'));
    expect(record?.endReason).toBe('device-revoked');
    const after = await codeRequest(tc, { prompt: 'none' });
    expect(redirectedTo(await authorizeIn(browser, after.params)).searchParams.get('error')).toBe('login_required');
  });
});

describe('revoking the key from the phone ends the session', () => {
  it('after the phone revokes its own key, the second service gets login_required', async () => {
    const device = await enrolTestDevice();
    const browser = new Browser();
    const tc = await newClient();
    const request = await codeRequest(tc);
    await redeem(tc, request, await loginWithPhone(browser, request.params, device));
    const timestamp = Date.now();
    const signature = await signDeviceMessage(device.privateKey, revocationMessage({ origin: ORIGIN, deviceId: device.id, timestamp }));
    const res = await call(`/api/mobile/devices/${device.id}/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ version: 2, timestamp, signature }),
    });
    expect(res.status).toBe(200);
    const other = await newClient();
    const after = await codeRequest(other, { prompt: 'none' });
    expect(redirectedTo(await authorizeIn(browser, after.params)).searchParams.get('error')).toBe('login_required');
  });
});

function authorize(params: Record<string, string>) {
  return call(`/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
}
