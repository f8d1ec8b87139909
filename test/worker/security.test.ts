/**
 * Fixes from the adversarial review (issue 14), one block per finding; docs/security.md maps
 * each to the attack it closes.
 */
import { runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { secureServerUrl } from '../../cli/lib/common.ts';
import { describeDevice, describePlace } from '../../client/app/lib/device.ts';
import { addressKey } from '../../src/http/address.ts';
import { enrolThrottleKey } from '../../src/identity/throttle.ts';
import { isSafeDisplayName, MAX_REQUESTER_TEXT, safeRequester } from '../../src/http/names.ts';
import { sha256Hex } from '../../src/session/crypto.ts';
import { MAX_PAGE_SOCKETS, SOCKET_REPLACED_CODE } from '../../src/session/LoginSession.ts';
import { describeUserAgent } from '../../src/session/start.ts';
import { unwrap } from '../../src/session/stub.ts';
import { BASE, call, sign, startTestLogin } from './helpers.ts';
import { enrolTestDevice, post, revoke } from './identity-helpers.ts';
import { authorize, codeRequest, continueLogin, decide, discover, loginFrom, newClient, newPerson, rp } from './oidc-support.ts';

/** Every `href` on a page, resolved against the page's URL as a browser would. */
function linksOf(html: string, pageUrl: string): URL[] {
  // The page icon is inline (a data: URL, src/login/assets.ts): content, not a link anywhere.
  return [...html.matchAll(/href="([^"]*)"/g)]
    .filter((m) => !m[1]!.startsWith('data:image/svg+xml,'))
    .map((m) => new URL(m[1]!.replaceAll('&amp;', '&'), pageUrl));
}

describe('review 3: the 404 page links only to our own origin', () => {
  for (const path of ['//evil.example/x', '/\\evil.example/x', '//evil.example/%2e%2e/x', '/%2F%2Fevil.example']) {
    it(`for ${path}`, async () => {
      const url = `${BASE}${path}`;
      const res = await exports.default.fetch(new Request(url, { headers: { Accept: 'text/html', 'Accept-Language': 'en' } }));
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('Page not found');
      const links = linksOf(html, res.url || url);
      expect(links.some((l) => l.searchParams.get('lang') === 'cs')).toBe(true);
      for (const link of links) expect(link.origin).toBe(new URL(BASE).origin);
      expect(html).not.toContain('evil.example');
    });
  }
});

describe('review 9: the operator CLI refuses plain http off loopback', () => {
  it('accepts https anywhere and http on loopback only', () => {
    expect(secureServerUrl('https://login.example/')).toBe('https://login.example');
    for (const local of ['http://localhost:8788', 'http://127.0.0.1:9000/', 'http://[::1]:8788', 'http://app.localhost']) {
      expect(() => secureServerUrl(local)).not.toThrow();
    }
    for (const remote of ['http://login.example', 'http://10.0.0.5:8788', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io']) {
      expect(() => secureServerUrl(remote)).toThrow(/must use https/);
    }
  });
});

describe('review 8: the /authorize error page and /demo carry the hosted pages\' security headers', () => {
  const pages: [string, string][] = [
    ['/authorize error page', '/authorize?client_id=nobody&response_type=code&scope=openid'],
    ['/demo', '/demo'],
    ['/demo/callback refusal', '/demo/callback?code=x&state=y'],
  ];
  for (const [name, path] of pages) {
    it(name, async () => {
      const res = await call(path, { headers: { Accept: 'text/html' } });
      expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
      const csp = res.headers.get('Content-Security-Policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('X-Frame-Options')).toBe('DENY');
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
      expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      // The page's one inline style is admitted by its hash, so it still renders styled.
      const style = /<style>([\s\S]*?)<\/style>/.exec(await res.text())![1]!;
      const digest = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(style)))));
      expect(csp).toContain(`'sha256-${digest}'`);
    });
  }
});

