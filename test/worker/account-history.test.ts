/**
 * Login history and consents (issue 12): what the phone's answers and silent single sign-on
 * record, the account's pages of them, one year of retention, and consent during login — the
 * phone's "always", the one-click page for single sign-on, consent_required with prompt=none,
 * prompt=consent, and withdrawal.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { HISTORY_RETENTION_MS, listHistory, recordLogin } from '../../src/identity/history.ts';
import { listConsents } from '../../src/identity/consents.ts';
import { sign, type TestDevice } from './helpers.ts';
import { enrolTestDevice, post as postJson } from './identity-helpers.ts';
import { accountBrowser, Jar, loginOf, phoneAnswers } from './account-support.ts';
import { codeRequest, newClient, type TestClient } from './oidc-support.ts';

/** The browser logs in at `tc` with the phone (approve or deny) and comes back. */
async function phoneLogin(jar: Jar, tc: TestClient, phone: Parameters<typeof phoneAnswers>[1], decision: 'approve' | 'deny', consent?: 'once' | 'always', extra: Record<string, string> = {}) {
  const request = await codeRequest(tc, extra);
  const login = await loginOf(jar, await jar.get(`/authorize?${new URLSearchParams(request.params)}`));
  await phoneAnswers(login, phone, decision, consent);
  const back = await jar.get(`/login/${login.id}/continue`);
  expect(back.status).toBe(303);
  return new URL(back.headers.get('Location')!);
}

/** The phone scans the login over the mobile API; returns the nonce its answer signs. */
async function phoneScans(login: { id: string; frame: string }, phone: TestDevice): Promise<string> {
  const scan = await postJson(`/api/mobile/logins/${login.id}/scan`, { version: 2, frame: login.frame, device_id: phone.id, signature: await sign(phone, 'scan', login.id) });
  expect(scan.status).toBe(200);
  return ((await scan.json()) as { nonce: string }).nonce;
}

/** GET /authorize from the browser; returns the response. */
async function authorizeAt(jar: Jar, tc: TestClient, extra: Record<string, string> = {}) {
  const request = await codeRequest(tc, extra);
  return jar.get(`/authorize?${new URLSearchParams(request.params)}`);
}

function formOf(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]!] = m[2]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return fields;
}

