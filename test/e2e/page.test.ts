import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerLogin, decideLogin, MobileKeyError, scanLogin } from '../../cli/lib/mobile-client.ts';
import { parseLoginUrl } from '../../src/mobile/protocol.ts';
import { seedDemoClient } from '../../scripts/lib/seed.ts';
import { DESKTOP, launchBrowser, PHONE, readNextQrFromScreen, readQrFromScreen, saveScreenshot } from './browser.ts';
import {
  controlSocket,
  DEMO_CALLBACK,
  embeddedLoginId,
  enrolPerson,
  keyCli,
  LOGIN_PATH,
  pageOpener,
  startAtDemo,
  stopContinue,
  textOf as text,
  waitForState,
  watchProblems,
  type KeyHolder,
} from './page-kit.ts';
import { sharedTestServer, startTestServer, type RunningServer } from './server.ts';

const SERVICE = 'Demo relying service';
const PERSON = { given_name: 'Alžběta', family_name: 'Krátká' };
const DEVICE = 'Pixel Alžběty';
/** Login validity on the second server, in seconds: long enough to use, short enough to watch expire. */
const SHORT_VALIDITY_SECONDS = 6;

/**
 * The hosted login page in Debian's Chromium against `wrangler dev`, started by the demo
 * relying service, answered by the reference mobile key: every state of a login, the
 * connection, and the page without scripts. Screenshots: page-*.png (see saveScreenshot).
 * (Layout, languages, colours and headers: page-look.test.ts.)
 */