describe('review 1: the phone sees the browser as parsed text, never the raw User-Agent', () => {
  const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
  const FORGED = [
    'This is your own computer - safe to approve/1.0 (x)',
    'SafeToApprove/99 (Windows NT 10.0) x',
    'Chr\u202eemo/131 (Linux) x',
    `${'A'.repeat(5000)}/1 x`,
    'Mozilla/5.0 (Windows NT 10.0) Chrome/131.0\u0007\u001b[2J Safari/537.36',
  ];

  it('keeps only browser and OS names bowser knows, with numeric versions', () => {
    expect(describeUserAgent(CHROME)).toEqual({ browser: 'Chrome 131', os: 'Windows 10' });
    for (const ua of FORGED) {
      const d = describeUserAgent(ua);
      expect(d.browser === undefined || /^(Chrome|Microsoft Edge)( \d+)?$/.test(d.browser)).toBe(true);
      for (const text of Object.values(d)) {
        expect(isSafeDisplayName(text)).toBe(true);
        expect(text.length).toBeLessThanOrEqual(MAX_REQUESTER_TEXT);
        expect(text).not.toMatch(/safe|approve/i);
      }
    }
  });

  it('the scan response carries no forged text, from /authorize to the phone', async () => {
    const tc = await newClient({ public: true });
    const { params } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params, { 'User-Agent': FORGED[0]! }));
    const phone = await enrolTestDevice();
    const res = await post(`/api/mobile/logins/${login.id}/scan`, {
      version: 2,
      frame: login.frame,
      device_id: phone.id,
      signature: await sign(phone, 'scan', login.id),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { requester: Record<string, string> };
    expect(JSON.stringify(body)).not.toMatch(/safe to approve/i);
    expect(body.requester.browser).toBeUndefined();
  });

  it('shown again only if safe: phone API input, web app and key CLI drop what is not short printable text', () => {
    const hostile = { country: 'Czechia\n', city: 'Brno\u202e', browser: 'x'.repeat(41), os: 'Windows 10' };
    expect(safeRequester(hostile)).toEqual({ os: 'Windows 10' });
    expect(describeDevice(hostile as never)).toBe('Windows 10');
    expect(describePlace(hostile as never, () => undefined)).toBeNull();
    expect(safeRequester({ country: 'CZ', city: 'Brno', browser: 'Chrome 131' })).toEqual({ country: 'CZ', city: 'Brno', browser: 'Chrome 131' });
  });
});

describe('review 6: a login keeps only a few page WebSockets, closing the oldest', () => {
  it(`the ${MAX_PAGE_SOCKETS + 2}th connection leaves ${MAX_PAGE_SOCKETS} open, the two oldest closed with ${SOCKET_REPLACED_CODE}`, async () => {
    const login = await startTestLogin();
    const sockets: { closed: Promise<number>; messages: string[] }[] = [];
    for (let i = 0; i < MAX_PAGE_SOCKETS + 2; i++) {
      const res = await call(`/login/${login.id}/ws`, { headers: { Upgrade: 'websocket', Cookie: login.cookie } });
      expect(res.status).toBe(101);
      const ws = res.webSocket!;
      const messages: string[] = [];
      const closed = new Promise<number>((resolve) => ws.addEventListener('close', (event) => resolve(event.code)));
      ws.addEventListener('message', (event) => messages.push(String(event.data)));
      ws.accept();
      sockets.push({ closed, messages });
    }
    expect(await sockets[0]!.closed).toBe(SOCKET_REPLACED_CODE);
    expect(await sockets[1]!.closed).toBe(SOCKET_REPLACED_CODE);
    const open = await runInDurableObject(login.stub, (_instance, state) => state.getWebSockets().length);
    expect(open).toBe(MAX_PAGE_SOCKETS);
    // The newest still follow the login.
    unwrap(await login.stub.cancel(await sha256Hex(login.cookie.split('=')[1]!)));
    await expect.poll(() => sockets.at(-1)!.messages.some((m) => m.includes('"cancelled"'))).toBe(true);
  });
});