describe('login history', () => {
  it('records approvals and denials on the phone with the service, key, parsed browser and outcome; the account lists them newest first', async () => {
    const phone = await enrolTestDevice('Jana’s Pixel');
    const tc = await newClient();
    const jar = new Jar();
    await phoneLogin(jar, tc, phone, 'approve');
    await phoneLogin(jar, tc, phone, 'deny', undefined, { prompt: 'login' });
    const { page } = await accountBrowser(phone);
    const html = await page('/account/history');
    const rows = [...html.matchAll(/<tr data-outcome="(\w+)" data-client="([^"]+)">([\s\S]*?)<\/tr>/g)];
    // The account's own login, the denial, the approval.
    expect(rows.map((r) => [r[1], r[2]])).toEqual([['approved', 'account'], ['denied', tc.client.client_id], ['approved', tc.client.client_id]]);
    expect(rows[1]![3]).toContain(tc.name);
    expect(rows[1]![3]).toContain('Jana’s Pixel');
    expect(rows[1]![3]).toContain('Chrome 131, Windows 10');
    expect(rows[1]![3]).toContain('odmítnuto');
    const en = await page('/account/history?lang=en');
    expect(en).toContain('Chrome 131 on Windows 10');
  });

  it('a silent single-sign-on login is recorded as such, after the answer', async () => {
    const phone = await enrolTestDevice('Pixel');
    const tc = await newClient();
    const jar = new Jar();
    await phoneLogin(jar, tc, phone, 'approve', 'always');
    const silent = await authorizeAt(jar, tc, { prompt: 'none' });
    expect(new URL(silent.headers.get('Location')!).searchParams.has('code')).toBe(true);
    await vi.waitFor(async () => {
      const { entries } = await listHistory(env.DB, phone.sub);
      expect(entries[0]).toMatchObject({ clientId: tc.client.client_id, method: 'sso', outcome: 'approved', deviceId: phone.id });
    });
  });

  it('shows only the person’s own logins, pages with ?before= and refuses a malformed cursor', async () => {
    const phone = await enrolTestDevice('Pixel');
    const stranger = await enrolTestDevice('Other');
    const now = Date.now();
    for (let i = 0; i < 25; i++) {
      await recordLogin(env.DB, { sub: phone.sub, clientId: 'demo', clientName: `Service ${i}`, deviceId: phone.id, outcome: 'approved', method: 'key', requester: {} }, now - 60_000 + i);
    }
    await recordLogin(env.DB, { sub: stranger.sub, clientId: 'demo', clientName: 'Stranger’s service', deviceId: stranger.id, outcome: 'approved', method: 'key', requester: {} });
    const { page, jar } = await accountBrowser(phone);
    const first = await page('/account/history');
    expect(first).not.toContain('Stranger’s service');
    expect(first.match(/<tr data-outcome=/g)).toHaveLength(20);
    const older = /href="(\/account\/history\?before=\d+)"/.exec(first)![1]!;
    const second = await page(older);
    expect(second.match(/<tr data-outcome=/g)).toHaveLength(6);
    expect(second).toContain('Service 0');
    for (const bad of ['abc', '-1', '0', '1'.repeat(20)]) {
      expect((await jar.get(`/account/history?before=${bad}`)).status, bad).toBe(400);
    }
  });

  it('keeps one year: a write deletes what is older, and reads never show it', async () => {
    const phone = await enrolTestDevice('Pixel');
    const now = Date.now();
    const old = { sub: phone.sub, clientId: 'demo', clientName: 'Long ago', deviceId: phone.id, outcome: 'approved' as const, method: 'key' as const, requester: {} };
    await env.DB.prepare(
      `INSERT INTO login_history (sub, at, client_id, client_name, device_id, outcome, method) VALUES (?1, ?2, 'demo', 'Long ago', ?3, 'approved', 'key')`,
    ).bind(phone.sub, now - HISTORY_RETENTION_MS - 1000, phone.id).run();
    expect((await listHistory(env.DB, phone.sub)).entries).toEqual([]);
    await recordLogin(env.DB, { ...old, clientName: 'Today' }, now);
    const left = await env.DB.prepare('SELECT client_name FROM login_history WHERE sub = ?1').bind(phone.sub).all<{ client_name: string }>();
    expect(left.results.map((r) => r.client_name)).toEqual(['Today']);
  });
});

