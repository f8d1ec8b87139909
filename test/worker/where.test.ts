/**
 * Issue 14: what the phone is told about the browser that started a login (place, browser,
 * time) with the country-mismatch warning, and number matching for services that require it.
 * Locally there is no real visitor location, so requests carry the headers Cloudflare's
 * location transform would set (`CF-IPCountry`, `CF-IPCity`), trusted only on a loopback issuer.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { decideLogin, MobileKeyError } from '../../cli/lib/mobile-client.ts';
import { countriesDiffer, requestLocation } from '../../src/http/location.ts';
import { drawNumberMatch, judgePick } from '../../src/session/number-match.ts';
import { registerClient } from '../../src/oidc/clients.ts';
import { viewOf } from '../../client/login/model.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';
import { call, sign, startTestLogin, type TestDevice, type TestLogin } from './helpers.ts';
import { consoleBrowser } from './console-support.ts';
import { getClient } from '../../src/oidc/clients.ts';
import { ADMIN, enrolTestDevice, keyStoreOf, post, problemCode } from './identity-helpers.ts';
import { authorize, codeRequest, continueLogin, loginFrom, newClient, type TestClient } from './oidc-support.ts';

const CHROME_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

type Scan = {
  requester: Record<string, string>;
  created_at: number;
  phone_country?: string;
  country_mismatch: boolean;
  number_choices?: number[];
  nonce: string;
};

function scan(login: TestLogin, device: TestDevice, headers: Record<string, string> = {}) {
  return sign(device, 'scan', login.id).then((signature) =>
    post(`/api/mobile/logins/${login.id}/scan`, { version: 2, frame: login.frame, device_id: device.id, signature }, headers),
  );
}

async function scanned(login: TestLogin, device: TestDevice, headers: Record<string, string> = {}): Promise<Scan> {
  const res = await scan(login, device, headers);
  expect(res.status).toBe(200);
  return (await res.json()) as Scan;
}

/** Answers over the mobile API, signing the `number`/`consent` of `extra` (or `signed`, to tamper: sign one, send another). */
async function answer(
  login: TestLogin,
  device: TestDevice,
  decision: 'approve' | 'deny',
  nonce: string,
  extra: { number?: unknown; consent?: unknown } = {},
  signed: { number?: number; consent?: 'once' | 'always' } = signable(extra),
) {
  const signature = await sign(device, decision, login.id, nonce, signed);
  return post(`/api/mobile/logins/${login.id}/answer`, { version: 2, device_id: device.id, decision, nonce, signature, ...extra });
}

/** What of `extra` a signer can sign: a malformed value is sent but cannot be signed, so it is left out. */
function signable(extra: { number?: unknown; consent?: unknown }): { number?: number; consent?: 'once' | 'always' } {
  const number = Number.isInteger(extra.number) && (extra.number as number) >= 10 && (extra.number as number) <= 99 ? (extra.number as number) : undefined;
  const consent = extra.consent === 'once' || extra.consent === 'always' ? extra.consent : undefined;
  return { ...(number !== undefined ? { number } : {}), ...(consent ? { consent } : {}) };
}

/** The page's snapshot, as the browser that started the login reads it. */
async function page(login: TestLogin): Promise<{ state: string; matchNumber?: number }> {
  const res = await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } });
  expect(res.status).toBe(200);
  return res.json();
}

/** A login started through /authorize by a browser in `country` (and `city`), with a Chrome on Windows agent. */
async function browserLogin(tc: TestClient, country: string, city?: string): Promise<TestLogin> {
  const { params } = await codeRequest(tc);
  return loginFrom(
    await authorize(params, { 'User-Agent': CHROME_ON_WINDOWS, 'CF-IPCountry': country, ...(city ? { 'CF-IPCity': city } : {}) }),
  );
}

