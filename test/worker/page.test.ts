import { runDurableObjectAlarm } from 'cloudflare:test';
import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/session/crypto.ts';
import { unwrap } from '../../src/session/stub.ts';
import type { PageText } from '../../client/login/model.ts';
import { answerAs, BASE, call, expireNow, scanAs, startTestLogin, testDevice, type TestLogin } from './helpers.ts';

/** Moves the object's deadline into the past, then runs the alarm. */
async function expire(login: TestLogin) {
  await expireNow(login);
  expect(await runDurableObjectAlarm(login.stub)).toBe(true);
}

async function page(login: TestLogin, query = '', headers: Record<string, string> = {}) {
  const res = await call(`/login/${login.id}${query}`, { headers: { Cookie: login.cookie, ...headers } });
  return { res, html: await res.text() };
}

function expectPageHeaders(res: Response) {
  expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
  const csp = res.headers.get('Content-Security-Policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
}

/** Text of the first element matching an attribute marker, tags stripped. */
function textOf(html: string, marker: string): string {
  const start = html.indexOf(marker);
  expect(start, `no element with ${marker}`).toBeGreaterThan(-1);
  const open = html.lastIndexOf('<', start);
  const tag = /^<([a-z0-9]+)/.exec(html.slice(open))![1]!;
  const end = html.indexOf(`</${tag}>`, start);
  return html
    .slice(html.indexOf('>', start) + 1, end)
    .replace(/<[^>]+>/g, '')
    .trim();
}

/**
 * Reads the QR back from the SVG markup the way a camera would: rasterises the path's lines
 * (one per run of dark modules, through the middle of its row: client/shared/qr-path.ts;
 * quiet zone included) and decodes the pixels with jsQR.
 */
function decodeSvgQr(html: string): string | undefined {
  const svg = /<svg class="qr"[^>]*viewBox="0 0 (\d+) \d+"[\s\S]*?<path d="([^"]+)" stroke="#000000"/.exec(html);
  if (!svg) return undefined;
  const modules = Number(svg[1]);
  const scale = 6;
  const side = modules * scale;
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
  let [x, y] = [0, 0];
  for (const [, command, a, b] of svg[2]!.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    if (command === 'M') [x, y] = [Number(a), Number(b) - 0.5];
    else if (command === 'm') [x, y] = [x + Number(a), y + Number(b)];
    else {
      for (let py = y * scale; py < (y + 1) * scale; py++) {
        for (let px = x * scale; px < (x + Number(a)) * scale; px++) {
          const i = (py * side + px) * 4;
          pixels[i] = pixels[i + 1] = pixels[i + 2] = 0;
        }
      }
      x += Number(a);
    }
  }
  return jsQR(pixels, side, side)?.data;
}

function embeddedState(html: string): { snapshot: Record<string, unknown>; text: PageText } {
  const match = /<script type="application\/json" id="login-state">([\s\S]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!);
}

/** The `<template data-view>`s of a page: state → its markup. */
function templates(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<template data-view="(\w+)">([\s\S]*?)<\/template>/g)].map((m) => [m[1]!, m[2]!]));
}

