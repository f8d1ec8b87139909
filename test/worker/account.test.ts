/**
 * The person's account (issue 12): logging in through our own /authorize, the keys (rename,
 * disconnect, the last key's confirmation), CSRF and freshness, and another person's ids.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getDevice } from '../../src/identity/devices.ts';
import { call } from './helpers.ts';
import { auditTypes, enrolTestDevice } from './identity-helpers.ts';
import { accountBrowser, accountLogin, Jar, loginOf, phoneAnswers, secondKey } from './account-support.ts';
import { codeRequest, newClient } from './oidc-support.ts';

function location(res: Response): string | null {
  return res.headers.get('Location');
}

describe('logging in to the account', () => {
  it('goes through /authorize as the public client "account" (PKCE, max_age=300, openid only) and gives a __Host- session', async () => {
    const phone = await enrolTestDevice('Jana’s Pixel');
    const jar = new Jar();
    const { authorizeUrl, callback } = await accountLogin(jar, phone);
    expect(authorizeUrl.pathname).toBe('/authorize');
    expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({ client_id: 'account', max_age: '300', scope: 'openid', code_challenge_method: 'S256' });
    expect(callback.status).toBe(303);
    expect(location(callback)).toBe('/account');
    const header = callback.headers.getSetCookie().find((h) => h.startsWith('__Host-mk_account='))!;
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; HttpOnly/);
    const html = await (await jar.get('/account')).text();
    expect(html).toContain('Jana Nováková');
    expect(html).toContain('Jana’s Pixel');
    expect(html).toContain('tímto klíčem jste přihlášen(a)');
  });

  it('without a session shows the login button, sends the other pages there and refuses every POST', async () => {
    const start = await call('/account', { headers: { 'Accept-Language': 'en' } });
    expect(start.status).toBe(200);
    expect(start.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    expect(await start.text()).toContain('Log in with the mobile key');
    for (const path of ['/account/history', '/account/consents', '/account/keys/add']) {
      const res = await call(path, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
      expect(location(res)).toBe('/account');
    }
    const post = await call('/account/keys/dev_x/disconnect', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'csrf=x' });
    expect(post.status).toBe(403);
  });

  it('a callback from a browser that did not start the login is a 400 page and no session', async () => {
    const res = await call('/account/callback?code=x&state=y', { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().some((h) => h.startsWith('__Host-mk_account='))).toBe(false);
  });

  it('logout ends the session (only its hash was stored)', async () => {
    const phone = await enrolTestDevice();
    const { jar, csrf } = await accountBrowser(phone);
    const { results } = await env.DB.prepare('SELECT token_hash FROM account_sessions WHERE sub = ?1').bind(phone.sub).all<{ token_hash: string }>();
    expect(results).toHaveLength(1);
    expect(jar.cookies.get('__Host-mk_account')).not.toBe(results[0]!.token_hash);
    const out = await jar.post('/account/logout', { csrf });
    expect(location(out)).toBe('/account');
    expect(await (await jar.get('/account')).text()).toContain('Přihlásit se mobilním klíčem');
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM account_sessions WHERE sub = ?1').bind(phone.sub).first<{ n: number }>())!.n).toBe(0);
  });
});

describe('keys: the browser and system each key lives in', () => {
  it('shows the parsed browser and OS of the enrolling User-Agent; hostile agent text never appears', async () => {
    const phone = await enrolTestDevice('Pixel');
    const android = await secondKey(phone.sub, 'Tablet', {
      'User-Agent': 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    });
    const forged = await secondKey(phone.sub, 'Forged', { 'User-Agent': 'Approve/1.0 (This is your own computer \u202e safe to approve) Evil/2.0' });
    const { jar } = await accountBrowser(phone);
    const row = (html: string, id: string) => {
      const start = html.indexOf(`<tr data-device="${id}"`);
      expect(start).toBeGreaterThan(0);
      return html.slice(start, html.indexOf('</tr>', start));
    };
    const cs = await (await jar.get('/account')).text();
    expect(cs).toContain('Prohlížeč a systém');
    expect(row(cs, android.id)).toContain('<td data-label="Prohlížeč a systém" class="platform">Chrome 131, Android 15</td>');
    expect(row(cs, forged.id)).toContain('class="platform">neznámý</td>');
    expect(cs).not.toMatch(/Approve|own computer|Evil|\u202e|Mozilla/);
    const en = await (await jar.get('/account?lang=en')).text();
    expect(row(en, android.id)).toContain('class="platform">Chrome 131 on Android 15</td>');
    expect(row(en, forged.id)).toContain('class="platform">unknown</td>');
  });
});

describe('keys: rename', () => {
  it('renames the person’s own key; the page shows the new name', async () => {
    const phone = await enrolTestDevice('Old name');
    const { jar, csrf, page } = await accountBrowser(phone);
    const res = await jar.post(`/account/keys/${phone.id}/rename`, { csrf, name: '  Pixel 9  ' });
    expect(res.status).toBe(303);
    expect(location(res)).toBe('/account?done=renamed');
    expect((await getDevice(env.DB, phone.id))!.name).toBe('Pixel 9');
    const html = await page('/account?done=renamed');
    expect(html).toContain('Klíč byl přejmenován.');
    expect(html).toContain('Pixel 9');
  });

  it('refuses hostile or empty names with 400 and changes nothing', async () => {
    const phone = await enrolTestDevice('Pixel');
    const { jar, csrf } = await accountBrowser(phone);
    for (const name of ['', '   ', 'Pixel\u202Egnp.exe', 'a\u0000b', 'x'.repeat(65), 'line\nbreak']) {
      const res = await jar.post(`/account/keys/${phone.id}/rename`, { csrf, name });
      expect(res.status, JSON.stringify(name)).toBe(400);
      const text = await res.text();
      expect(text).toContain('1 až 64 znaků');
      expect(text).not.toContain('gnp.exe');
    }
    expect((await getDevice(env.DB, phone.id))!.name).toBe('Pixel');
  });

  it('another person’s key id, an unknown one and a malformed one are 404 and change nothing', async () => {
    const phone = await enrolTestDevice('Mine');
    const stranger = await enrolTestDevice('Theirs');
    const { jar, csrf } = await accountBrowser(phone);
    for (const id of [stranger.id, 'dev_unknown', '..%2F..%2Fadmin']) {
      const res = await jar.post(`/account/keys/${id}/rename`, { csrf, name: 'Taken over' });
      expect(res.status, id).toBe(404);
      expect((await jar.post(`/account/keys/${id}/disconnect`, { csrf, confirm: 'last' })).status, id).toBe(404);
    }
    const theirs = (await getDevice(env.DB, stranger.id))!;
    expect(theirs.name).toBe('Theirs');
    expect(theirs.revokedAt).toBeNull();
  });

  it('a POST without the CSRF token, or with another session’s, is 403 and changes nothing', async () => {
    const phone = await enrolTestDevice('Pixel');
    const { jar } = await accountBrowser(phone);
    const other = await accountBrowser(await enrolTestDevice());
    expect((await jar.post(`/account/keys/${phone.id}/rename`, { name: 'Forged' })).status).toBe(403);
    const forged = await jar.post(`/account/keys/${phone.id}/rename`, { csrf: other.csrf, name: 'Forged' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('Formulář vypršel');
    expect((await jar.post(`/account/keys/${phone.id}/disconnect`, {})).status).toBe(403);
    const device = (await getDevice(env.DB, phone.id))!;
    expect(device.name).toBe('Pixel');
    expect(device.revokedAt).toBeNull();
  });

  it('a change needs an approval within 5 minutes: an older one asks to confirm with the key', async () => {
    const phone = await enrolTestDevice('Pixel');
    const { jar, csrf } = await accountBrowser(phone);
    await env.DB.prepare('UPDATE account_sessions SET auth_time = auth_time - 301000 WHERE sub = ?1').bind(phone.sub).run();
    const res = await jar.post(`/account/keys/${phone.id}/rename`, { csrf, name: 'Later' });
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('href="/account/login"');
    expect(html).toContain('v posledních 5 minutách');
    expect((await getDevice(env.DB, phone.id))!.name).toBe('Pixel');
    // Reading is still allowed.
    expect((await jar.get('/account')).status).toBe(200);
  });
});

describe('keys: disconnect', () => {
  it('disconnects another key of the person: revoked, audited, and the browser session it approved ends', async () => {
    const phone = await enrolTestDevice('Pixel');
    const tablet = await secondKey(phone.sub, 'Tablet');
    // Somewhere else, the tablet approved a login: that browser has a session of its own.
    const elsewhere = new Jar();
    const tc = await newClient();
    const request = await codeRequest(tc, { scope: 'openid' });
    const login = await loginOf(elsewhere, await elsewhere.get(`/authorize?${new URLSearchParams(request.params)}`));
    await phoneAnswers(login, tablet, 'approve');
    expect((await elsewhere.get(`/login/${login.id}/continue`)).status).toBe(303);
    const silent = await codeRequest(tc, { scope: 'openid', prompt: 'none' });
    expect(new URL(location(await elsewhere.get(`/authorize?${new URLSearchParams(silent.params)}`))!).searchParams.has('code')).toBe(true);

    const { jar, csrf } = await accountBrowser(phone);
    const res = await jar.post(`/account/keys/${tablet.id}/disconnect`, { csrf });
    expect(res.status).toBe(303);
    expect(location(res)).toBe('/account?done=disconnected');
    expect((await getDevice(env.DB, tablet.id))!.revokedAt).toEqual(expect.any(Number));
    expect(await auditTypes(phone.sub)).toContain('device.revoked');
    const after = await codeRequest(tc, { scope: 'openid', prompt: 'none' });
    expect(new URL(location(await elsewhere.get(`/authorize?${new URLSearchParams(after.params)}`))!).searchParams.get('error')).toBe('login_required');
    const html = await (await jar.get('/account')).text();
    expect(html).toMatch(/Tablet[\s\S]*odpojen/);
    // Disconnecting again changes nothing and is not an error.
    expect(location(await jar.post(`/account/keys/${tablet.id}/disconnect`, { csrf }))).toBe('/account?done=disconnected');
  });

  it('the last active key needs a confirmation that warns about the activation code; confirmed, it logs the person out', async () => {
    const phone = await enrolTestDevice('Only key');
    const { jar, csrf } = await accountBrowser(phone);
    const warned = await jar.post(`/account/keys/${phone.id}/disconnect`, { csrf });
    expect(warned.status).toBe(200);
    const html = await warned.text();
    expect(html).toContain('jen s novým aktivačním kódem');
    expect(html).toContain('name="confirm" value="last"');
    expect((await getDevice(env.DB, phone.id))!.revokedAt).toBeNull();
    const confirmed = await jar.post(`/account/keys/${phone.id}/disconnect`, { csrf, confirm: 'last' });
    expect(location(confirmed)).toBe('/account?bye=disconnected');
    expect((await getDevice(env.DB, phone.id))!.revokedAt).toEqual(expect.any(Number));
    const bye = await (await jar.get('/account?bye=disconnected')).text();
    expect(bye).toContain('Odpojili jste klíč, kterým jste byl(a) přihlášen(a)');
    expect(bye).toContain('id="account-login"');
  });
});

describe('add a key', () => {
  it('the keys page links to the place where pairing a new key lives', async () => {
    const { page } = await accountBrowser(await enrolTestDevice());
    expect(await page()).toContain('href="/account/keys/add"');
    const add = await page('/account/keys/add');
    expect(add).toContain('id="add-key"');
    expect(add).toContain('href="/key/pair"');
  });
});
