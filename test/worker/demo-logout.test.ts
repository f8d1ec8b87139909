/**
 * The demo services' logout: "Log out" goes through the provider's end_session_endpoint and back,
 * and the back-channel receiver (validating with jose) marks the other service's session as
 * logged out, visibly.
 */
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deliverBackchannelLogout, signLogoutToken } from '../../src/oidc/backchannel.ts';
import { ensureDemoClients } from './demo-clients.ts';
import { call } from './helpers.ts';
import { decide, loginFrom, newPerson } from './oidc-support.ts';

/** Logs in to a demo service with the phone; returns its session cookie. */
async function demoLogin(base: '/demo' | '/demo/second', sub: string): Promise<string> {
  const start = await call(`${base}/login`, { method: 'POST', redirect: 'manual' });
  const flowCookie = start.headers.get('Set-Cookie')!.split(';')[0]!;
  const authorizeUrl = new URL(start.headers.get('Location')!);
  const login = await loginFrom(await call(`${authorizeUrl.pathname}${authorizeUrl.search}`, { redirect: 'manual' }));
  await decide(login, sub);
  const back = new URL((await call(`/login/${login.id}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' })).headers.get('Location')!);
  const page = await call(`${back.pathname}${back.search}`, { headers: { Cookie: flowCookie } });
  expect(page.status).toBe(200);
  const session = page.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('demo_session_'));
  expect(session).toBeDefined();
  return session!;
}

/** Routes the worker's outbound fetches to its own origin back into the worker (as wrangler dev does). */
function loopbackFetch() {
  const real = globalThis.fetch;
  return vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const request = new Request(input, init);
    return request.url.startsWith(`${env.ISSUER}/`) ? exports.default.fetch(request) : real(input, init);
  });
}

afterEach(() => vi.restoreAllMocks());

describe('demo logout', () => {
  it('"Log out" goes to end_session with the ID token as hint and comes back to "You are logged out"', async () => {
    await ensureDemoClients();
    const person = await newPerson();
    const session = await demoLogin('/demo', person.sub);
    const home = await (await call('/demo', { headers: { Cookie: session } })).text();
    expect(home).toContain('data-session="demo" data-state="live"');

    const out = await call('/demo/logout', { method: 'POST', headers: { Cookie: session }, redirect: 'manual' });
    expect(out.status).toBe(303);
    const endSession = new URL(out.headers.get('Location')!);
    expect(endSession.pathname).toBe('/logout');
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${env.ISSUER}/demo/logged-out`);
    const stateCookie = out.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('demo_logout_state='))!;

    const provider = await call(`${endSession.pathname}${endSession.search}`, { redirect: 'manual' });
    expect(provider.status).toBe(303);
    const back = new URL(provider.headers.get('Location')!);
    expect(back.searchParams.get('state')).toBe(endSession.searchParams.get('state'));
    const page = await call(`${back.pathname}${back.search}`, { headers: { Cookie: stateCookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('You are logged out of Demo relying service');
  });

  it('a back-channel logout token from the provider marks the second service logged out, visibly', async () => {
    await ensureDemoClients();
    const person = await newPerson();
    const session = await demoLogin('/demo/second', person.sub);
    // The session's sid as the demo holds it (from the ID token's `sid`, once ID tokens carry one).
    const held = JSON.parse(atob(decodeURIComponent(session.split('=').slice(1).join('=')))) as { sid?: string };
    loopbackFetch();
    expect(await deliverBackchannelLogout(env, { clientId: 'demo-2', sub: person.sub, sid: held.sid ?? `sid-${person.sub}` })).toBe('delivered');
    const rows = await env.DB.prepare("SELECT via FROM demo_logouts WHERE client_id = 'demo-2' AND sub = ?1").bind(person.sub).all();
    expect(rows.results).toEqual([{ via: 'backchannel' }]);
    const home = await call('/demo/second', { headers: { Cookie: session } });
    const html = await home.text();
    expect(html).toContain('id="logged-out-notice"');
    expect(html).toContain('data-session="demo-2" data-state="logged-out"');
    expect(html).toContain('Log in with the mobile key');
  });

  it('the receiver refuses a token for another client, or no token, and records nothing', async () => {
    await ensureDemoClients();
    loopbackFetch();
    const foreign = await signLogoutToken(env, { clientId: 'demo', alg: 'RS256', sub: 'sub-x', sid: 'sid-foreign' });
    for (const body of [new URLSearchParams({ logout_token: foreign }), new URLSearchParams({ other: '1' })]) {
      const res = await call('/demo/second/backchannel-logout', { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    }
    expect((await env.DB.prepare("SELECT * FROM demo_logouts WHERE sid = 'sid-foreign'").all()).results).toEqual([]);
  });
});
