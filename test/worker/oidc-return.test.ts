/**
 * Every way back to the service from the hosted page (issue 11): "Cancel and return" while the
 * login is open, "Back to <service>" after a denial, a cancellation or an expiry — plain form
 * posts, answered with an OAuth error that oauth4webapi reads at the redirect_uri.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { DESCRIPTIONS } from '../../src/oidc/descriptions.ts';
import { answerAs, call, expireNow, scanAs, testDevice, type TestLogin } from './helpers.ts';
import { authorize, codeRequest, decide, discover, loginFrom, newClient, newPerson, type TestClient } from './oidc-support.ts';

const SAME_ORIGIN = { 'Sec-Fetch-Site': 'same-origin' };

/** Presses the page's return form (as a browser without scripts would). */
function pressReturn(login: TestLogin, headers: Record<string, string> = SAME_ORIGIN): Promise<Response> {
  return call(`/login/${login.id}/return`, { method: 'POST', headers: { Cookie: login.cookie, ...headers }, redirect: 'manual' });
}

/** The URL the hand-back page sends the browser to (meta refresh and the visible link agree). */
async function handBack(res: Response): Promise<URL> {
  expect(res.status).toBe(200);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const html = await res.text();
  const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(html)?.[1];
  const link = /<a class="button" href="([^"]+)" data-hand-back="">/.exec(html)?.[1];
  expect(refresh).toBeDefined();
  expect(link).toBe(refresh);
  return new URL(refresh!.replace(/&amp;/g, '&'));
}

/** What the relying service learns at its callback, through oauth4webapi (checks state and iss). */
async function errorAtService(tc: TestClient, callback: URL, state: string) {
  expect(`${callback.origin}${callback.pathname}`).toBe(tc.redirectUri);
  const as = await discover();
  try {
    oauth.validateAuthResponse(as, tc.client, callback, state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) return { error: error.error, description: error.error_description };
    throw error;
  }
  throw new Error('expected an error response');
}

async function pageHtml(login: TestLogin, lang = 'en'): Promise<string> {
  const res = await call(`/login/${login.id}?lang=${lang}`, { headers: { Cookie: login.cookie } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('the way back to the service', () => {
  it('pending: the page offers "Cancel and return", which ends the login with access_denied, state and iss', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params));
    const html = await pageHtml(login);
    expect(html).toMatch(new RegExp(`<form method="post" action="/login/${login.id}/return" data-return(="")?>`));
    expect(html).toContain(`Cancel and return to ${tc.name}`);
    expect(await pageHtml(login, 'cs')).toContain(`Zrušit a vrátit se do služby ${tc.name}`);

    const callback = await handBack(await pressReturn(login));
    expect(callback.searchParams.get('iss')).toBe(env.ISSUER);
    expect(await errorAtService(tc, callback, state)).toEqual({ error: 'access_denied', description: DESCRIPTIONS.cancelled });
    const after = await pageHtml(login);
    expect(after).toContain('data-state="cancelled"');
    expect(after).toContain(`Back to ${tc.name}`);
    expect(after).toContain('data-restart');
  });

  it('scanned: cancelling from the page ends it on the phone, which is told the browser cancelled', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params));
    const device = await testDevice('Jana’s phone', person.sub);
    const nonce = await scanAs(login, device);
    expect(await pageHtml(login)).toContain(`Cancel and return to ${tc.name}`);
    const callback = await handBack(await pressReturn(login));
    expect(await errorAtService(tc, callback, state)).toEqual({ error: 'access_denied', description: DESCRIPTIONS.cancelled });

    const answer = await answerAs(login, device, 'approve', nonce);
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.problem).toMatchObject({ code: 'login-cancelled', status: 409, title: 'Login cancelled in the browser' });
  });

  it('denied on the phone: "Back to <service>" beside "Start again" returns access_denied', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params));
    await decide(login, person.sub, 'deny');
    const html = await pageHtml(login);
    expect(html).toContain(`Back to ${tc.name}`);
    expect(html).toContain('data-restart');
    expect(html).not.toContain('Cancel and return');
    const callback = await handBack(await pressReturn(login));
    expect(await errorAtService(tc, callback, state)).toEqual({ error: 'access_denied', description: DESCRIPTIONS.denied });
  });

  it('expired: back to the service with access_denied saying the login timed out', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params));
    await expireNow(login);
    await runDurableObjectAlarm(login.stub);
    expect(await pageHtml(login)).toContain(`Back to ${tc.name}`);
    const callback = await handBack(await pressReturn(login));
    expect(await errorAtService(tc, callback, state)).toEqual({ error: 'access_denied', description: DESCRIPTIONS.timedOut });
  });

  it('a login whose time ran out but whose alarm is late is returned as expired, not cancelled', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params));
    await expireNow(login);
    const callback = await handBack(await pressReturn(login));
    expect(await errorAtService(tc, callback, state)).toEqual({ error: 'access_denied', description: DESCRIPTIONS.timedOut });
  });

  it('approved meanwhile: the return form leads on to the code instead', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const login = await loginFrom(await authorize((await codeRequest(tc)).params));
    await decide(login, person.sub);
    const res = await pressReturn(login);
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe(`/login/${login.id}/continue`);
  });

  it('refuses a cross-site post and a browser without the binding cookie, changing nothing', async () => {
    const tc = await newClient();
    const login = await loginFrom(await authorize((await codeRequest(tc)).params));
    expect((await pressReturn(login, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    const stranger = await call(`/login/${login.id}/return`, { method: 'POST', headers: SAME_ORIGIN, redirect: 'manual' });
    expect(stranger.status).toBe(403);
    expect(await pageHtml(login)).toContain('data-state="pending"');
  });

  it('form_post: the way back is an auto-submitting form to the redirect_uri', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc, { response_mode: 'form_post' });
    const login = await loginFrom(await authorize(params));
    const res = await pressReturn(login);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<form method="post" action="${tc.redirectUri}">`);
    expect(html).toContain('<input type="hidden" name="error" value="access_denied">');
    expect(html).toContain(`<input type="hidden" name="state" value="${state}">`);
    expect(html).toContain(`<input type="hidden" name="iss" value="${env.ISSUER}">`);
  });
});

describe('"Start again" keeps one live login per authorization request', () => {
  it('pressing it twice on an ended page cancels the first new login', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const login = await loginFrom(await authorize((await codeRequest(tc)).params));
    await decide(login, person.sub, 'deny');
    const restart = () =>
      call(`/login/${login.id}/restart`, { method: 'POST', headers: { Cookie: login.cookie, ...SAME_ORIGIN }, redirect: 'manual' });
    const first = await restart();
    const second = await restart();
    const idOf = (res: Response) => /^\/login\/([0-9a-f]{64})$/.exec(res.headers.get('Location') ?? '')![1]!;
    const cookieOf = (res: Response) => (res.headers.get('Set-Cookie') ?? '').split(';')[0]!;
    const state = async (res: Response) =>
      ((await (await call(`/login/${idOf(res)}/state`, { headers: { Cookie: cookieOf(res) } })).json()) as { state: string }).state;
    expect(idOf(first)).not.toBe(idOf(second));
    expect(await state(first)).toBe('cancelled');
    expect(await state(second)).toBe('pending');
  });
});
