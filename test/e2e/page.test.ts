import type { Browser, BrowserContext, BrowserContextOptions, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerLogin, decideLogin, scanLogin } from '../../cli/lib/mobile-client.ts';
import { seedDemoClient } from '../../scripts/lib/seed.ts';
import { DESKTOP, launchBrowser, newContext, PHONE, readQrFromScreen, saveScreenshot } from './browser.ts';
import {
  enrolPerson,
  keyCli,
  LOGIN_PATH,
  pixelAt,
  qrPixelCensus,
  startAtDemo,
  stopContinue,
  waitForState,
  watchProblems,
  type KeyHolder,
} from './page-kit.ts';
import { startTestServer, type RunningServer } from './server.ts';

/** The page's own WebSocket (`/login/:id/ws`). */
const PAGE_SOCKET = /\/login\/[0-9a-f]{64}\/ws$/;
const SERVICE = 'Demo relying service';
const PERSON = { given_name: 'Alžběta', family_name: 'Krátká' };
const DEVICE = 'Pixel Alžběty';
/** Login validity on the second server, in seconds: long enough to use, short enough to watch expire. */
const SHORT_VALIDITY_SECONDS = 6;

/**
 * The hosted login page in Debian's Chromium against `wrangler dev`, started by the demo
 * relying service, answered by the reference mobile key. Screenshots of every state go to
 * docs/screenshots/page-*.png.
 */
