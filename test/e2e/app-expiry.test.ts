import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoClient } from '../../scripts/lib/seed.ts';
import { createIdentity, enrolInApp, expectLoggedInAtDemo, saveScreen, startDemoLogin } from './app-helpers.ts';
import { DESKTOP, launchBrowser, newContext, PHONE } from './browser.ts';
import { DEMO_CALLBACK } from './page-kit.ts';
import { startTestServer, type RunningServer } from './server.ts';

/** Short enough to wait out in a test, long enough to open the login in the app first. */
const VALIDITY_SECONDS = 10;

/**
 * A login that expires while the web app shows it: its own server with a short login validity
 * (the other app tests keep the default 180 s).
 */
describe('mobile key web app: a login that expires while it is shown', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startTestServer({ vars: { LOGIN_VALIDITY_SECONDS: String(VALIDITY_SECONDS) } }),
      launchBrowser(),
    ]);
    await seedDemoClient(server.url, server.persistTo);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the countdown runs out: the app says the login expired, also when reopened; starting again works', async () => {
    const identity = await createIdentity(server, 'Jana', 'Nováková');
    const phone = await (await newContext(browser, PHONE)).newPage();
    await enrolInApp(phone, server.url, identity.activation_code, 'Janin telefon');

    const desktop = await (await newContext(browser, DESKTOP)).newPage();
    await startDemoLogin(desktop, server.url);
    const loginUrl = (await desktop.locator('a[data-launch]').getAttribute('href'))!;
    await phone.goto(loginUrl);
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 5_000 });
    const left = Number(await phone.locator('[data-countdown]').getAttribute('data-seconds-left'));
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(VALIDITY_SECONDS);

    // Nothing is pressed: at zero the app replaces the decision with a clear message.
    await phone.locator('main[data-screen=login][data-state=expired]').waitFor({ timeout: (VALIDITY_SECONDS + 5) * 1000 });
    expect(await phone.locator('h1').innerText()).toBe('Platnost přihlášení vypršela');
    expect(await phone.locator('[data-result=expired]').innerText()).toContain(
      'Toto přihlášení vypršelo. Na přihlašovací stránce zvolte „Začít znovu“ a naskenujte nový QR kód.',
    );
    expect(await phone.getByRole('button', { name: 'Schválit' }).count()).toBe(0);
    await saveScreen(phone, 'app-expired');

    // The server agrees (its alarm ended the login), and the app says the same when reopened.
    await desktop.locator('[data-login][data-state=expired]').waitFor({ timeout: 10_000 });
    await phone.reload();
    await phone.locator('main[data-screen=login]:not([data-state=loading])').waitFor();
    expect(await phone.locator('main').getAttribute('data-state')).toBe('expired');
    expect(await phone.locator('h1').innerText()).toBe('Platnost přihlášení vypršela');

    // What the message advises: "Začít znovu" on the page, the new login, approved in time.
    await desktop.getByRole('button', { name: 'Začít znovu' }).click();
    await desktop.locator('[data-login][data-state=pending][data-hydrated]').waitFor();
    const fresh = (await desktop.locator('a[data-launch]').getAttribute('href'))!;
    expect(fresh).not.toBe(loginUrl);
    await phone.goto(fresh);
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 5_000 });
    await phone.getByRole('button', { name: 'Schválit' }).click();
    await phone.locator('main[data-screen=login][data-state=approved]').waitFor();
    await expectLoggedInAtDemo(desktop, 'Jana Nováková');
  });

  it('same device: once expired, the app goes back to the service with the timeout error, state and iss', async () => {
    const identity = await createIdentity(server, 'Petr', 'Malý');
    const phone = await (await newContext(browser, PHONE)).newPage();
    await enrolInApp(phone, server.url, identity.activation_code, 'Petrův telefon');
    await startDemoLogin(phone, server.url);
    await phone.locator('a[data-launch]').click();
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 5_000 });
    await phone.locator('main[data-screen=login][data-state=expired]').waitFor({ timeout: (VALIDITY_SECONDS + 5) * 1000 });
    await phone.getByRole('button', { name: 'Zpět do služby Demo relying service' }).click();
    await phone.waitForURL(DEMO_CALLBACK);
    const url = new URL(phone.url());
    expect(await phone.locator('#error').innerText()).toBe('access_denied');
    expect(url.searchParams.get('error_description')).toBe('the login timed out before the person answered');
    expect(url.searchParams.get('iss')).toBe(server.url);
    expect(url.searchParams.get('state')).toEqual(expect.any(String));
  });
});
