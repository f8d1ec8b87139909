import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { describe, expect, it } from 'vitest';
import { revokeRole } from '../../src/console/operators.ts';
import { call, testDevice } from './helpers.ts';
import { codeRequest, newClient, newPerson } from './oidc-support.ts';
import { Browser, loginWithPhone } from './sso-support.ts';
import { ADMIN, post as postJson } from './identity-helpers.ts';
import { consoleBrowser, consoleLogin, cookiesOf, newOperator } from './console-support.ts';

describe('console login through our own OpenID Provider', () => {
  it('asks /authorize for a fresh approval and gives an operator a __Host- session', async () => {
    const sub = await newOperator('clerk');
    const { res, authorizeUrl } = await consoleLogin(sub);
    expect(authorizeUrl.pathname).toBe('/authorize');
    expect(authorizeUrl.searchParams.get('client_id')).toBe('console');
    expect(authorizeUrl.searchParams.get('max_age')).toBe('0');
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/console/counter');
    const header = res.headers.getSetCookie().find((h) => h.startsWith('__Host-mk_console='))!;
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).not.toMatch(/Domain=/i);
    const { results } = await env.DB.prepare('SELECT token_hash FROM console_sessions WHERE sub = ?1').bind(sub).all<{ token_hash: string }>();
    expect(results).toHaveLength(1);
    // Only the hash is stored.
    expect(header).not.toContain(results[0]!.token_hash);
  });

  it('refuses an identity without a role', async () => {
    const sub = await newOperator(null);
    const { res } = await consoleLogin(sub);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('nemá v konzoli žádnou roli');
    expect(cookiesOf(res).has('__Host-mk_console')).toBe(false);
  });

  it('refuses a callback from a browser that did not start the login', async () => {
    const res = await call('/console/callback?code=x&state=y', { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
  });

  it('without a session every page leads to the login, and the start page offers it', async () => {
    const res = await call('/console/counter', { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/console');
    const start = await call('/console', { headers: { 'Accept-Language': 'en' } });
    expect(await start.text()).toContain('Log in with the mobile key');
  });
});

describe('roles and CSRF', () => {
  it('a clerk reaches the counter but no admin page', async () => {
    const clerk = await consoleBrowser('clerk');
    expect((await clerk.get('/console/counter')).status).toBe(200);
    for (const path of ['/console/clients', '/console/audit', '/console/figures']) {
      const res = await clerk.get(path);
      expect(res.status, path).toBe(403);
    }
    const page = await (await clerk.get('/console/counter')).text();
    expect(page).not.toContain('href="/console/clients"');
  });

  it('an admin reaches the admin pages', async () => {
    const admin = await consoleBrowser('admin');
    for (const path of ['/console/counter', '/console/clients', '/console/audit', '/console/figures']) {
      expect((await admin.get(path)).status, path).toBe(200);
    }
  });

  it('a form without the session’s CSRF token changes nothing', async () => {
    const clerk = await consoleBrowser('clerk');
    const before = await env.DB.prepare('SELECT count(*) AS n FROM identities').first<{ n: number }>();
    for (const csrf of [undefined, 'forged']) {
      const res = await clerk.post('/console/people', { given_name: 'Eva', family_name: 'Podvržená', ...(csrf ? { csrf } : {}) });
      expect(res.status).toBe(403);
    }
    const after = await env.DB.prepare('SELECT count(*) AS n FROM identities').first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it('a revoked role ends the session at once', async () => {
    const clerk = await consoleBrowser('clerk');
    await revokeRole(env.DB, clerk.sub);
    const res = await clerk.get('/console/counter');
    expect(res.status).toBe(303);
  });

  it('the operator API grants and revokes roles', async () => {
    const sub = await newOperator(null);
    const granted = await call(`/admin/operators/${sub}`, { method: 'PUT', headers: { ...ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'admin' }) });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toMatchObject({ sub, role: 'admin' });
    const bad = await call(`/admin/operators/${sub}`, { method: 'PUT', headers: { ...ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'root' }) });
    expect(bad.status).toBe(400);
    const unknown = await call('/admin/operators/sub_nobody', { method: 'PUT', headers: { ...ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'clerk' }) });
    expect(unknown.status).toBe(404);
    const list = (await (await call('/admin/operators', { headers: ADMIN })).json()) as { operators: { sub: string; role: string }[] };
    expect(list.operators).toContainEqual(expect.objectContaining({ sub, role: 'admin' }));
    expect((await call(`/admin/operators/${sub}`, { method: 'DELETE', headers: ADMIN })).status).toBe(200);
    expect((await call(`/admin/operators/${sub}`, { method: 'DELETE', headers: ADMIN })).status).toBe(404);
    expect((await call('/admin/operators', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
  });
});

describe('the counter', () => {
  it('creates a person, prints a slip with the code and a QR, and audits the clerk', async () => {
    const clerk = await consoleBrowser('clerk');
    const res = await clerk.post('/console/people', { csrf: clerk.csrf, given_name: 'Karel', family_name: 'Přepážka', birthdate: '1970-01-02', email: 'karel@example.cz' });
    expect(res.status).toBe(200);
    const html = await res.text();
    const code = /id="activation-code">([0-9A-Z-]{19})</.exec(html)?.[1];
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    expect(html).toContain('<svg');
    expect(html).toContain(`${env.ISSUER}/key/enrol#${code}`);
    expect(res.headers.get('Cache-Control')).toBe('no-store');

    const found = await (await clerk.get('/console/counter?name=přep&birthdate=1970-01-02')).text();
    const sub = /href="\/console\/people\/(sub_[0-9a-f]{32})"/.exec(found)![1]!;
    const { results } = await env.DB.prepare('SELECT type, operator FROM audit_events WHERE sub = ?1 ORDER BY id').bind(sub).all<{ type: string; operator: string }>();
    expect(results).toEqual([
      { type: 'identity.created', operator: clerk.sub },
      { type: 'activation-code.issued', operator: clerk.sub },
    ]);

    // The code enrols a key, which the clerk then sees and revokes.
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
    const enrolled = await postJson('/api/mobile/enrol', { activation_code: code, public_jwk: { kty, crv, x, y }, name: 'Karlův telefon' }, {
      'CF-Connecting-IP': '10.9.9.9',
      'User-Agent': 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    });
    expect(enrolled.status).toBe(201);
    const { device_id } = (await enrolled.json()) as { device_id: string };
    const person = await (await clerk.get(`/console/people/${sub}`)).text();
    expect(person).toContain('Karlův telefon');
    expect(person).toContain('<td class="platform">Chrome 131, Android 15</td>');
    expect((await clerk.post(`/console/devices/${device_id}/revoke`, { csrf: clerk.csrf })).status).toBe(303);
    const revoked = await env.DB.prepare("SELECT operator FROM audit_events WHERE type = 'device.revoked' AND device_id = ?1").bind(device_id).first<{ operator: string }>();
    expect(revoked?.operator).toBe(clerk.sub);
    expect((await env.DB.prepare('SELECT revoked_at FROM devices WHERE id = ?1').bind(device_id).first<{ revoked_at: number }>())!.revoked_at).toBeGreaterThan(0);
  });

  it('revoking a key at the counter ends the browser sessions it approved', async () => {
    const clerk = await consoleBrowser('clerk');
    const person = await newPerson();
    const device = await testDevice('Jana’s phone', person.sub);
    await env.DB.prepare('INSERT INTO devices (id, sub, public_jwk, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)')
      .bind(device.id, person.sub, JSON.stringify(device.publicJwk), device.name, Date.now())
      .run();
    const browser = new Browser();
    const tc = await newClient();
    await loginWithPhone(browser, (await codeRequest(tc)).params, device);
    const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
    expect((await clerk.post(`/console/devices/${device.id}/revoke`, { csrf: clerk.csrf })).status).toBe(303);
    const record = await runInDurableObject(stub, (_i: BrowserSession, state) => state.storage.get<SessionRecord>('session'));
    expect(record).toMatchObject({ endReason: 'device-revoked', endedAt: expect.any(Number) });
  });

  it('refuses invalid person data with the API’s validation and creates nothing', async () => {
    const clerk = await consoleBrowser('clerk');
    const res = await clerk.post('/console/people', { csrf: clerk.csrf, given_name: 'Bez', family_name: 'Data', birthdate: '1970-13-45' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('birthdate');
    expect(await env.DB.prepare("SELECT 1 FROM identities WHERE json_extract(claims, '$.family_name') = 'Data'").first()).toBeNull();
  });
});