describe('review 10: access tokens die with the approving key', () => {
  it('UserInfo answers before the key is revoked and refuses with invalid_token after', async () => {
    const tc = await newClient({ public: true });
    const person = await newPerson();
    const request = await codeRequest(tc);
    const login = await loginFrom(await authorize(request.params));
    const device = await decide(login, person.sub);
    const callback = new URL((await continueLogin(login)).headers.get('Location')!);
    const as = await discover();
    const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.None(), params, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce });
    const userinfo = () => call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });

    const before = await userinfo();
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({ sub: person.sub });

    await revoke(device.id);
    const after = await userinfo();
    expect(after.status).toBe(401);
    expect(after.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    expect(await after.json()).toEqual({ error: 'invalid_token', error_description: 'the mobile key that approved this login has been revoked' });
  });
});

describe('review 2: the binding cookie is a __Host- cookie', () => {
  it('is set Secure, Path=/, without Domain, and only the prefixed name binds', async () => {
    const tc = await newClient({ public: true });
    const res = await authorize((await codeRequest(tc)).params);
    const id = /^\/login\/([0-9a-f]{64})$/.exec(res.headers.get('Location')!)![1]!;
    const set = res.headers.getSetCookie().find((c) => c.startsWith('__Host-mk_login_'))!;
    expect(set.startsWith(`__Host-mk_login_${id.slice(0, 16)}=`)).toBe(true);
    expect(set).toMatch(/; Path=\/(;|$)/);
    expect(set).toContain('Secure');
    expect(set).toContain('HttpOnly');
    expect(set).not.toMatch(/Domain=/i);
    const value = set.split(';')[0]!.split('=')[1]!;
    // The value under the unprefixed name — what a sibling origin could plant — binds nothing.
    const planted = await call(`/login/${id}/state`, { headers: { Cookie: `mk_login_${id.slice(0, 16)}=${value}` } });
    expect(planted.status).toBe(403);
    const bound = await call(`/login/${id}/state`, { headers: { Cookie: `__Host-mk_login_${id.slice(0, 16)}=${value}` } });
    expect(bound.status).toBe(200);
  });
});

describe('client address keys (throttles and rate limits)', () => {
  it('keeps IPv4, folds IPv6 to its /64 and IPv4-mapped IPv6 to IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0DB8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::ffff:198.51.100.1')).toBe('198.51.100.1');
    expect(enrolThrottleKey('2001:db8:1:2::9', 'ab12-cdef-ghjk-mnpq')).toBe('enrol:2001:db8:1:2::/64:AB');
    expect(enrolThrottleKey('203.0.113.7', 'nonsense')).toBe('enrol:203.0.113.7:malformed');
  });
});

describe('review 4: starting logins is rate limited per address (IPv6 per /64)', () => {
  it('the 31st /authorize in 10 s from one /64 gets a 429 page with Retry-After and starts no login', async () => {
    const tc = await newClient({ public: true });
    const { params } = await codeRequest(tc);
    // The local rate limiter counts in fixed 10 s windows aligned to the wall clock (Miniflare's
    // ratelimit object); 31 requests that straddle a window's end are not "31 in 10 s", so such
    // a run is repeated once from a fresh /64 (it then starts right after the boundary).
    const window = () => Math.floor(Date.now() / 10_000);
    const burst = async () => {
      const b = crypto.getRandomValues(new Uint16Array(2));
      const net = `2001:db8:${b[0]!.toString(16)}:${b[1]!.toString(16)}`;
      const started = window();
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        statuses.push((await authorize(params, { 'CF-Connecting-IP': `${net}::${(i + 1).toString(16)}`, Accept: 'text/html' })).status);
      }
      const last = await authorize(params, { 'CF-Connecting-IP': `${net}:ffff::1`, Accept: 'text/html', 'Accept-Language': 'en' });
      return { statuses, last, oneWindow: window() === started };
    };
    let run = await burst();
    if (!run.oneWindow) run = await burst();
    const { statuses, last: limited } = run;
    expect(statuses.every((s) => s === 303)).toBe(true);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('10');
    expect(limited.headers.get('Location')).toBeNull();
    expect(limited.headers.getSetCookie()).toEqual([]);
    expect(limited.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    expect(await limited.text()).toContain('Too many logins');
    // Another network is not affected.
    expect((await authorize(params, { 'CF-Connecting-IP': '203.0.113.99' })).status).toBe(303);
  });
});