describe('hosted login page in Chromium', () => {
  let server: RunningServer;
  /** Logins here expire after SHORT_VALIDITY_SECONDS. */
  let short: RunningServer;
  let browser: Browser;
  let person: KeyHolder;
  let shortPerson: KeyHolder;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await Promise.all([
      startTestServer().then((s) => (server = s)),
      startTestServer({ vars: { LOGIN_VALIDITY_SECONDS: String(SHORT_VALIDITY_SECONDS) } }).then((s) => (short = s)),
      launchBrowser().then((b) => (browser = b)),
    ]);
    await Promise.all([seedDemoClient(server.url, server.persistTo), seedDemoClient(short.url, short.persistTo)]);
    [person, shortPerson] = await Promise.all([enrolPerson(server, PERSON, DEVICE), enrolPerson(short, PERSON, DEVICE)]);
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await browser?.close();
    await Promise.all([server?.stop(), short?.stop()]);
  });

  /** A fresh page in its own context (own cookies) with a device profile. */
  async function open(profile: BrowserContextOptions, extra: BrowserContextOptions = {}): Promise<Page> {
    const context = await newContext(browser, { ...profile, ...extra });
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context.newPage();
  }

  const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent())?.trim();
  const greeting = (page: Page) => text(page, '#name');
  const afterDemoCallback = /\/demo\/callback\?/;

  it('desktop: the demo starts a login, the key CLI approves the QR read off the screen, the demo greets the person', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const id = await startAtDemo(page, server);

    expect(await text(page, 'h1')).toBe('Přihlášení mobilním klíčem');
    expect(await text(page, '[data-service]')).toBe(SERVICE);
    expect(await page.locator('[data-steps="desktop"] li').allTextContents()).toEqual([
      'Spusťte aplikaci Mobilní klíč v telefonu.',
      'Naskenujte QR kód.',
      'Potvrďte přihlášení v telefonu.',
    ]);
    expect(await page.locator('[data-steps="phone"]').isVisible()).toBe(false);
    expect(await text(page, 'time[data-remaining]')).toMatch(/^(3:00|2:[0-5]\d)$/);
    expect(await text(page, '[role="status"][data-status]')).toBe('Čekáme na naskenování QR kódu.');
    await page.waitForSelector('[data-login][data-connection="live"]');
    await saveScreenshot(page, 'page-pending-desktop');

    // What a phone camera would read, not the DOM.
    const loginUrl = await readQrFromScreen(page);
    expect(loginUrl).toMatch(new RegExp(`^${server.url}/key/login#${id}\\.[A-Za-z0-9_-]+$`));

    // The real CLI, with nothing but the text of the QR (it talks to the QR's origin).
    const approved = await keyCli(['approve', loginUrl, '--yes', '--json', '--store', person.storePath]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.json).toMatchObject({ status: 'approved', client_name: SERVICE, sub: person.sub, login_id: id });

    // The page goes on to the relying service by itself.
    await page.waitForURL(afterDemoCallback);
    expect(await greeting(page)).toBe('Alžběta Krátká');
    expect(problems).toEqual([]);
  });

  it('scanned shows the device name; denied says so and "Start again" begins a fresh login (desktop and phone)', async () => {
    for (const [profile, name] of [[DESKTOP, 'desktop'], [PHONE, 'phone']] as const) {
      const page = await open(profile);
      const problems = await watchProblems(page);
      const id = await startAtDemo(page, server);
      const loginUrl = await readQrFromScreen(page);

      // The key reads the login but the person has not answered yet.
      const scan = await scanLogin({ loginUrl, store: person.store });
      expect(scan.context.client.name).toBe(SERVICE);
      await waitForState(page, 'scanned');
      expect(await text(page, '#panel-heading')).toBe('Potvrďte přihlášení v telefonu');
      expect(await text(page, '[data-panel] p')).toBe(
        `Kód jste naskenovali zařízením „${DEVICE}“. Zkontrolujte údaje v telefonu a přihlášení potvrďte.`,
      );
      expect(await text(page, '[role="status"][data-status]')).toBe(
        `QR kód naskenován zařízením ${DEVICE}. Potvrďte přihlášení v telefonu.`,
      );
      expect(await page.locator('svg[data-qr]').count()).toBe(0); // a scanned code is spent
      // Focus moves to the new heading for screen readers, with no ring drawn round it (not a control).
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return { id: el?.id, outline: el ? getComputedStyle(el).outlineStyle : '' };
      });
      expect(focused).toEqual({ id: 'panel-heading', outline: 'none' });
      expect(await page.locator('[role="timer"]').isVisible()).toBe(true);
      await saveScreenshot(page, `page-scanned-${name}`);

      const denied = await answerLogin({ server: scan.server, loginId: scan.loginId, secret: scan.secret, nonce: scan.context.nonce, decision: 'deny', store: person.store });
      expect(denied.status).toBe('denied');
      await waitForState(page, 'denied');
      expect(await text(page, '#panel-heading')).toBe('Přihlášení zamítnuto');
      expect(await text(page, '[role="status"][data-status]')).toBe('Přihlášení bylo v telefonu zamítnuto.');
      const startAgain = page.getByRole('button', { name: 'Začít znovu' });
      expect(await startAgain.isVisible()).toBe(true);
      expect(await page.locator('[role="timer"]').count()).toBe(0);
      await saveScreenshot(page, `page-denied-${name}`);

      if (name === 'desktop') {
        // By keyboard: focus is on the new heading, so the next Tab reaches "Start again".
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Začít znovu');
        await page.keyboard.press('Enter');
      } else {
        await startAgain.tap();
      }
      await page.waitForURL((url) => LOGIN_PATH.test(url.pathname) && !url.pathname.includes(id));
      await page.waitForSelector('[data-login][data-state="pending"][data-hydrated]');
      const fresh = await readQrFromScreen(page);
      expect(fresh).not.toBe(loginUrl);
      expect(fresh).toBe(await page.locator('a[data-launch]').getAttribute('href'));
      expect(problems).toEqual([]);
    }
  });

  it('expired: the page says so when the time runs out; "Start again" gives a fresh QR that still logs the person in', async () => {
    const [desktop, phone] = await Promise.all([open(DESKTOP), open(PHONE)]);
    const problems = await watchProblems(desktop);
    const [id] = await Promise.all([startAtDemo(desktop, short), startAtDemo(phone, short)]);
    const first = await readQrFromScreen(desktop);
    expect(await text(desktop, 'time[data-remaining]')).toMatch(/^0:0[0-6]$/);
    // The live region says once that little time is left (never the ticks).
    expect(await text(desktop, '[role="status"][data-status]')).toBe('Čekáme na naskenování QR kódu. Platnost vyprší za méně než 30 sekund.');

    // The server's alarm ends the login; bounded waits, no fixed sleeps.
    await Promise.all([waitForState(desktop, 'expired'), waitForState(phone, 'expired')]);
    for (const page of [desktop, phone]) {
      expect(await text(page, '#panel-heading')).toBe('Platnost vypršela');
      expect(await text(page, '[data-panel] p')).toBe('QR kód už neplatí. Začněte znovu a naskenujte nový kód.');
      expect(await text(page, '[role="status"][data-status]')).toBe('Platnost přihlášení vypršela.');
      expect(await page.locator('svg[data-qr]').count()).toBe(0);
    }
    await saveScreenshot(desktop, 'page-expired-desktop');
    await saveScreenshot(phone, 'page-expired-phone');

    await desktop.getByRole('button', { name: 'Začít znovu' }).click();
    await desktop.waitForURL((url) => LOGIN_PATH.test(url.pathname) && !url.pathname.includes(id));
    const freshId = LOGIN_PATH.exec(new URL(desktop.url()).pathname)![1]!;
    await desktop.waitForSelector('[data-login][data-state="pending"][data-hydrated]');
    const fresh = await readQrFromScreen(desktop);
    expect(fresh).not.toBe(first);
    expect(fresh).toMatch(new RegExp(`^${short.url}/key/login#${freshId}\\.`));

    // The fresh login belongs to the same authorization request: approving it completes at the RP.
    const approved = await decideLogin({ loginUrl: fresh, store: shortPerson.store, decision: 'approve' });
    expect(approved.status).toBe('approved');
    await desktop.waitForURL(afterDemoCallback);
    expect(await greeting(desktop)).toBe('Alžběta Krátká');
    expect(problems).toEqual([]);
  });

  /** Routes the page's WebSocket: passed through to the server unless `refuse` is set. */
  async function controlSocket(page: Page) {
    const control = { refuse: false, opened: [] as WebSocketRoute[] };
    await page.routeWebSocket(PAGE_SOCKET, async (ws) => {
      if (control.refuse) return ws.close(); // the page sees a close without an open
      control.opened.push(ws);
      ws.connectToServer();
    });
    return {
      control,
      /** Cuts every open socket and refuses new ones. */
      cut: async () => {
        control.refuse = true;
        await Promise.all(control.opened.map((ws) => ws.close()));
      },
    };
  }

  it('WebSocket cut mid-login, approved while disconnected: the page shows the lost connection, polls, and completes at the RP', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const socket = await controlSocket(page);
    const id = await startAtDemo(page, server);
    await page.waitForSelector('[data-login][data-connection="live"]');
    const loginUrl = await readQrFromScreen(page);

    await socket.cut();
    await page.waitForSelector('[data-login][data-connection="lost"]');
    await page.waitForSelector('[data-connection-notice] .notice');
    expect(await text(page, '[data-connection-notice] .notice')).toBe('Spojení se serverem bylo přerušeno. Obnovujeme je…');
    expect(await page.locator('[data-login]').getAttribute('data-state')).toBe('pending');
    await saveScreenshot(page, 'page-connection-lost-desktop');

    const approved = await keyCli(['approve', loginUrl, '--yes', '--json', '--store', person.storePath]);
    expect(approved.json).toMatchObject({ status: 'approved', login_id: id });
    await page.waitForURL(afterDemoCallback);
    expect(await greeting(page)).toBe('Alžběta Krátká');
    // Only the first socket ever opened: the decision came by polling the snapshot.
    expect(socket.control.opened).toHaveLength(1);
    expect(problems).toEqual([]);
  });

  it('a short outage: the notice goes away when the socket is back, and live updates resume over it', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const socket = await controlSocket(page);
    await startAtDemo(page, server);
    await page.waitForSelector('[data-login][data-connection="live"]');
    const loginUrl = await readQrFromScreen(page);

    await socket.cut();
    await page.waitForSelector('[data-connection-notice] .notice');
    socket.control.refuse = false;
    await page.waitForSelector('[data-login][data-connection="live"]');
    expect(await page.locator('[data-connection-notice] .notice').count()).toBe(0);
    expect(socket.control.opened).toHaveLength(2);

    await scanLogin({ loginUrl, store: person.store });
    await waitForState(page, 'scanned');
    expect(await text(page, '[data-panel] p')).toContain(DEVICE);
    expect(problems).toEqual([]);
  });

  it('phone: the decision made while both the socket and polling were down arrives when the socket reconnects', async () => {
    const page = await open(PHONE);
    const problems = await watchProblems(page);
    const socket = await controlSocket(page);
    const id = await startAtDemo(page, server);
    await page.waitForSelector('[data-login][data-connection="live"]');
    const loginUrl = await readQrFromScreen(page);

    await page.route(`**/login/${id}/state`, (route) => route.abort('internetdisconnected'));
    await socket.cut();
    await page.waitForSelector('[data-connection-notice] .notice');
    await saveScreenshot(page, 'page-connection-lost-phone');

    const approved = await decideLogin({ loginUrl, store: person.store, decision: 'approve' });
    expect(approved.status).toBe('approved');
    // Nothing can reach the page yet: it still waits.
    expect(await page.locator('[data-login]').getAttribute('data-state')).toBe('pending');

    socket.control.refuse = false; // the network is back (polling stays down)
    await page.waitForURL(afterDemoCallback, { timeout: 25_000 });
    expect(await greeting(page)).toBe('Alžběta Krátká');
    expect(socket.control.opened).toHaveLength(2);
    // The only complaints are the refused polls.
    expect(problems.filter((p) => !p.includes('net::ERR_INTERNET_DISCONNECTED'))).toEqual([]);
  });

  it('without JavaScript the page still shows the QR (it encodes the launch link) and still reaches the RP after approval', async () => {
    const page = await open(DESKTOP, { javaScriptEnabled: false });
    const id = await startAtDemo(page, server, { scripts: false });
    expect(await page.locator('[data-login]').getAttribute('data-hydrated')).toBeNull();
    const qr = await readQrFromScreen(page);
    expect(qr).toMatch(new RegExp(`^${server.url}/key/login#${id}\\.[A-Za-z0-9_-]+$`));
    expect(qr).toBe(await page.locator('a[data-launch]').getAttribute('href'));
    expect(await text(page, 'time[data-remaining]')).toMatch(/^(3:00|2:[0-5]\d)$/);
    await saveScreenshot(page, 'page-noscript-desktop');

    // It follows the login by reloading itself (every 10 s): once approved, on to the RP.
    await decideLogin({ loginUrl: qr, store: person.store, decision: 'approve' });
    await page.waitForURL(afterDemoCallback, { timeout: 20_000 });
    expect(await greeting(page)).toBe('Alžběta Krátká');
  });

  it('phone: two steps, the launch button first and the QR below it', async () => {
    const page = await open(PHONE);
    const problems = await watchProblems(page);
    const id = await startAtDemo(page, server);
    expect(await page.locator('[data-steps="desktop"]').isVisible()).toBe(false);
    expect(await page.locator('[data-steps="phone"] li').allTextContents()).toEqual([
      'Klepněte na tlačítko Spustit mobilní klíč na tomto zařízení.',
      'Potvrďte přihlášení v aplikaci Mobilní klíč.',
    ]);
    const launch = page.locator('a[data-launch]');
    expect(await text(page, 'a[data-launch]')).toBe('Spustit mobilní klíč na tomto zařízení');
    const launchBox = (await launch.boundingBox())!;
    const qrBox = (await page.locator('svg[data-qr]').boundingBox())!;
    expect(launchBox.y + launchBox.height).toBeLessThan(qrBox.y);
    expect(launchBox.width).toBeGreaterThan(300); // full width on a 390 px screen
    expect(qrBox.width).toBeGreaterThanOrEqual(240);
    expect(await readQrFromScreen(page)).toBe(await launch.getAttribute('href'));
    await saveScreenshot(page, 'page-pending-phone');
    expect(problems).toEqual([]);
  });

  it('approved: the page says so and goes on by itself; its "Continue" link works too (desktop and phone)', async () => {
    for (const [profile, name] of [[DESKTOP, 'desktop'], [PHONE, 'phone']] as const) {
      const page = await open(profile);
      const problems = await watchProblems(page);
      const id = await startAtDemo(page, server);
      const stop = await stopContinue(page, id);
      await decideLogin({ loginUrl: await readQrFromScreen(page), store: person.store, decision: 'approve' });
      await waitForState(page, 'approved');
      await stop.reached; // the page tried to continue on its own
      expect(await text(page, '#panel-heading')).toBe('Přihlášení potvrzeno');
      expect(await text(page, '[data-panel] p')).toBe(`Za okamžik vás přesměrujeme zpět do služby ${SERVICE}.`);
      expect(await text(page, '[role="status"][data-status]')).toBe(`Přihlášení potvrzeno. Pokračujeme do služby ${SERVICE}.`);
      expect(await page.locator('form[data-restart]').count()).toBe(0);
      await saveScreenshot(page, `page-approved-${name}`);

      await stop.release();
      await page.getByRole('link', { name: 'Pokračovat' }).click();
      await page.waitForURL(afterDemoCallback);
      expect(await greeting(page)).toBe('Alžběta Krátká');
      expect(problems).toEqual([]);
    }
  });

  it("a browser whose clock is an hour wrong still counts down from the server's time", async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    await page.clock.setSystemTime(new Date(Date.now() + 3600_000));
    await startAtDemo(page, server);
    expect((await page.evaluate(() => Date.now())) - Date.now()).toBeGreaterThan(3500_000); // the page's clock is off
    // Let the countdown tick a few times in the page's (wrong) time.
    await page.waitForFunction(() => document.querySelector('time[data-remaining]')?.textContent !== '3:00');
    expect(await text(page, 'time[data-remaining]')).toMatch(/^2:[45]\d$/);
    expect(problems).toEqual([]);
  });

  it('Czech by default, English through the switch on the page', async () => {
    // A browser asking for a language we do not have gets Czech.
    const page = await open(DESKTOP, { locale: 'de-DE' });
    const problems = await watchProblems(page);
    const id = await startAtDemo(page, server);
    expect(await page.getAttribute('html', 'lang')).toBe('cs');
    expect(await text(page, 'h1')).toBe('Přihlášení mobilním klíčem');
    expect(await page.getAttribute('svg[data-qr]', 'aria-label')).toBe(`QR kód pro přihlášení do služby ${SERVICE} mobilním klíčem`);
    expect(await text(page, 'a[data-create-key]')).toBe('Vytvořit mobilní klíč');
    expect(await text(page, '[role="timer"] span')).toBe('Platnost vyprší za');

    await page.locator('nav[aria-label="Jazyk"] a[data-lang="en"]').click();
    await page.waitForURL(/\?lang=en$/);
    await page.waitForSelector('[data-login][data-hydrated][data-connection="live"]');
    expect(new URL(page.url()).pathname).toBe(`/login/${id}`); // the same login, now in English
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await text(page, 'h1')).toBe('Log in with the mobile key');
    expect(await text(page, '.service')).toBe(`You are logging in to ${SERVICE}`);
    expect(await page.locator('[data-steps="desktop"] li').allTextContents()).toEqual([
      'Open the Mobile Key app on your phone.',
      'Scan the QR code.',
      'Confirm the login on your phone.',
    ]);
    expect(await text(page, 'a[data-launch]')).toBe('Launch the mobile key on this device');
    expect(await text(page, 'a[data-create-key]')).toBe('Create a mobile key');
    expect(await page.getAttribute('svg[data-qr]', 'aria-label')).toBe(`QR code to log in to ${SERVICE} with the mobile key`);
    expect(await text(page, '[role="status"][data-status]')).toBe('Waiting for the QR code to be scanned.');
    expect(await page.locator('nav[aria-label="Language"] a[data-lang="cs"]').isVisible()).toBe(true);
    await saveScreenshot(page, 'page-pending-desktop-en');

    // "Create a mobile key" explains enrolment (in the language chosen) and leads back.
    await page.getByRole('link', { name: 'Create a mobile key' }).click();
    await page.waitForURL(/\/create-mobile-key\?/);
    expect(await text(page, 'h1')).toBe('How to create a mobile key');
    expect(await page.locator('[data-help] h3').allTextContents()).toEqual([
      'With an activation code from an operator',
      'By pairing from an existing login',
    ]);
    await page.getByRole('link', { name: 'Back to the login' }).click();
    await page.waitForURL((url) => url.pathname === `/login/${id}`);
    await page.waitForSelector('[data-login][data-state="pending"][data-hydrated]');
    expect(await text(page, 'h1')).toBe('Log in with the mobile key');
    expect(problems).toEqual([]);
  });

  it('dark colour scheme (and forced colours): the page turns dark, the QR stays black on white with a white quiet zone', async () => {
    for (const scheme of [{ colorScheme: 'dark' }, { colorScheme: 'dark', forcedColors: 'active' }] as const) {
      const page = await open(PHONE, scheme);
      const problems = await watchProblems(page);
      await startAtDemo(page, server);
      const forced = await page.evaluate(() => matchMedia('(forced-colors: active)').matches);
      expect(forced).toBe('forcedColors' in scheme);
      const [r, g, b] = await pixelAt(page, 2, 2);
      expect(Math.max(r, g, b)).toBeLessThan(64); // the page itself is dark

      const census = await qrPixelCensus(page, 4);
      expect(census.black).toBeGreaterThan(0);
      expect(census.white).toBeGreaterThan(0);
      expect(census).toMatchObject({ other: 0, quietZoneNotWhite: 0 });
      expect(await readQrFromScreen(page)).toBe(await page.locator('a[data-launch]').getAttribute('href'));
      if (!('forcedColors' in scheme)) await saveScreenshot(page, 'page-pending-phone-dark');
      expect(problems).toEqual([]);
    }
  });

  it('security headers on the page; the CSP is enforced and nothing on the page violates it', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const documentResponse = page.waitForResponse((res) => LOGIN_PATH.test(new URL(res.url()).pathname) && res.request().method() === 'GET');
    await startAtDemo(page, server);
    const headers = await (await documentResponse).allHeaders();

    const csp = new Map(
      headers['content-security-policy']!.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values] as const;
      }),
    );
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['cache-control']).toMatch(/\bno-store\b/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');

    // The page loaded, hydrated and went live without a single complaint...
    await page.waitForSelector('[data-login][data-connection="live"]');
    expect(problems).toEqual([]);
    // ...and the policy is really in force: an injected inline script is refused and reported.
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.head.appendChild(script);
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
    });
    expect(ran).toBe(false);
    await expect.poll(() => problems.some((p) => p.includes('CSP violation: script-src'))).toBe(true);
  });
});