describe('GET /login/:id', () => {
  it('renders the QR, the steps and the same-device link in Czech, with the security headers', async () => {
    const login = await startTestLogin();
    const { res, html } = await page(login);
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<html lang="cs">');
    expect(textOf(html, 'data-service')).toBe('Demo Service');
    expect(html.match(/<h1[ >]/g)).toHaveLength(1);
    expect(textOf(html, '<h1')).toBe('Přihlášení mobilním klíčem');

    // The QR is in the first response and encodes exactly the embedded snapshot's login URL (a static frame).
    expect(html).toMatch(/<svg class="qr" role="img" aria-label="QR kód pro přihlášení do služby Demo Service mobilním klíčem"/);
    expect(decodeSvgQr(html)).toBe(embeddedState(html).snapshot.loginUrl);
    expect(decodeSvgQr(html)).toMatch(new RegExp(`#${login.id}\\.s\\d+\\.`));

    expect(textOf(html, 'data-steps="desktop"')).toBe(
      'Spusťte aplikaci Mobilní klíč v telefonu.Naskenujte QR kód.Potvrďte přihlášení v telefonu.',
    );
    expect(html.match(/data-steps="phone"[\s\S]*?<\/ol>/)![0].match(/<li>/g)).toHaveLength(2);
    // The same-device button carries its own single-use token, never a QR frame.
    expect(html).toContain(`href="${login.snapshot.launchUrl}" data-launch`);
    expect(textOf(html, 'data-launch')).toBe('Spustit mobilní klíč na tomto zařízení');
    expect(textOf(html, 'data-create-key')).toBe('Vytvořit mobilní klíč');
    expect(textOf(html, 'role="timer"')).toMatch(/^Platnost vyprší za (3:00|2:59)$/);
    expect(textOf(html, 'role="status"')).toBe('Čekáme na naskenování QR kódu.');
    expect(html).toContain('data-state="pending"');
    expect(html).toContain('<script type="module" src="/static/login.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/static/login.css"/>');
    expect(html).not.toMatch(/<script(?![^>]*(type="application\/json"|src="\/static\/login\.js"))/);
    expect(html).not.toContain(' style=');

    // What the script may need to say later, in this page's language only.
    const state = embeddedState(html);
    expect(state.text.status).toMatchObject({ pending: 'Čekáme na naskenování QR kódu.', approved: 'Přihlášení potvrzeno. Pokračujeme do služby Demo Service.' });
    expect(state.text.matchNumber).toBe('V telefonu vyberte číslo {n}.');
    expect(html).not.toContain('Waiting for the QR code');
    expect(state.snapshot).toMatchObject({ id: login.id, state: 'pending', launchUrl: login.snapshot.launchUrl });
    expect(state.snapshot.loginUrl).toMatch(new RegExp(`#${login.id}\\.s\\d+\\.`));
  });

  it('switches to English with ?lang=en and remembers it in a cookie', async () => {
    const login = await startTestLogin();
    const { res, html } = await page(login, '?lang=en');
    expect(res.status).toBe(200);
    expect(html).toContain('<html lang="en">');
    expect(textOf(html, '<h1')).toBe('Log in with the mobile key');
    expect(textOf(html, 'data-steps="desktop"')).toBe(
      'Open the Mobile Key app on your phone.Scan the QR code.Confirm the login on your phone.',
    );
    expect(textOf(html, 'data-launch')).toBe('Launch the mobile key on this device');
    expect(textOf(html, 'data-create-key')).toBe('Create a mobile key');
    expect(textOf(html, 'role="timer"')).toMatch(/^Expires in (3:00|2:59)$/);
    expect(textOf(html, 'data-lang="cs"')).toBe('Čeština');
    expect(embeddedState(html).text.lost).toBe('The connection to the server was lost. Reconnecting…');
    expect(textOf(templates(html).get('denied')!, 'id="panel-heading"')).toBe('Login denied');
    expect(html).not.toContain('Čekáme na naskenování');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('lang='));
    expect(cookie).toMatch(/^lang=en;.*Path=\//);
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('HttpOnly');

    const again = await page(login, '', { Cookie: `${login.cookie}; lang=en` });
    expect(again.html).toContain('<html lang="en">');
    const back = await page(login, '?lang=cs', { Cookie: `${login.cookie}; lang=en` });
    expect(back.html).toContain('<html lang="cs">');
  });

  it("follows the login's own locale when nothing overrides it", async () => {
    const login = await startTestLogin({ locale: 'en' });
    const { html } = await page(login);
    expect(textOf(html, '<h1')).toBe('Log in with the mobile key');
    expect(embeddedState(html).text.status.pending).toBe('Waiting for the QR code to be scanned.');
  });

  it('escapes the embedded state so a hostile service name cannot close the script', async () => {
    const name = '</script><script>alert(1)</script> & Co';
    const login = await startTestLogin({ client: { id: 'evil', name } });
    const { html } = await page(login);
    expect(html).not.toContain('<script>alert(1)');
    expect(embeddedState(html).snapshot).toMatchObject({ client: { name } });
    expect(textOf(html, 'data-service')).toBe('&lt;/script>&lt;script>alert(1)&lt;/script> &amp; Co');
  });

  it('says a key scanned without naming it, then approval with the way onwards, without the QR', async () => {
    const login = await startTestLogin();
    const phone = await testDevice('Pixel Jany');
    const nonce = await scanAs(login, phone);
    const scanned = await page(login);
    expect(scanned.html).toContain('data-state="scanned"');
    expect(scanned.html).not.toContain('data-qr');
    expect(textOf(scanned.html, 'id="panel-heading"')).toBe('Potvrďte přihlášení v telefonu');
    expect(scanned.html).toContain('Kód byl naskenován mobilním klíčem.');
    expect(scanned.html).not.toContain('Pixel Jany'); // review 5: the page never learns whose key

    expect(scanned.html).toContain(`<meta http-equiv="refresh" content="10;url=/login/${login.id}"/>`);

    unwrap(await answerAs(login, phone, 'approve', nonce));
    const approved = await page(login);
    expect(approved.html).toContain('data-state="approved"');
    expect(approved.html).toContain(`href="/login/${login.id}/continue" data-continue`);
    expect(approved.html).toContain(`<meta http-equiv="refresh" content="0;url=/login/${login.id}/continue"/>`);
    expect(approved.html).not.toContain('data-restart');
  });

  it('after expiry shows "Start again" posting to the restart URL', async () => {
    const login = await startTestLogin();
    await expire(login);
    const { html } = await page(login);
    expect(html).toContain('data-state="expired"');
    expect(textOf(html, 'id="panel-heading"')).toBe('Platnost vypršela');
    expect(html).toContain(`<form method="post" action="/login/${login.id}/restart" data-restart`);
    expect(textOf(html, 'type="submit"')).toBe('Začít znovu');
    expect(html).not.toContain('role="timer"');
  });

  it('carries the panels of the states the login can still reach, with the links the object sends in each', async () => {
    const authorization = { client_id: 'demo', redirect_uri: 'https://rp.example/cb' };
    const hashOf = (login: TestLogin) => sha256Hex(login.cookie.split('=')[1]!);
    const login = await startTestLogin({ authorization });
    const pending = templates((await page(login)).html);
    expect([...pending.keys()]).toEqual(['scanned', 'approved', 'denied', 'expired', 'cancelled']);
    expect(textOf(pending.get('scanned')!, 'id="panel-heading"')).toBe('Potvrďte přihlášení v telefonu');
    expect(pending.get('scanned')).toContain('data-match-number'); // the script fills in the number, or drops it
    expect(textOf(pending.get('expired')!, 'id="panel-heading"')).toBe('Platnost vypršela');
    expect(textOf(pending.get('cancelled')!, 'id="panel-heading"')).toBe('Přihlášení zrušeno');
    for (const view of pending.values()) expect(view).not.toContain('data-qr');

    const phone = await testDevice();
    const nonce = await scanAs(login, phone);
    const scanned = unwrap(await login.stub.read(await hashOf(login)));
    expect(pending.get('scanned')).toContain(`<form method="post" action="${scanned.returnUrl}" data-return`);
    // Rendered once scanned, the page carries only what can still follow.
    expect([...templates((await page(login)).html).keys()]).toEqual(['approved', 'denied', 'expired', 'cancelled']);
    unwrap(await answerAs(login, phone, 'deny', nonce));
    const denied = unwrap(await login.stub.read(await hashOf(login)));
    expect(pending.get('denied')).toContain(`<form method="post" action="${denied.restartUrl}" data-restart`);
    expect(pending.get('denied')).toContain(`<form method="post" action="${denied.returnUrl}" data-return`);
    expect(templates((await page(login)).html).size).toBe(0); // ended: nothing more to show

    const other = await startTestLogin({ authorization });
    const approvedView = templates((await page(other)).html).get('approved')!;
    const otherPhone = await testDevice();
    unwrap(await answerAs(other, otherPhone, 'approve', await scanAs(other, otherPhone)));
    const approved = unwrap(await other.stub.read(await hashOf(other)));
    expect(approvedView).toContain(`href="${approved.continueUrl}" data-continue`);
    expect(approved.returnUrl).toBeUndefined();
    expect(approvedView).not.toContain('data-return');
  });

  it('refuses another browser with a 403 page in its language', async () => {
    const login = await startTestLogin();
    for (const cookie of ['', login.cookie.replace(/=.*/, '=wrong')]) {
      const res = await call(`/login/${login.id}`, { headers: { Cookie: cookie } });
      expect(res.status).toBe(403);
      expectPageHeaders(res);
      const html = await res.text();
      expect(textOf(html, '<h1')).toBe('Přihlášení probíhá v jiném prohlížeči');
      expect(html).not.toContain(login.frame.slice(login.frame.indexOf('.') + 1));
      expect(html).not.toContain(login.launch.slice(2));
    }
    const en = await call(`/login/${login.id}`, { headers: { 'Accept-Language': 'en-GB,en;q=0.9,cs;q=0.5' } });
    expect(en.status).toBe(403);
    expect(textOf(await en.text(), '<h1')).toBe('This login is in another browser');
  });

  it('answers an unknown or malformed login id with a 404 page', async () => {
    const { env } = await import('cloudflare:workers');
    const unknown = env.LOGIN_SESSION.newUniqueId().toString();
    for (const id of [unknown, 'not-a-login', 'F'.repeat(64)]) {
      const res = await call(`/login/${id}`);
      expect(res.status).toBe(404);
      expectPageHeaders(res);
      expect(textOf(await res.text(), '<h1')).toBe('Přihlášení nenalezeno');
    }
  });

  it('leaves the page endpoints of the session routes working', async () => {
    const login = await startTestLogin();
    const res = await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { state: string }).state).toBe('pending');
  });
});

