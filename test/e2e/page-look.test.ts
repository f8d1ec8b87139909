import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchBrowser, PHONE, readQrFromScreen, saveScreenshot } from './browser.ts';
import { pageOpener, pixelAt, qrPixelCensus, startAtDemo, textOf as text, watchProblems } from './page-kit.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

const SERVICE = 'Demo relying service';

/**
 * How the hosted login page looks and what it sends, in Debian's Chromium against
 * `wrangler dev`: the phone layout, both languages, a dark scheme and forced colours, the
 * countdown in a browser with a wrong clock, security headers and the CSP in force.
 * (A login's states and connection: page.test.ts.)
 */
describe('hosted login page in Chromium: layout, languages, colours, headers', () => {
  let server: RunningServer;
  let browser: Browser;
  const pages = pageOpener(() => browser);
  const open = pages.open;

  beforeAll(async () => {
    server = sharedTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await pages.closeAll();
    await browser?.close();
    await server?.stop();
  });

  it('phone: two steps, the launch button first and the QR below it', async () => {
    const page = await open(PHONE);
    const problems = await watchProblems(page);
    await startAtDemo(page, server);
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
    // The QR holds a frame of this login; the button its own launch link (src/session/rotation.ts).
    const frameUrl = await readQrFromScreen(page);
    expect(frameUrl).toMatch(/\/key\/login#[0-9a-f]{64}\.[rs]\d+\.[A-Za-z0-9_-]{22}$/);
    expect((await launch.getAttribute('href'))!.startsWith(`${frameUrl.slice(0, frameUrl.indexOf('#') + 65)}.l.`)).toBe(true);
    await saveScreenshot(page, 'page-pending-phone');
    expect(problems).toEqual([]);
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
      expect(await readQrFromScreen(page)).toMatch(/\/key\/login#[0-9a-f]{64}\.[rs]\d+\.[A-Za-z0-9_-]{22}$/);
      if (!('forcedColors' in scheme)) await saveScreenshot(page, 'page-pending-phone-dark');
      expect(problems).toEqual([]);
    }
  });

  it('security headers on the page; the CSP is enforced and nothing on the page violates it', async () => {
    const page = await open(DESKTOP);
    const problems = await watchProblems(page);
    // The login page's document: `/authorize` answers a browser's navigation with it.
    const documentResponse = page.waitForResponse((res) => new URL(res.url()).pathname === '/authorize' && res.status() === 200);
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