describe('where the login comes from, on the phone', () => {
  it('shows the browser’s place, parsed browser and start time, and flags a phone in another country', async () => {
    const tc = await newClient();
    const before = Date.now();
    const login = await browserLogin(tc, 'DE', 'Berlin');
    const phone = await enrolTestDevice('Janin telefon');
    const context = await scanned(login, phone, { 'CF-IPCountry': 'CZ' });
    expect(context.requester).toEqual({ country: 'DE', city: 'Berlin', browser: 'Chrome 131', os: 'Windows 10' });
    expect(context.created_at).toBeGreaterThanOrEqual(before);
    expect(context.created_at).toBeLessThanOrEqual(Date.now());
    expect(context.phone_country).toBe('CZ');
    expect(context.country_mismatch).toBe(true);
    // Scanning again from home (same device) still tells the truth about this request.
    expect((await scanned(login, phone, { 'CF-IPCountry': 'DE' })).country_mismatch).toBe(false);
  });

  it('no warning when both are in one country, or when either country is unknown', async () => {
    const tc = await newClient();
    const same = await browserLogin(tc, 'CZ', 'Brno');
    const phone = await enrolTestDevice();
    expect(await scanned(same, phone, { 'CF-IPCountry': 'CZ' })).toMatchObject({ phone_country: 'CZ', country_mismatch: false });

    // A phone whose country Cloudflare cannot tell (XX) proves nothing either way.
    const unknownPhone = await browserLogin(tc, 'DE');
    const context = await scanned(unknownPhone, await enrolTestDevice(), { 'CF-IPCountry': 'XX' });
    expect(context.country_mismatch).toBe(false);
    expect(context.phone_country).toBeUndefined();

    const unknownBrowser = await browserLogin(tc, 'XX');
    const fromNowhere = await scanned(unknownBrowser, await enrolTestDevice(), { 'CF-IPCountry': 'CZ' });
    expect(fromNowhere.requester.country).toBeUndefined();
    expect(fromNowhere.country_mismatch).toBe(false);
  });

  it('trusts the location headers only on a loopback issuer, and keeps only country codes', () => {
    const request = (headers: Record<string, string>) => new Request('https://id.example/x', { headers });
    expect(requestLocation(request({ 'CF-IPCountry': 'de', 'CF-IPCity': 'Berlin' }), 'http://localhost:8787')).toEqual({ country: 'DE', city: 'Berlin' });
    expect(requestLocation(request({ 'CF-IPCountry': 'DE' }), 'https://id.example')).toEqual({});
    expect(requestLocation(request({ 'CF-IPCountry': 'T1' }), 'http://localhost:8787')).toEqual({});
    expect(requestLocation(request({ 'CF-IPCountry': 'Germany' }), 'http://localhost:8787')).toEqual({});
    expect(countriesDiffer('DE', 'CZ')).toBe(true);
    expect(countriesDiffer('DE', undefined)).toBe(false);
    expect(countriesDiffer('CZ', 'CZ')).toBe(false);
  });

  it('hostile location text never reaches the phone', async () => {
    const tc = await newClient();
    // Longer than the 40 characters a place may have (bidi and control text: security.test.ts "review 1").
    const login = await browserLogin(tc, 'DE', 'This is your own computer - safe to approve');
    const context = await scanned(login, await enrolTestDevice(), { 'CF-IPCountry': 'DE' });
    expect(context.requester.city).toBeUndefined();
    expect(context.requester.country).toBe('DE');
  });
});

/** A client that requires number matching, registered through the operator API. */
async function numberMatchingClient(): Promise<TestClient> {
  const redirectUri = `https://rp.example/cb/${crypto.randomUUID()}`;
  const res = await post('/admin/clients', { name: 'Banka', redirect_uris: [redirectUri], require_number_matching: true }, ADMIN);
  expect(res.status).toBe(201);
  const created = (await res.json()) as { client_id: string; client_secret: string; require_number_matching: boolean };
  expect(created.require_number_matching).toBe(true);
  return { client: { client_id: created.client_id }, secret: created.client_secret, redirectUri, name: 'Banka' };
}

async function scannedWithNumbers() {
  const tc = await numberMatchingClient();
  const login = await browserLogin(tc, 'CZ');
  expect((await page(login)).matchNumber).toBeUndefined(); // nothing before a scan
  const phone = await enrolTestDevice();
  const context = await scanned(login, phone, { 'CF-IPCountry': 'CZ' });
  const shown = (await page(login)).matchNumber!;
  return { tc, login, phone, context, shown };
}

