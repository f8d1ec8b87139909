/**
 * prompt=select_account (OIDC Core §3.1.2.1, issue 10): with a browser session the person
 * chooses "Continue as Jana N." (silent, auth_time unchanged) or "Log in with another key" (a
 * fresh approval on the phone); without one, the normal login page; with prompt=none,
 * account_selection_required. oauth4webapi is the relying service; a cookie jar is the browser.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { CHOICE_CSRF_FIELD, CHOICE_FIELD, shortName } from '../../src/oidc/select-account.tsx';
import { answerAs, scanAs, testDevice } from './helpers.ts';
import { codeRequest, loginFrom, newClient, newPerson } from './oidc-support.ts';
import { authorizeIn, Browser, loginWithPhone, redeem } from './sso-support.ts';

async function loggedIn() {
  const person = await newPerson();
  const device = await testDevice('Jana’s phone', person.sub);
  const browser = new Browser();
  const first = await newClient();
  const request = await codeRequest(first);
  const { claims } = await redeem(first, request, await loginWithPhone(browser, request.params, device));
  return { browser, person, device, first, claims };
}

/** The hidden fields and the CSRF token of the choice page's form. */
function formOf(html: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    form.append(name!, value!.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>'));
  }
  return form;
}

function text(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
}

function redirectedTo(res: Response): URL {
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!, 'http://localhost:8787');
}

describe('prompt=select_account', () => {
  it('with a session shows "Continue as Jana N." and "Log in with another key", cs and en, and issues no code', async () => {
    const { browser, first } = await loggedIn();
    const cs = await authorizeIn(browser, (await codeRequest(first, { prompt: 'select_account' })).params);
    expect(cs.status).toBe(200);
    expect(cs.headers.get('Location')).toBeNull();
    const page = text(await cs.text());
    expect(page).toContain('Pokračovat jako Jana N.');
    expect(page).toContain('Přihlásit se jiným klíčem');
    expect(cs.headers.get('Content-Security-Policy')).toContain("form-action 'self' https://rp.example");
    const en = await authorizeIn(browser, (await codeRequest(first, { prompt: 'select_account', ui_locales: 'en' })).params);
    const english = text(await en.text());
    expect(english).toContain('Continue as Jana N.');
    expect(english).toContain('Log in with another key');
  });

  it('"Continue" answers from the session: a code for the same sub, sid and unchanged auth_time', async () => {
    const { browser, first, claims } = await loggedIn();
    const request = await codeRequest(first, { prompt: 'select_account' });
    const form = formOf(await (await authorizeIn(browser, request.params)).text());
    expect(form.get(CHOICE_CSRF_FIELD)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    form.set(CHOICE_FIELD, 'continue');
    const back = redirectedTo(await browser.post('/authorize', form));
    expect(`${back.origin}${back.pathname}`).toBe(first.redirectUri);
    const again = await redeem(first, request, back);
    expect(again.claims).toMatchObject({ sub: claims.sub, sid: claims.sid, auth_time: claims.auth_time });
  });

  it('"Log in with another key" asks the phone; another person’s key then owns the session', async () => {
    const { browser, first, claims } = await loggedIn();
    const request = await codeRequest(first, { prompt: 'select_account' });
    const form = formOf(await (await authorizeIn(browser, request.params)).text());
    form.set(CHOICE_FIELD, 'another');
    const res = await browser.post('/authorize', form);
    expect(redirectedTo(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    const binding = res.headers.getSetCookie().find((line) => !line.startsWith('mk_account_csrf'))!;
    const login = await loginFrom(new Response(null, { status: 303, headers: { Location: res.headers.get('Location')!, 'Set-Cookie': binding } }));
    const petr = await newPerson({ given_name: 'Petr', family_name: 'Svoboda' });
    const phone = await testDevice('Petr’s phone', petr.sub);
    expect((await answerAs(login, phone, 'approve', await scanAs(login, phone))).ok).toBe(true);
    const second = await redeem(first, request, redirectedTo(await browser.get(`/login/${login.id}/continue`)));
    expect(second.claims.sub).toBe(petr.sub);
    expect(second.claims.sid).not.toBe(claims.sid);
    // The browser's session is now Petr's: the next choice page names him.
    const next = await authorizeIn(browser, (await codeRequest(first, { prompt: 'select_account', ui_locales: 'en' })).params);
    expect(text(await next.text())).toContain('Continue as Petr S.');
  });

  it('an answer without this browser’s CSRF token is refused on our page: no code, no redirect', async () => {
    const { browser, first } = await loggedIn();
    const request = await codeRequest(first, { prompt: 'select_account' });
    const form = formOf(await (await authorizeIn(browser, request.params)).text());
    form.set(CHOICE_FIELD, 'continue');
    const stranger = new Browser();
    stranger.cookies.set('__Host-mk_session', browser.session!);
    const forged = await stranger.post('/authorize', form);
    expect(forged.status).toBe(400);
    expect(forged.headers.get('Location')).toBeNull();
    expect(await forged.text()).toContain('invalid_request');
    const wrong = new URLSearchParams(form);
    wrong.set(CHOICE_CSRF_FIELD, 'A'.repeat(43));
    expect((await browser.post('/authorize', wrong)).status).toBe(400);
    const odd = new URLSearchParams(form);
    odd.set(CHOICE_FIELD, 'someone-else');
    expect((await browser.post('/authorize', odd)).status).toBe(400);
    // The page's own token still works once, then no more.
    expect(redirectedTo(await browser.post('/authorize', form)).searchParams.get('code')).toBeTruthy();
    expect((await browser.post('/authorize', form)).status).toBe(400);
  });

  it('without a session it is the normal login page', async () => {
    const tc = await newClient();
    const res = await authorizeIn(new Browser(), (await codeRequest(tc, { prompt: 'select_account' })).params);
    expect(redirectedTo(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
  });

  it('with prompt=login or an exceeded max_age there is no choice: the phone is asked', async () => {
    const { browser, first } = await loggedIn();
    for (const extra of [{ prompt: 'select_account login' }, { prompt: 'select_account', max_age: '0' }] as Record<string, string>[]) {
      const res = await authorizeIn(browser, (await codeRequest(first, extra)).params);
      expect(redirectedTo(res).pathname).toMatch(/^\/login\/[0-9a-f]{64}$/);
    }
  });

  it('prompt="none select_account" is account_selection_required back to the client with state', async () => {
    const { browser, first } = await loggedIn();
    const request = await codeRequest(first, { prompt: 'none select_account' });
    const back = redirectedTo(await authorizeIn(browser, request.params));
    expect(back.searchParams.get('error')).toBe('account_selection_required');
    expect(back.searchParams.get('state')).toBe(request.state);
    expect(back.searchParams.get('iss')).toBe(env.ISSUER);
  });
});

describe('shortName', () => {
  it('is the given name and the family initial, or undefined without a given name', () => {
    expect(shortName({ given_name: 'Jana', family_name: 'Nováková' })).toBe('Jana N.');
    expect(shortName({ given_name: 'Jana', family_name: 'čermáková' })).toBe('Jana Č.');
    expect(shortName({ given_name: 'Jana' })).toBe('Jana');
    expect(shortName({ family_name: 'Nováková' })).toBeUndefined();
    expect(shortName(undefined)).toBeUndefined();
  });
});
