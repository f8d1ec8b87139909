import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoClient } from '../../scripts/lib/seed.ts';
import { createIdentity, enrolInApp, expectLoggedInAtDemo, saveScreen, startDemoLogin } from './app-helpers.ts';
import { runCli } from './cli-run.ts';
import { DESKTOP, launchBrowser, newContext, PHONE, saveScreenshot } from './browser.ts';
import { startTestServer, type RunningServer } from './server.ts';

/**
 * Issue 14 in Chromium against `wrangler dev`: a login started in Germany and scanned by a phone
 * in Czechia, for a service that requires number matching. The browsers carry the location
 * headers Cloudflare would set (`CF-IPCountry`, trusted only on a loopback issuer). Screenshots:
 * app-login-mismatch.png, page-match-number-desktop.png.
 */
describe('mobile key web app: where the login comes from, and number matching', () => {
  let server: RunningServer;
  let browser: Browser;

  // Its own server: it turns number matching on for the demo service, which the files on the
  // shared server (sharedTestServer) log in to without.
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
    await seedDemoClient(server.url, server.persistTo);
    // The operator turns number matching on for the demo service with the operator CLI.
    const updated = await runCli('admin', ['client', 'update', 'demo', '--require-number-matching', '--server', server.url, '--json'], {
      ADMIN_TOKEN: server.secrets.ADMIN_TOKEN,
    });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.json).toMatchObject({ client_id: 'demo', require_number_matching: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('warns of the other country with Deny focused, and approves only with the number the page shows', async () => {
    const identity = await createIdentity(server, 'Jana', 'Nováková');
    const desktopContext = await newContext(browser, { ...DESKTOP, extraHTTPHeaders: { 'CF-IPCountry': 'DE', 'CF-IPCity': 'Berlin' } });
    const phoneContext = await newContext(browser, { ...PHONE, extraHTTPHeaders: { 'CF-IPCountry': 'CZ' } });
    const [desktop, phone] = await Promise.all([desktopContext.newPage(), phoneContext.newPage()]);
    await enrolInApp(phone, server.url, identity.activation_code, 'Janin telefon');

    await startDemoLogin(desktop, server.url);
    // What the QR encodes, "scanned" by opening it on the phone.
    const loginUrl = (await desktop.locator('a[data-launch]').getAttribute('href'))!;
    await phone.goto(loginUrl);
    const main = phone.locator('main[data-screen=login][data-state=context]');
    await main.waitFor({ timeout: 15_000 });

    const warning = main.locator('[data-warning=country-mismatch]');
    expect(await warning.getAttribute('role')).toBe('alert');
    expect(await warning.innerText()).toContain(
      'Toto přihlášení bylo zahájeno v zemi Německo, vy jste v zemi Česko. Pokud vám tento kód někdo poslal, přihlášení odmítněte.',
    );
    expect(await main.locator('dd[data-field=place]').innerText()).toBe('Berlin, Německo');
    expect(await main.locator('dd[data-field=device]').innerText()).toMatch(/Chrome/);
    // Deny is the primary action and holds the focus: Enter denies.
    const deny = main.locator('[data-action=deny]');
    await expect.poll(() => deny.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await deny.getAttribute('class')).toBe('primary');
    expect(await main.locator('[data-action=approve]').count()).toBe(0);

    // The page shows the number; the phone offers three, the page's among them.
    const shown = Number(await desktop.locator('[data-login][data-state=scanned] [data-match-number]').innerText());
    const choices = await main.locator('[data-action=pick]').evaluateAll((buttons) => buttons.map((b) => Number(b.getAttribute('data-number'))));
    expect(choices).toHaveLength(3);
    expect(choices).toContain(shown);
    await saveScreen(phone, 'app-login-mismatch');
    await saveScreenshot(desktop, 'page-match-number-desktop');

    await main.getByRole('button', { name: `Schválit s číslem ${shown}` }).click();
    await phone.locator('main[data-screen=login][data-state=approved]').waitFor();
    await expectLoggedInAtDemo(desktop, 'Jana Nováková');
    await Promise.all([desktopContext.close(), phoneContext.close()]);
  });

  it('a wrong number denies the login: the phone says why and the page shows it denied', async () => {
    const identity = await createIdentity(server, 'Petr', 'Dvořák');
    const desktopContext = await newContext(browser, { ...DESKTOP, extraHTTPHeaders: { 'CF-IPCountry': 'CZ' } });
    const phoneContext = await newContext(browser, { ...PHONE, extraHTTPHeaders: { 'CF-IPCountry': 'CZ' } });
    const [desktop, phone] = await Promise.all([desktopContext.newPage(), phoneContext.newPage()]);
    await enrolInApp(phone, server.url, identity.activation_code, 'Petrův telefon');
    await startDemoLogin(desktop, server.url);
    await phone.goto((await desktop.locator('a[data-launch]').getAttribute('href'))!);
    const main = phone.locator('main[data-screen=login][data-state=context]');
    await main.waitFor({ timeout: 15_000 });
    // Same country: no warning, and the numbers are the primary actions.
    expect(await main.locator('[data-warning]').count()).toBe(0);

    const shown = Number(await desktop.locator('[data-login][data-state=scanned] [data-match-number]').innerText());
    const wrong = (await main.locator('[data-action=pick]').evaluateAll((buttons) => buttons.map((b) => Number(b.getAttribute('data-number'))))).find(
      (n) => n !== shown,
    )!;
    await main.locator(`[data-action=pick][data-number="${wrong}"]`).click();
    await phone.locator('main[data-screen=login][data-state=denied]').waitFor();
    expect(await phone.locator('[data-reason=wrong-number]').innerText()).toContain('Vybrali jste jiné číslo, než ukazuje přihlašovací stránka');
    await desktop.locator('[data-login][data-state=denied]').waitFor();
    await Promise.all([desktopContext.close(), phoneContext.close()]);
  });

  it('the key CLI shows the same warning: a login started in Germany, answered from elsewhere', async () => {
    const identity = await createIdentity(server, 'Eva', 'Malá');
    const dir = mkdtempSync(join(tmpdir(), 'mobile-key-where-'));
    try {
      const store = join(dir, 'key.json');
      const enrolled = await runCli('key', ['enroll', '--activation-code', identity.activation_code, '--store', store, '--server', server.url, '--json']);
      expect(enrolled.code).toBe(0);
      const desktopContext = await newContext(browser, { ...DESKTOP, extraHTTPHeaders: { 'CF-IPCountry': 'DE' } });
      const desktop = await desktopContext.newPage();
      await startDemoLogin(desktop, server.url);
      const loginUrl = (await desktop.locator('a[data-launch]').getAttribute('href'))!;
      // The CLI sends no location header: wrangler dev's placeholder place (US) is where it "is".
      // Not a terminal and no --number: the CLI cannot ask for the number, so it denies and says so.
      const run = await runCli('key', ['approve', loginUrl, '--yes', '--store', store, '--json']);
      expect(run.stderr).toContain('WARNING: This login was started in Germany, you are in United States. If someone sent you this code, deny.');
      expect(run.stderr).toMatch(/Number matching: the login page shows one of \d{2}, \d{2}, \d{2}/);
      expect(run.stderr).toContain('pass --number N');
      expect(run.code).toBe(2);
      await desktop.locator('[data-login][data-state=denied]').waitFor();
      await desktopContext.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