describe('POST /login/:id/restart', () => {
  const sameOrigin = { Origin: BASE };

  function restart(login: TestLogin, headers: Record<string, string> = sameOrigin, cookie = login.cookie) {
    return call(`/login/${login.id}/restart`, { method: 'POST', headers: { Cookie: cookie, ...headers }, redirect: 'manual' });
  }

  it('after expiry starts a fresh login for the same request and sends the browser to it', async () => {
    const login = await startTestLogin({
      client: { id: 'rp-1', name: 'Portál občana' },
      claims: ['name'],
      locale: 'en',
      authorization: { client_id: 'rp-1', state: 'xyz', nonce: 'n-1' },
    });
    await expire(login);
    const res = await restart(login, { 'Sec-Fetch-Site': 'same-origin' });
    expect(res.status).toBe(303);
    const location = res.headers.get('Location')!;
    const newId = /^\/login\/([0-9a-f]{64})$/.exec(location)?.[1];
    expect(newId).toBeDefined();
    expect(newId).not.toBe(login.id);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`__Host-mk_login_${newId!.slice(0, 16)}=`))!;
    expect(setCookie).toContain('Path=/;');
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('HttpOnly');
    const cookie = setCookie.split(';')[0]!;

    const next = await call(location, { headers: { Cookie: cookie } });
    expect(next.status).toBe(200);
    const html = await next.text();
    expect(html).toContain('data-state="pending"');
    expect(textOf(html, 'data-service')).toBe('Portál občana');
    expect(html).toContain('<html lang="en">');
    expect(decodeSvgQr(html)).toMatch(new RegExp(`/key/login#${newId}\\.`));

    const { loginStub } = await import('../../src/session/stub.ts');
    const { env } = await import('cloudflare:workers');
    const request = unwrap(await loginStub(env, newId!).restartRequest(await sha256Hex(cookie.split('=')[1]!)));
    expect(request).toMatchObject({
      client: { id: 'rp-1', name: 'Portál občana' },
      claims: ['name'],
      locale: 'en',
      authorization: { client_id: 'rp-1', state: 'xyz', nonce: 'n-1' },
    });
  });

  it('works after a denial too', async () => {
    const login = await startTestLogin();
    const phone = await testDevice();
    unwrap(await answerAs(login, phone, 'deny', await scanAs(login, phone)));
    const res = await restart(login);
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toMatch(/^\/login\/[0-9a-f]{64}$/);
  });

  it('cancels a login that is still open, so only the new QR works', async () => {
    const login = await startTestLogin();
    const res = await restart(login);
    expect(res.status).toBe(303);
    expect(unwrap(await login.stub.read(await sha256Hex(login.cookie.split('=')[1]!))).state).toBe('cancelled');
  });

  it('is refused once the login is approved', async () => {
    const login = await startTestLogin();
    const phone = await testDevice();
    unwrap(await answerAs(login, phone, 'approve', await scanAs(login, phone)));
    const res = await restart(login);
    expect(res.status).toBe(409);
    expect(res.headers.get('Location')).toBeNull();
    expectPageHeaders(res);
    expect(textOf(await res.text(), '<h1')).toBe('Přihlášení už bylo potvrzeno');
    expect(unwrap(await login.stub.read(await sha256Hex(login.cookie.split('=')[1]!))).state).toBe('approved');
  });

  it('is refused without the binding cookie', async () => {
    const login = await startTestLogin();
    await expire(login);
    const res = await restart(login, sameOrigin, '');
    expect(res.status).toBe(403);
    expect(res.headers.get('Location')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(textOf(await res.text(), '<h1')).toBe('Přihlášení probíhá v jiném prohlížeči');
  });

  it('is refused from another site or without origin information (CSRF)', async () => {
    const login = await startTestLogin();
    for (const headers of [
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
      { Origin: 'https://evil.example' },
      { Origin: 'null' },
      {},
    ] as Record<string, string>[]) {
      const res = await restart(login, headers);
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(textOf(await res.text(), '<h1')).toBe('Požadavek odmítnut');
    }
    expect(unwrap(await login.stub.read(await sha256Hex(login.cookie.split('=')[1]!))).state).toBe('pending');
  });

  it('answers an unknown login with a 404 page', async () => {
    const res = await call(`/login/${'0'.repeat(64)}/restart`, { method: 'POST', headers: sameOrigin });
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
  });
});

