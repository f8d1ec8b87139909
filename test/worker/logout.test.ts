/**
 * RP-Initiated Logout 1.0 at /logout, without a browser session (no SSO cookie): hints, exact
 * post-logout URIs, state, the confirmation page with its CSRF token, and bad input.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { signLogoutToken } from '../../src/oidc/backchannel.ts';
import { call, world } from './helpers.ts';
import {
  cookieOf,
  forgedToken,
  formFields,
  heading,
  idTokenFor,
  logoutClient,
  logoutGet,
  logoutPost,
  signedWithOurKey,
} from './logout-support.ts';
import { discover } from './oidc-support.ts';

const CSRF_COOKIE = 'mk_logout_csrf'; // the test issuer is http://localhost

describe('discovery', () => {
  it('advertises the end_session_endpoint and the three logout mechanisms with sessions', async () => {
    const as = await discover();
    expect(as.end_session_endpoint).toBe(`${env.ISSUER}/logout`);
    expect(as).toMatchObject({
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
    });
  });
});

describe('with a valid id_token_hint', () => {
  it('redirects to the registered post_logout_redirect_uri with state unchanged and nothing else', async () => {
    const { client, postLogout } = await logoutClient();
    const state = 'st/ä+=&x';
    const res = await logoutGet({ id_token_hint: await idTokenFor(client.clientId), post_logout_redirect_uri: postLogout, state });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(postLogout);
    expect([...location.searchParams]).toEqual([['state', state]]);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('accepts an expired ID token as the hint, and the same request as a POST form', async () => {
    const { client, postLogout } = await logoutClient();
    const hint = await idTokenFor(client.clientId, 'sub-jana', { expired: true });
    const get = await logoutGet({ id_token_hint: hint, post_logout_redirect_uri: postLogout, state: 'abc' });
    expect(get.headers.get('Location')).toBe(`${postLogout}?state=abc`);
    const post = await logoutPost({ id_token_hint: hint, post_logout_redirect_uri: postLogout, state: 'abc', client_id: client.clientId });
    expect(post.status).toBe(303);
    expect(post.headers.get('Location')).toBe(`${postLogout}?state=abc`);
  });

  it('keeps a registered query and adds no state when none was sent', async () => {
    const { client, postLogout } = await logoutClient();
    const hint = await idTokenFor(client.clientId);
    expect((await logoutGet({ id_token_hint: hint, post_logout_redirect_uri: postLogout })).headers.get('Location')).toBe(postLogout);
    const withQuery = await logoutGet({ id_token_hint: hint, post_logout_redirect_uri: `${postLogout}?lang=cs`, state: 's1' });
    expect(withQuery.headers.get('Location')).toBe(`${postLogout}?lang=cs&state=s1`);
  });

  it('without a post_logout_redirect_uri shows "Jste odhlášeni" (or "You are logged out" with ui_locales=en)', async () => {
    const { client } = await logoutClient();
    const hint = await idTokenFor(client.clientId);
    const cs = await logoutGet({ id_token_hint: hint });
    expect(cs.status).toBe(200);
    expect(heading(await cs.text())).toBe('Jste odhlášeni');
    const en = await logoutGet({ id_token_hint: hint, ui_locales: 'en' });
    expect(heading(await en.text())).toBe('You are logged out');
  });

  it('an unregistered post_logout_redirect_uri is never redirected to: the person is asked, and stays here', async () => {
    const { client, base } = await logoutClient();
    const res = await logoutGet({
      id_token_hint: await idTokenFor(client.clientId),
      post_logout_redirect_uri: `${base}/elsewhere`,
      state: 's',
      ui_locales: 'en',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Location')).toBeNull();
    const html = await res.text();
    expect(heading(html)).toBe('Log out?');
    expect(html).toContain('data-unregistered-uri');
    expect(html).not.toContain(`${base}/elsewhere`);
    const done = await logoutPost(formFields(html), { Cookie: cookieOf(res, CSRF_COOKIE)! });
    expect(done.status).toBe(200);
    const page = await done.text();
    expect(heading(page)).toBe('You are logged out');
    expect(page).not.toContain(base);
    expect(page).not.toContain('http-equiv="refresh"');
  });

  it('a repeated logout is harmless: the same answer again', async () => {
    const { client, postLogout } = await logoutClient();
    const params = { id_token_hint: await idTokenFor(client.clientId), post_logout_redirect_uri: postLogout, state: 'again' };
    const first = await logoutGet(params);
    const second = await logoutGet(params);
    expect(second.status).toBe(first.status);
    expect(second.headers.get('Location')).toBe(first.headers.get('Location'));
  });
});

describe('without a hint: the confirmation page', () => {
  it('asks (cs by default), ends the session only when the person confirms, and never redirects', async () => {
    const { client, postLogout } = await logoutClient();
    const res = await logoutGet({ client_id: client.clientId, post_logout_redirect_uri: postLogout, state: 'x' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Location')).toBeNull();
    const html = await res.text();
    expect(heading(html)).toBe('Odhlásit se?');
    expect(html).toContain('Portál občana');
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const fields = formFields(html);
    expect(fields.logout_csrf).toMatch(/^[\w-]{40,}$/);
    // Without a hint, confirming does not send the person to the post-logout URI either.
    expect(fields).not.toHaveProperty('post_logout_redirect_uri');
    const cookie = cookieOf(res, CSRF_COOKIE)!;
    expect(cookie).toBe(`${CSRF_COOKIE}=${fields.logout_csrf}`);
    expect(res.headers.getSetCookie().find((c) => c.startsWith(CSRF_COOKIE))).toMatch(/HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/i);

    const done = await logoutPost(fields, { Cookie: cookie });
    expect(done.status).toBe(200);
    expect(done.headers.get('Location')).toBeNull();
    const page = await done.text();
    expect(heading(page)).toBe('Jste odhlášeni');
    expect(page).not.toContain(postLogout);
  });

  it('no parameters at all: the confirmation page', async () => {
    const res = await logoutGet({}, { 'Accept-Language': 'en' });
    expect(res.status).toBe(200);
    expect(heading(await res.text())).toBe('Log out?');
  });

  it('a confirmation without the CSRF cookie, or with another token, is refused and changes nothing', async () => {
    const res = await logoutGet({ ui_locales: 'en' });
    const fields = formFields(await res.text());
    const before = await world([]);
    for (const headers of [{}, { Cookie: `${CSRF_COOKIE}=someone-elses-token` }] as Record<string, string>[]) {
      const refused = await logoutPost(fields, headers);
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).toContain('<code id="error">invalid_request</code>');
      expect(heading(html)).toBe('Logout request refused');
    }
    expect(await world([])).toBe(before);
  });
});

describe('bad input: an error page, no redirect, nothing changed', () => {
  it.each([
    ['a forged signature', async (id: string) => forgedToken(id)],
    ['a tampered payload', async (id: string) => {
      const [h, p, s] = (await idTokenFor(id)).split('.');
      const payload = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/')));
      const forged = btoa(JSON.stringify({ ...payload, sub: 'someone-else' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
      return `${h}.${forged}.${s}`;
    }],
    ['another issuer', async (id: string) => signedWithOurKey({ iss: 'https://evil.example', aud: id })],
    ['an unknown audience', async () => signedWithOurKey({ aud: 'client_unknown' })],
    ['two audiences', async (id: string) => signedWithOurKey({ aud: [id, 'other'] })],
    ['a logout token', async (id: string) => signLogoutToken(env, { clientId: id, alg: 'RS256', sub: 'sub-jana', sid: 'sid' })],
    ['garbage', async () => 'not.a.jwt'],
  ])('an id_token_hint with %s', async (_name, make) => {
    const { client, postLogout } = await logoutClient();
    const hint = await make(client.clientId);
    const before = await world([]);
    const res = await logoutGet({ id_token_hint: hint, post_logout_redirect_uri: postLogout, state: 's', ui_locales: 'en' });
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
    const html = await res.text();
    expect(heading(html)).toBe('Logout request refused');
    expect(html).toContain('<code id="error">invalid_request</code>');
    expect(html).not.toContain(postLogout);
    expect(await world([])).toBe(before);
  });

  it('a client_id that does not match the hint, or is unknown; a repeated parameter', async () => {
    const { client, postLogout } = await logoutClient();
    const other = await logoutClient();
    const hint = await idTokenFor(client.clientId);
    const mismatch = await logoutGet({ id_token_hint: hint, client_id: other.client.clientId, post_logout_redirect_uri: postLogout });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain('client_id does not match the id_token_hint');
    const unknown = await logoutGet({ client_id: 'client_nobody', post_logout_redirect_uri: postLogout });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('<code id="error">invalid_client</code>');
    const repeated = await call(`/logout?state=a&state=b&id_token_hint=${hint}`, { redirect: 'manual' });
    expect(repeated.status).toBe(400);
    expect(repeated.headers.get('Location')).toBeNull();
  });

  it('a HEAD request ends nothing', async () => {
    const { client, postLogout } = await logoutClient();
    const res = await call(`/logout?${new URLSearchParams({ id_token_hint: await idTokenFor(client.clientId), post_logout_redirect_uri: postLogout })}`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('error pages never echo the input', async () => {
    const res = await logoutGet({ id_token_hint: '<script>alert(1)</script>', state: '<b>x</b>' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>x</b>');
  });
});
