import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ensureDemoClients } from './demo-clients.ts';
import { call } from './helpers.ts';
import { decide, loginFrom, newPerson } from './oidc-support.ts';

/** Starts the demo's login: returns the /authorize response and the demo's flow cookie. */
async function startDemo() {
  const start = await call('/demo/login', { method: 'POST', redirect: 'manual' });
  expect(start.status).toBe(303);
  const authorizeUrl = new URL(start.headers.get('Location')!);
  expect(authorizeUrl.pathname).toBe('/authorize');
  expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
  const flowCookie = start.headers.get('Set-Cookie')!;
  expect(flowCookie).toMatch(/HttpOnly/i);
  const authorized = await call(`${authorizeUrl.pathname}${authorizeUrl.search}`, { redirect: 'manual' });
  return { authorized, flowCookie: flowCookie.split(';')[0]! };
}

describe('demo relying service', () => {
  it('shows the login button', async () => {
    const res = await call('/demo');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Log in with the mobile key');
  });

  it('logs a person in and shows their name and claims', async () => {
    await ensureDemoClients();
    const person = await newPerson();
    const { authorized, flowCookie } = await startDemo();
    const login = await loginFrom(authorized);
    expect(login.snapshot.client.name).toBe('Demo relying service');
    await decide(login, person.sub);
    const back = await call(`/login/${login.id}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' });
    const callback = new URL(back.headers.get('Location')!);
    expect(callback.pathname).toBe('/demo/callback');

    const page = await call(`${callback.pathname}${callback.search}`, { headers: { Cookie: flowCookie } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('<span id="name">Jana Nováková</span>');
    expect(html).toContain('jana@example.cz');
    expect(html).toContain(person.sub);
    expect(html).toContain('http://eidas.europa.eu/LoA/substantial');
    expect(html).not.toContain('never-released');
  });

  it('reports a denial as access_denied, and a callback without its cookie as a failure', async () => {
    await ensureDemoClients();
    const person = await newPerson();
    const { authorized, flowCookie } = await startDemo();
    const login = await loginFrom(authorized);
    await decide(login, person.sub, 'deny');
    const back = await call(`/login/${login.id}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' });
    const callback = new URL(back.headers.get('Location')!);
    const page = await call(`${callback.pathname}${callback.search}`, { headers: { Cookie: flowCookie } });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('<code id="error">access_denied</code>');

    const stranger = await call(`${callback.pathname}${callback.search}`);
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain('This browser did not start a login here.');
  });
});