describe('hosted login page in Chromium: a login from start to finish', () => {
  let server: RunningServer;
  /** Logins here expire after SHORT_VALIDITY_SECONDS. */
  let short: RunningServer;
  let browser: Browser;
  let person: KeyHolder;
  let shortPerson: KeyHolder;
  const pages = pageOpener(() => browser);
  const open = pages.open;

  beforeAll(async () => {
    server = sharedTestServer();
    await Promise.all([
      startTestServer({ vars: { LOGIN_VALIDITY_SECONDS: String(SHORT_VALIDITY_SECONDS) } }).then((s) => (short = s)),
      launchBrowser().then((b) => (browser = b)),
    ]);
    await seedDemoClient(short.url, short.persistTo); // the shared server is seeded already
    [person, shortPerson] = await Promise.all([enrolPerson(server, PERSON, DEVICE), enrolPerson(short, PERSON, DEVICE)]);
  });
  afterAll(async () => {
    await pages.closeAll();
    await browser?.close();
    await Promise.all([server?.stop(), short?.stop()]);
  });

  const greeting = (page: Page) => text(page, '#name');

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

    // What a phone camera would read, not the DOM: a rotating frame, read as it appears.
    const loginUrl = await readNextQrFromScreen(page);
    expect(loginUrl).toMatch(new RegExp(`^${server.url}/key/login#${id}\\.r\\d+\\.[A-Za-z0-9_-]{22}$`));

    // The real CLI, with nothing but the text of the QR (it talks to the QR's origin).
    const approved = await keyCli(['approve', loginUrl, '--yes', '--json', '--store', person.storePath]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.json).toMatchObject({ status: 'approved', client_name: SERVICE, sub: person.sub, login_id: id });

    // The page goes on to the relying service by itself.
    await page.waitForURL(DEMO_CALLBACK);
    expect(await greeting(page)).toBe('Alžběta Krátká');
    expect(problems).toEqual([]);
  });

  it('served by /authorize itself, the page moves the address bar to /login/<id>: a reload shows the same login', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const navigations: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) navigations.push(new URL(request.url()).pathname);
    });
    const id = await startAtDemo(page, server);
    // One document request for the page: no 303 on our side between the service and it.
    expect(navigations.filter((path) => path === '/authorize' || path.startsWith('/login/'))).toEqual(['/authorize']);
    expect(new URL(page.url()).search).toBe('');
    await page.reload();
    await page.waitForSelector('[data-login][data-hydrated][data-state="pending"]');
    expect(await embeddedLoginId(page)).toBe(id);
    expect(new URL(page.url()).pathname).toBe(`/login/${id}`);
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
        'Kód byl naskenován mobilním klíčem. Zkontrolujte údaje v telefonu a přihlášení potvrďte.',
      );
      expect(await text(page, '[role="status"][data-status]')).toBe(
        'QR kód naskenován mobilním klíčem. Potvrďte přihlášení v telefonu.',
      );
      expect(await page.content()).not.toContain(DEVICE); // the page never learns whose key scanned
      expect(await page.locator('svg[data-qr]').count()).toBe(0); // a scanned code is spent
      // Focus moves to the new heading for screen readers, with no ring drawn round it (not a control).
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return { id: el?.id, outline: el ? getComputedStyle(el).outlineStyle : '' };
      });
      expect(focused).toEqual({ id: 'panel-heading', outline: 'none' });
      expect(await page.locator('[role="timer"]').isVisible()).toBe(true);
      await saveScreenshot(page, `page-scanned-${name}`);

      const denied = await answerLogin({ server: scan.server, loginId: scan.loginId, nonce: scan.context.nonce, decision: 'deny', store: person.store });
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
      expect(parseLoginUrl(fresh)?.loginId).not.toBe(id);
      expect(await page.locator('a[data-launch]').getAttribute('href')).toMatch(new RegExp(`^${server.url}/key/login#${parseLoginUrl(fresh)?.loginId}\\.l\\.`));
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
    await desktop.waitForURL(DEMO_CALLBACK);
    expect(await greeting(desktop)).toBe('Alžběta Krátká');
    expect(problems).toEqual([]);
  });

  it('WebSocket cut mid-login, approved while disconnected: the page shows the lost connection, polls, and completes at the RP', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const socket = await controlSocket(page);
    const id = await startAtDemo(page, server);
    await page.waitForSelector('[data-login][data-connection="live"]');

    await socket.cut();
    await page.waitForSelector('[data-login][data-connection="lost"]');
    await page.waitForSelector('[data-connection-notice] .notice');
    // Polling, the page shows the static frame of each snapshot it reads (accepted for 8 s).
    const loginUrl = await readQrFromScreen(page);
    expect(loginUrl).toMatch(new RegExp(`#${id}\\.s\\d+\\.`));
    expect(await text(page, '[data-connection-notice] .notice')).toBe('Spojení se serverem bylo přerušeno. Obnovujeme je…');
    expect(await page.locator('[data-login]').getAttribute('data-state')).toBe('pending');
    await saveScreenshot(page, 'page-connection-lost-desktop');

    const approved = await keyCli(['approve', loginUrl, '--yes', '--json', '--store', person.storePath]);
    expect(approved.json).toMatchObject({ status: 'approved', login_id: id });
    await page.waitForURL(DEMO_CALLBACK);
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

    await socket.cut();
    await page.waitForSelector('[data-connection-notice] .notice');
    socket.control.refuse = false;
    await page.waitForSelector('[data-login][data-connection="live"]');
    expect(await page.locator('[data-connection-notice] .notice').count()).toBe(0);
    expect(socket.control.opened).toHaveLength(2);
    // The frames rotate again over the new socket.
    const loginUrl = await readNextQrFromScreen(page);

    // Someone on the cancel button when the phone scans stays on it: it is still there once scanned.
    await page.getByRole('button', { name: /^Zrušit a vrátit se/ }).focus();
    await scanLogin({ loginUrl, store: person.store });
    await waitForState(page, 'scanned');
    expect(await text(page, '[data-panel] p')).toContain('mobilním klíčem');
    expect(await page.evaluate(() => document.activeElement?.closest('form')?.hasAttribute('data-return'))).toBe(true);
    expect(problems).toEqual([]);
  });

  it('phone: the decision made while both the socket and polling were down arrives when the socket reconnects', async () => {
    const page = await open(PHONE);
    const problems = await watchProblems(page);
    const socket = await controlSocket(page);
    const id = await startAtDemo(page, server);
    await page.waitForSelector('[data-login][data-connection="live"]');
    // A phone user launches the key on the same device: the launch link, not a frame that goes stale.
    const loginUrl = (await page.locator('a[data-launch]').getAttribute('href'))!;

    await page.route(`**/login/${id}/state`, (route) => route.abort('internetdisconnected'));
    await socket.cut();
    await page.waitForSelector('[data-connection-notice] .notice');
    await saveScreenshot(page, 'page-connection-lost-phone');

    const approved = await decideLogin({ loginUrl, store: person.store, decision: 'approve' });
    expect(approved.status).toBe('approved');
    // Nothing can reach the page yet: it still waits.
    expect(await page.locator('[data-login]').getAttribute('data-state')).toBe('pending');

    socket.control.refuse = false; // the network is back (polling stays down)
    await page.waitForURL(DEMO_CALLBACK, { timeout: 25_000 });
    expect(await greeting(page)).toBe('Alžběta Krátká');
    expect(socket.control.opened).toHaveLength(2);
    // The only complaints are the refused polls.
    expect(problems.filter((p) => !p.includes('net::ERR_INTERNET_DISCONNECTED'))).toEqual([]);
  });

  it('the QR changes every second; a frame relayed from a screenshot and scanned 10 s later is refused, the one on the screen works', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    const id = await startAtDemo(page, server);
    await page.waitForSelector('[data-login][data-connection="live"]');

    // Read off the screen twice, as a camera would: two different frames of the same login, a second apart.
    const first = await readNextQrFromScreen(page);
    const second = await readNextQrFromScreen(page);
    const [a, b] = [first, second].map((url) => parseLoginUrl(url)!);
    expect(a!.loginId).toBe(id);
    expect(b!.loginId).toBe(id);
    expect(b!.frame).not.toBe(a!.frame);
    expect(Number(/^r(\d+)/.exec(b!.frame)![1])).toBeGreaterThan(Number(/^r(\d+)/.exec(a!.frame)![1]));
    // The same-device button keeps its own link: not a frame.
    expect(await page.locator('a[data-launch]').getAttribute('href')).toMatch(new RegExp(`#${id}\\.l\\.`));

    // The relay: the frame from the screenshot reaches a victim's phone more than 10 s later.
    const capturedAt = Date.now();
    await page.waitForFunction((until) => Date.now() > until, capturedAt + 10_500, { timeout: 15_000, polling: 250 });
    const error = await scanLogin({ loginUrl: second, store: person.store }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MobileKeyError);
    expect((error as MobileKeyError).code).toBe('qr-code-expired');
    expect((error as MobileKeyError).message).toBe('This code is no longer valid — scan the code on the screen again.');
    expect(await page.locator('[data-login]').getAttribute('data-state')).toBe('pending');

    // The code on the screen now is another one, and it works.
    const now = await readNextQrFromScreen(page);
    expect(now).not.toBe(second);
    await scanLogin({ loginUrl: now, store: person.store });
    await waitForState(page, 'scanned');
    expect(problems).toEqual([]);
  });

  it('without JavaScript the page still shows the QR (a static frame, good for 8 s) and still reaches the RP after approval', async () => {
    const page = await open(DESKTOP, { javaScriptEnabled: false });
    const id = await startAtDemo(page, server, { scripts: false });
    expect(new URL(page.url()).pathname).toBe('/authorize'); // served by /authorize itself; it reloads /login/<id>
    expect(await page.locator('[data-login]').getAttribute('data-hydrated')).toBeNull();
    const qr = await readQrFromScreen(page);
    expect(qr).toMatch(new RegExp(`^${server.url}/key/login#${id}\\.s\\d+\\.[A-Za-z0-9_-]{22}$`));
    expect(await page.locator('a[data-launch]').getAttribute('href')).toMatch(new RegExp(`#${id}\\.l\\.[A-Za-z0-9_-]{22}$`));
    expect(await text(page, 'time[data-remaining]')).toMatch(/^(3:00|2:[0-5]\d)$/);
    await saveScreenshot(page, 'page-noscript-desktop');

    // It follows the login by reloading itself (every 5 s, each time with a fresh frame): once approved, on to the RP.
    await decideLogin({ loginUrl: qr, store: person.store, decision: 'approve' });
    await page.waitForURL(DEMO_CALLBACK, { timeout: 20_000 });
    expect(await greeting(page)).toBe('Alžběta Krátká');
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
      await page.waitForURL(DEMO_CALLBACK);
      expect(await greeting(page)).toBe('Alžběta Krátká');
      expect(problems).toEqual([]);
    }
  });
});