describe('number matching', () => {
  it('the page shows the number, the phone gets three candidates, the right pick approves', async () => {
    const { login, phone, context, shown } = await scannedWithNumbers();
    const choices = context.number_choices!;
    expect(choices).toHaveLength(3);
    expect(new Set(choices).size).toBe(3);
    for (const n of choices) expect(n >= 10 && n <= 99).toBe(true);
    expect(choices).toContain(shown);
    // The phone's answer tells nothing about which one is right.
    expect(Object.keys(context).filter((k) => /number/.test(k))).toEqual(['number_choices']);
    expect(JSON.stringify(context)).not.toMatch(/matchNumber|"number"/);

    // The page as served (also without JavaScript) shows the number to pick.
    const html = await (await call(`/login/${login.id}`, { headers: { Cookie: login.cookie } })).text();
    expect(html).toMatch(new RegExp(`data-match-number(="")?>${shown}<`));

    const res = await answer(login, phone, 'approve', context.nonce, { number: shown });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'approved' });
    const next = await continueLogin(login);
    expect(new URL(next.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
  });

  it('a wrong pick denies the login for good: the page and the service learn access_denied', async () => {
    const { tc, login, phone, context, shown } = await scannedWithNumbers();
    const wrong = context.number_choices!.find((n) => n !== shown)!;
    const res = await answer(login, phone, 'approve', context.nonce, { number: wrong });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'denied', reason: 'wrong-number' });
    expect((await page(login)).state).toBe('denied');
    // Terminal: the right number afterwards changes nothing.
    const late = await answer(login, phone, 'approve', context.nonce, { number: shown });
    expect(await problemCode(late)).toBe('login-decided');
    const back = new URL((await continueLogin(login)).headers.get('Location')!);
    expect(back.origin + back.pathname).toBe(tc.redirectUri);
    expect(back.searchParams.get('error')).toBe('access_denied');
    const audit = await env.DB.prepare("SELECT detail FROM audit_events WHERE type = 'login.denied' AND device_id = ?1").bind(phone.id).all<{ detail: string }>();
    expect(audit.results.map((r) => JSON.parse(r.detail).reason)).toEqual(['wrong-number']);
  });

  it('the pick is signed: a pick changed, added or dropped after signing is 401 invalid-signature and changes nothing', async () => {
    const { login, phone, context, shown } = await scannedWithNumbers();
    const wrong = context.number_choices!.find((n) => n !== shown)!;
    const tampered: [sent: { number?: number; consent?: 'once' | 'always' }, signed: { number?: number; consent?: 'once' | 'always' }][] = [
      [{ number: shown }, { number: wrong }], // the person's wrong pick, turned into the page's number on the way
      [{ number: wrong }, { number: shown }],
      [{ number: shown }, {}],
      [{}, { number: shown }],
      [{ number: shown, consent: 'always' }, { number: shown, consent: 'once' }],
    ];
    for (const [sent, signed] of tampered) {
      const res = await answer(login, phone, 'approve', context.nonce, sent, signed);
      expect(res.status, JSON.stringify({ sent, signed })).toBe(401);
      expect(await problemCode(res)).toBe('invalid-signature');
    }
    expect(await page(login)).toMatchObject({ state: 'scanned', matchNumber: shown });
    const audit = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE device_id = ?1 AND type LIKE ?2').bind(phone.id, 'login.%').first<{ n: number }>();
    expect(audit!.n).toBe(0);
    // The genuine answer, signed over what it sends, still goes through.
    expect(await (await answer(login, phone, 'approve', context.nonce, { number: shown })).json()).toMatchObject({ status: 'approved' });
  });

  it('an approval without a pick, or with a number not offered, is refused and changes nothing; deny needs no pick', async () => {
    const { login, phone, context, shown } = await scannedWithNumbers();
    const notOffered = [10, 11, 12, 13].find((n) => !context.number_choices!.includes(n))!;
    expect(await problemCode(await answer(login, phone, 'approve', context.nonce))).toBe('invalid-number');
    expect(await problemCode(await answer(login, phone, 'approve', context.nonce, { number: notOffered }))).toBe('invalid-number');
    for (const bad of [5, 100, 42.5, '42', null]) {
      const res = await answer(login, phone, 'approve', context.nonce, { number: bad });
      expect(res.status).toBe(400);
      expect(await problemCode(res)).toBe('invalid-input');
    }
    expect(await page(login)).toMatchObject({ state: 'scanned', matchNumber: shown });
    const denied = await answer(login, phone, 'deny', context.nonce);
    expect(await denied.json()).toMatchObject({ status: 'denied' });
  });

  it('a service without number matching offers no numbers and refuses a pick', async () => {
    const login = await startTestLogin();
    const phone = await enrolTestDevice();
    const context = await scanned(login, phone);
    expect(context.number_choices).toBeUndefined();
    expect((await page(login)).matchNumber).toBeUndefined();
    expect(await problemCode(await answer(login, phone, 'approve', context.nonce, { number: 42 }))).toBe('invalid-number');
    expect((await page(login)).state).toBe('scanned');
    expect(await (await answer(login, phone, 'approve', context.nonce)).json()).toMatchObject({ status: 'approved' });
  });

  it('the reference client picks through its callback, and denies when it has none', async () => {
    const { login, phone, shown } = await scannedWithNumbers();
    const store = await keyStoreOf(phone);
    const loginUrl = `${env.ISSUER}/key/login#${login.id}.${login.frame}`;
    const fetch = (input: string, init?: RequestInit) => call(input, init);
    const offered: number[][] = [];
    const result = await decideLogin({
      loginUrl,
      store,
      decision: 'approve',
      fetch,
      pickNumber: async (_context, choices) => (offered.push(choices), shown),
    });
    expect(result.status).toBe('approved');
    expect(offered[0]).toContain(shown);

    const second = await scannedWithNumbers();
    const error = await decideLogin({
      loginUrl: `${env.ISSUER}/key/login#${second.login.id}.${second.login.frame}`,
      store: await keyStoreOf(second.phone),
      decision: 'approve',
      fetch,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MobileKeyError);
    expect((error as MobileKeyError).code).toBe('number-required');
    expect((await page(second.login)).state).toBe('denied');
  });

  it('draws three distinct two-digit numbers containing the one to show; judges picks', () => {
    for (let i = 0; i < 200; i++) {
      const match = drawNumberMatch();
      expect(match.choices).toHaveLength(3);
      expect(new Set(match.choices).size).toBe(3);
      expect(match.choices).toContain(match.number);
      for (const n of match.choices) expect(Number.isInteger(n) && n >= 10 && n <= 99).toBe(true);
    }
    // Not always in the same place: the right one moves among the three.
    const places = new Set(Array.from({ length: 60 }, () => {
      const m = drawNumberMatch();
      return m.choices.indexOf(m.number);
    }));
    expect(places.size).toBe(3);
    const match = { number: 42, choices: [17, 42, 88] };
    expect(judgePick(match, 'approve', 42)).toEqual({ ok: true, wrong: false });
    expect(judgePick(match, 'approve', 17)).toEqual({ ok: true, wrong: true });
    expect(judgePick(match, 'deny', undefined)).toEqual({ ok: true, wrong: false });
    expect(judgePick(match, 'approve', undefined).ok).toBe(false);
    expect(judgePick(match, 'approve', 43).ok).toBe(false);
    expect(judgePick(undefined, 'approve', 42).ok).toBe(false);
    expect(judgePick(undefined, 'approve', undefined)).toEqual({ ok: true, wrong: false });
  });
});