describe('GET /create-mobile-key', () => {
  it('explains both ways to enrol, in Czech and in English', async () => {
    const cs = await call('/create-mobile-key');
    expect(cs.status).toBe(200);
    expectPageHeaders(cs);
    const csHtml = await cs.text();
    expect(textOf(csHtml, '<h1')).toBe('Jak vytvořit mobilní klíč');
    expect(csHtml).toContain('Aktivačním kódem od operátora');
    expect(csHtml).toContain('Spárováním z existujícího přihlášení');

    const en = await call('/create-mobile-key?lang=en');
    const enHtml = await en.text();
    expect(enHtml).toContain('<html lang="en">');
    expect(textOf(enHtml, '<h1')).toBe('How to create a mobile key');
    expect(enHtml).toContain('With an activation code from an operator');
    expect(enHtml).toContain('By pairing from an existing login');
  });

  it('links back to the login it came from, and only to a login', async () => {
    const id = 'a'.repeat(64);
    const html = await (await call(`/create-mobile-key?from=${id}`)).text();
    expect(html).toContain(`href="/login/${id}" data-back-to-login`);
    const hostile = await (await call('/create-mobile-key?from=https://evil.example')).text();
    expect(hostile).not.toContain('data-back-to-login');
    expect(hostile).not.toContain('evil.example');
  });
});
