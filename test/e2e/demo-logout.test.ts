/**
 * The demo in Chromium against wrangler dev (issue 10): log in at /demo with the phone, the
 * second demo service logs in silently (and again through prompt=select_account's "Continue as
 * Jana N."), "Log out" there goes through the provider's
 * end_session_endpoint, whose logged-out page loads both services' front-channel iframes and
 * returns; the first service then shows it was logged out by the provider (front- and
 * back-channel).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideLogin } from '../../cli/lib/mobile-client.ts';
import { DESKTOP, launchBrowser, saveScreenshot } from './browser.ts';
import { enrolPhone } from './flow.ts';
import { pageOpener, startAtDemo, textOf, watchProblems } from './page-kit.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

describe('demo: single sign-on and logout across two services', () => {
  let server: RunningServer;
  let browser: Browser;
  const pages = pageOpener(() => browser);

  beforeAll(async () => {
    server = sharedTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await pages.closeAll();
    await browser?.close();
    await server?.stop();
  });

  it('logs out of both, front-channel iframes loaded, and the other service shows it', async () => {
    const key = await enrolPhone({ url: server.url, adminToken: server.secrets.ADMIN_TOKEN });
    const page = await pages.open(DESKTOP);
    const problems = await watchProblems(page);
    const frontchannel: URL[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/frontchannel-logout')) frontchannel.push(new URL(request.url()));
    });

    await startAtDemo(page, server);
    const loginUrl = await page.locator('a[data-launch]').getAttribute('href');
    expect((await decideLogin({ loginUrl: loginUrl!, store: key, decision: 'approve' })).status).toBe('approved');
    await page.waitForURL(/\/demo\/callback/);
    expect(await textOf(page, '#name')).toBe('Jana Nováková');

    // The second service: no phone this time.
    await page.locator('#other-service').click();
    await page.waitForURL(/\/demo\/second$/);
    await page.getByRole('button', { name: 'Log in with the mobile key' }).click();
    // It asks for the person's details for the first time in this session: one click on our
    // consent page (issue 12), for this login only.
    await page.waitForSelector('#consent-claims');
    expect(await textOf(page, '#consent-client')).toContain('Second demo service');
    await saveScreenshot(page, 'consent-sso');
    await page.click('#consent-once');
    await page.waitForURL(/\/demo\/second\/callback/);
    expect(await textOf(page, '#name')).toBe('Jana Nováková');

    // prompt=select_account: the provider's choice page, "Continue as" answers without the phone.
    await page.goto(`${server.url}/demo/second`);
    await page.locator('#switch-account').click();
    await page.waitForURL((url) => url.pathname === '/authorize');
    expect(await page.locator('[data-select-account] h1').textContent()).toMatch(/^(Vyberte účet|Choose an account)$/);
    await page.locator('[data-lang="en"]').click();
    await page.getByRole('button', { name: 'Continue as Jana N.' }).click();
    // The consent above was for that login only, so the chosen account's answer asks again —
    // once, not the choice page a second time.
    await page.waitForSelector('#consent-claims');
    await page.click('#consent-always');
    await page.waitForURL(/\/demo\/second\/callback/);
    expect(await textOf(page, '#name')).toBe('Jana Nováková');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/demo\/second\/logged-out\?state=/);
    expect(await textOf(page, '#logged-out')).toBe('You are logged out of Second demo service');
    expect(frontchannel.map((u) => u.pathname).sort()).toEqual(['/demo/frontchannel-logout', '/demo/second/frontchannel-logout']);
    for (const url of frontchannel) {
      expect(url.searchParams.get('iss')).toBe(server.url);
      expect(url.searchParams.get('sid')).toEqual(expect.any(String));
    }

    // The first service was told (front-channel at once; back-channel from the session object's alarm).
    await page.goto(`${server.url}/demo`);
    expect(await page.locator('#logged-out-notice').isVisible()).toBe(true);
    expect(await page.locator('[data-session="demo"]').getAttribute('data-state')).toBe('logged-out');
    const deadline = Date.now() + 20_000;
    while (!(await textOf(page, '[data-session="demo"]'))?.includes('back-channel') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      await page.reload();
    }
    expect(await textOf(page, '[data-session="demo"]')).toContain('back-channel logout token');
    expect(page.getByRole('button', { name: 'Log in with the mobile key' })).toBeTruthy();
    expect(problems).toEqual([]);
  });
});