describe('number matching on the login page', () => {
  it('the page shows the number only while scanned, and only a two-digit integer', () => {
    const snapshot = (state: LoginSnapshot['state'], matchNumber?: unknown): LoginSnapshot =>
      ({ type: 'snapshot', id: 'x', state, expiresAt: 1, now: 0, client: { name: 'Banka' }, locale: 'cs', matchNumber }) as LoginSnapshot;
    expect(viewOf(snapshot('scanned', 42)).matchNumber).toBe(42);
    expect(viewOf(snapshot('approved', 42)).matchNumber).toBeUndefined();
    expect(viewOf(snapshot('scanned', 7)).matchNumber).toBeUndefined();
    expect(viewOf(snapshot('scanned', '42')).matchNumber).toBeUndefined();
  });
});

describe('require_number_matching in the operator API', () => {
  it('defaults to false, is set and cleared with PATCH, and refuses a non-boolean without changing anything', async () => {
    const redirectUri = 'https://rp.example/nm';
    const created = await post('/admin/clients', { name: 'Portál', redirect_uris: [redirectUri] }, ADMIN);
    const { client_id, require_number_matching } = (await created.json()) as { client_id: string; require_number_matching: boolean };
    expect(require_number_matching).toBe(false);
    const patch = (body: unknown) =>
      call(`/admin/clients/${client_id}`, { method: 'PATCH', headers: { ...ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(await (await patch({ require_number_matching: true })).json()).toMatchObject({ require_number_matching: true });
    const bad = await patch({ require_number_matching: 'yes' });
    expect(bad.status).toBe(400);
    expect(await problemCode(bad)).toBe('invalid-input');
    const shown = await call(`/admin/clients/${client_id}`, { headers: ADMIN });
    expect(await shown.json()).toMatchObject({ require_number_matching: true });
    expect(await (await patch({ require_number_matching: false })).json()).toMatchObject({ require_number_matching: false });
  });

  it('the console’s client form registers, shows and clears it', async () => {
    const admin = await consoleBrowser('admin');
    const created = await admin.post('/console/clients', { csrf: admin.csrf, name: 'Banka', redirect_uris: 'https://banka.example/cb', require_number_matching: '1' });
    expect(created.status).toBe(200);
    const clientId = /id="client-id">([^<]+)</.exec(await created.text())![1]!;
    expect((await getClient(env.DB, clientId))?.requireNumberMatching).toBe(true);
    expect(await (await admin.get(`/console/clients/${clientId}`)).text()).toMatch(/name="require_number_matching" value="1" checked/);
    // An unticked box is not sent: saving the form turns it off.
    await admin.post(`/console/clients/${clientId}`, { csrf: admin.csrf, name: 'Banka', redirect_uris: 'https://banka.example/cb' });
    expect((await getClient(env.DB, clientId))?.requireNumberMatching).toBe(false);
  });

  it('registerClient stores the flag in the migration 0007 column', async () => {
    const { client } = await registerClient(env.DB, { name: 'Pošta', redirectUris: ['https://rp.example/p'], public: true, requireNumberMatching: true });
    expect(client.requireNumberMatching).toBe(true);
    const row = await env.DB.prepare('SELECT require_number_matching FROM clients WHERE client_id = ?1').bind(client.clientId).first();
    expect(row).toEqual({ require_number_matching: 1 });
  });
});