describe('consent during login', () => {
  it('"always" on the phone is remembered: single sign-on releases the claims silently and the account lists it', async () => {
    const phone = await enrolTestDevice('Pixel');
    const tc = await newClient();
    const jar = new Jar();
    await phoneLogin(jar, tc, phone, 'approve', 'always');
    const silent = await authorizeAt(jar, tc, { prompt: 'none' });
    expect(new URL(silent.headers.get('Location')!).searchParams.has('code')).toBe(true);
    const { page } = await accountBrowser(phone);
    const html = await page('/account/consents');
    expect(html).toMatch(new RegExp(`data-client="${tc.client.client_id}" data-kind="always"`));
    expect(html).toContain('E-mailová adresa');
  });

  it('"for this login only": single sign-on asks again — consent_required with prompt=none, else the one-click page', async () => {
    const phone = await enrolTestDevice('Pixel');
    const tc = await newClient();
    const jar = new Jar();
    await phoneLogin(jar, tc, phone, 'approve', 'once');
    const none = new URL((await authorizeAt(jar, tc, { prompt: 'none' })).headers.get('Location')!);
    expect(none.searchParams.get('error')).toBe('consent_required');
    expect(none.searchParams.get('iss')).toBe(env.ISSUER);
    const asked = await authorizeAt(jar, tc);
    expect(asked.status).toBe(200);
    const html = await asked.text();
    expect(html).toContain(`Služba ${tc.name} žádá o tyto údaje`);
    // Like the phone, it lists what would be released: this person holds names but no e-mail.
    expect(html).toContain('data-claim="given_name"');
    expect(html).not.toContain('data-claim="email"');
    // The answer redirects to the client, which the page's form-action must allow.
    expect(asked.headers.get('Content-Security-Policy')).toContain("form-action 'self' https://rp.example;");
    // An openid-only request needs no consent.
    expect(new URL((await authorizeAt(jar, tc, { scope: 'openid', prompt: 'none' })).headers.get('Location')!).searchParams.has('code')).toBe(true);
  });

  it('a service seen for the first time in a session asks on the page; "always" gives a code and is remembered', async () => {
    const phone = await enrolTestDevice('Pixel');
    const jar = new Jar();
    await phoneLogin(jar, await newClient(), phone, 'approve', 'always');
    const second = await newClient();
    const request = await codeRequest(second);
    const asked = await jar.get(`/authorize?${new URLSearchParams(request.params)}`);
    expect(asked.status).toBe(200);
    const fields = formOf(await asked.text());
    expect(fields.state).toBe(request.state);
    const given = await jar.post('/authorize/consent', { ...fields, mk_consent: 'always' });
    expect(given.status).toBe(303);
    const back = new URL(given.headers.get('Location')!);
    expect(back.searchParams.has('code')).toBe(true);
    expect(back.searchParams.get('state')).toBe(request.state);
    await vi.waitFor(async () => {
      const silent = await authorizeAt(jar, second, { prompt: 'none' });
      expect(new URL(silent.headers.get('Location')!).searchParams.has('code')).toBe(true);
    });
  });

  it('"do not allow" is access_denied; a forged, foreign or incomplete consent form is refused and releases nothing', async () => {
    const phone = await enrolTestDevice('Pixel');
    const jar = new Jar();
    await phoneLogin(jar, await newClient(), phone, 'approve', 'always');
    const second = await newClient();
    const fields = formOf(await (await authorizeAt(jar, second)).text());
    const denied = new URL((await jar.post('/authorize/consent', { ...fields, mk_consent: 'deny' })).headers.get('Location')!);
    expect(denied.searchParams.get('error')).toBe('access_denied');
    const refused = [
      await jar.post('/authorize/consent', { ...fields, mk_consent: 'always', mk_consent_token: 'A'.repeat(43) }),
      await jar.post('/authorize/consent', { ...fields, scope: 'openid profile email phone address', mk_consent: 'always' }),
      await jar.post('/authorize/consent', { ...fields, mk_consent: 'sometimes' }),
      await new Jar().post('/authorize/consent', { ...fields, mk_consent: 'always' }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(400);
      expect(res.headers.get('Location')).toBeNull();
    }
    const none = new URL((await authorizeAt(jar, second, { prompt: 'none' })).headers.get('Location')!);
    expect(none.searchParams.get('error')).toBe('consent_required');
  });

  it('the phone’s answer with an unknown consent value is 400 invalid-input and decides nothing', async () => {
    const phone = await enrolTestDevice('Pixel');
    const jar = new Jar();
    const request = await codeRequest(await newClient());
    const login = await loginOf(jar, await jar.get(`/authorize?${new URLSearchParams(request.params)}`));
    const nonce = await phoneScans(login, phone);
    const res = await postJson(`/api/mobile/logins/${login.id}/answer`, {
      version: 2, device_id: phone.id, decision: 'approve', nonce, signature: await sign(phone, 'approve', login.id, nonce), consent: 'forever',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { type: string }).type).toContain('invalid-input');
    expect(((await (await jar.get(`/login/${login.id}/state`)).json()) as { state: string }).state).toBe('scanned');
    expect((await listHistory(env.DB, phone.sub)).entries).toEqual([]);
  });

  it('the consent is signed: "once" signed and "always" sent (or added, or dropped) is 401 invalid-signature and records nothing', async () => {
    const phone = await enrolTestDevice('Pixel');
    const jar = new Jar();
    const tc = await newClient();
    const request = await codeRequest(tc);
    const login = await loginOf(jar, await jar.get(`/authorize?${new URLSearchParams(request.params)}`));
    const nonce = await phoneScans(login, phone);
    const tampered: [sent: 'once' | 'always' | undefined, signed: 'once' | 'always' | undefined][] = [['always', 'once'], ['once', 'always'], ['always', undefined], [undefined, 'once']];
    for (const [sent, signed] of tampered) {
      const res = await postJson(`/api/mobile/logins/${login.id}/answer`, {
        version: 2, device_id: phone.id, decision: 'approve', nonce,
        signature: await sign(phone, 'approve', login.id, nonce, signed ? { consent: signed } : {}),
        ...(sent ? { consent: sent } : {}),
      });
      expect(res.status, JSON.stringify({ sent, signed })).toBe(401);
      expect(((await res.json()) as { type: string }).type).toBe('urn:mobile-key:problem:invalid-signature');
    }
    expect(((await (await jar.get(`/login/${login.id}/state`)).json()) as { state: string }).state).toBe('scanned');
    expect((await listHistory(env.DB, phone.sub)).entries).toEqual([]);
    expect(await listConsents(env.DB, phone.sub)).toEqual([]);
    // Signed over what it sends, the same answer goes through and "always" is remembered.
    const ok = await postJson(`/api/mobile/logins/${login.id}/answer`, {
      version: 2, device_id: phone.id, decision: 'approve', nonce, signature: await sign(phone, 'approve', login.id, nonce, { consent: 'always' }), consent: 'always',
    });
    expect(ok.status).toBe(200);
    await vi.waitFor(async () => expect((await listConsents(env.DB, phone.sub)).map((c) => [c.clientId, c.kind])).toEqual([[tc.client.client_id, 'always']]));
  });

  it('asking for more than was permanently consented asks again; prompt=consent always asks the phone', async () => {
    const phone = await enrolTestDevice('Pixel');
    const tc = await newClient();
    const jar = new Jar();
    await phoneLogin(jar, tc, phone, 'approve', 'always', { scope: 'openid email' });
    expect(new URL((await authorizeAt(jar, tc, { scope: 'openid email', prompt: 'none' })).headers.get('Location')!).searchParams.has('code')).toBe(true);
    expect(new URL((await authorizeAt(jar, tc, { scope: 'openid email phone', prompt: 'none' })).headers.get('Location')!).searchParams.get('error')).toBe('consent_required');
    expect((await authorizeAt(jar, tc, { scope: 'openid email', prompt: 'consent' })).headers.get('Location')).toMatch(/^\/login\/[0-9a-f]{64}$/);
  });

  it('withdrawn in the account, the service asks again; another person’s or an unknown consent is 404', async () => {
    const phone = await enrolTestDevice('Pixel');
    const tc = await newClient();
    const jar = new Jar();
    await phoneLogin(jar, tc, phone, 'approve', 'always');
    const account = await accountBrowser(phone);
    expect((await account.jar.post(`/account/consents/${tc.client.client_id}/withdraw`, {})).status).toBe(403);
    const res = await account.jar.post(`/account/consents/${tc.client.client_id}/withdraw`, { csrf: account.csrf });
    expect(res.headers.get('Location')).toBe('/account/consents?done=withdrawn');
    expect(await account.page('/account/consents?done=withdrawn')).toContain('Souhlas byl odvolán');
    expect(new URL((await authorizeAt(jar, tc, { prompt: 'none' })).headers.get('Location')!).searchParams.get('error')).toBe('consent_required');
    expect((await account.jar.post(`/account/consents/${tc.client.client_id}/withdraw`, { csrf: account.csrf })).status).toBe(404);

    const stranger = await enrolTestDevice('Other');
    const theirs = await newClient();
    await phoneLogin(new Jar(), theirs, stranger, 'approve', 'always');
    expect((await account.jar.post(`/account/consents/${theirs.client.client_id}/withdraw`, { csrf: account.csrf })).status).toBe(404);
    expect((await account.jar.post('/account/consents/%3Cscript%3E/withdraw', { csrf: account.csrf })).status).toBe(404);
    const kept = await env.DB.prepare('SELECT kind FROM consents WHERE sub = ?1 AND client_id = ?2').bind(stranger.sub, theirs.client.client_id).first<{ kind: string }>();
    expect(kept?.kind).toBe('always');
  });
});
