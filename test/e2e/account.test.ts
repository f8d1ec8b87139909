/**
 * The person's account in Chromium (issue 12): log in to /account through our own /authorize
 * with a key (the QR read from the screen, approved with the key CLI), see the keys with their
 * last use, rename one, meet the last-key warning, disconnect one, and see the login history
 * (approvals and denials with service, key and browser) and the consents, withdrawn.
 * Screenshots: test-results/screenshots/account-*.png (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchBrowser, readQrFromScreen, saveScreenshot } from './browser.ts';
import { enrolPerson, keyCli, LOGIN_PATH, pageOpener, startAtDemo, watchProblems, type KeyHolder } from './page-kit.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

describe('the account in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let pages: ReturnType<typeof pageOpener>;
  let jana: KeyHolder;
  let tabletStore: string;
  let tabletId: string;

  /** Approves (or denies) the login on the page's screen with a key store, through the key CLI. */
  const answer = async (page: Page, store: string, command: 'approve' | 'deny', extra: string[] = []) => {
    await page.waitForSelector('[data-login][data-hydrated]');
    const run = await keyCli([command, await readQrFromScreen(page), ...(command === 'approve' ? ['--yes'] : []), ...extra, '--json', '--store', store]);
    expect(run.code, run.stderr).toBe(0);
    return run.json as { client_id: string; status: string };
  };

  beforeAll(async () => {
    server = await sharedTestServer();
    browser = await launchBrowser();
    pages = pageOpener(() => browser);
    jana = await enrolPerson(server, { given_name: 'Jana', family_name: 'Testová' }, 'Janin Pixel');
    // A second key of hers, enrolled with a second activation code.
    const issued = await fetch(`${server.url}/admin/identities/${jana.sub}/activation-codes`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.secrets.ADMIN_TOKEN}` },
    });
    const { activation_code } = (await issued.json()) as { activation_code: string };
    tabletStore = join(mkdtempSync(join(tmpdir(), 'mobile-key-account-')), 'tablet.json');
    const enrolled = await keyCli(['enroll', '--activation-code', activation_code, '--name', 'Tablet', '--server', server.url, '--store', tabletStore, '--json']);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    tabletId = (enrolled.json as { device_id: string }).device_id;
  });
  afterAll(async () => {
    await pages?.closeAll();
    await browser?.close();
    await server?.stop();
  });

  it('logs in with a key; keys with last use; rename; last-key warning; disconnect; history and consents', async () => {
    // Before: the demo service, once approved by the tablet with "always", once denied by the phone.
    const demo = await pages.open(DESKTOP);
    await startAtDemo(demo, server);
    expect((await answer(demo, tabletStore, 'approve', ['--consent', 'always'])).status).toBe('approved');
    await demo.waitForURL(/\/demo\/callback/);
    const other = await pages.open(DESKTOP);
    await startAtDemo(other, server);
    expect((await answer(other, jana.storePath, 'deny')).status).toBe('denied');

    const page = await pages.open(DESKTOP);
    const problems = await watchProblems(page);
    await page.goto(`${server.url}/account`);
    await saveScreenshot(page, 'account-login');
    await page.click('#account-login');
    await page.waitForURL(LOGIN_PATH);
    expect((await answer(page, jana.storePath, 'approve')).client_id).toBe('account');
    await page.waitForURL(/\/account$/);
    expect(await page.textContent('#person')).toBe('Jana Testová');

    const row = (id: string) => page.locator(`tr[data-device="${id}"]`);
    const phoneRow = row(jana.store.device_id);
    expect(await phoneRow.locator('.key-name').textContent()).toBe('Janin Pixel');
    expect(await phoneRow.locator('.this-key').count()).toBe(1);
    expect(await row(tabletId).locator('.last-used').textContent()).not.toContain('dosud nepoužit');
    expect(await row(tabletId).locator('.status').textContent()).toBe('aktivní');
    await saveScreenshot(page, 'account-keys');

    await row(tabletId).locator('input[name=name]').fill('Tablet v obýváku');
    await row(tabletId).getByRole('button', { name: 'Přejmenovat' }).click();
    await page.waitForSelector('#notice');
    expect(await page.textContent('#notice')).toBe('Klíč byl přejmenován.');
    expect(await row(tabletId).locator('.key-name').textContent()).toBe('Tablet v obýváku');

    await row(tabletId).getByRole('button', { name: 'Odpojit' }).click();
    await page.waitForSelector('#notice');
    expect(await page.textContent('#notice')).toContain('Klíč byl odpojen');
    expect(await row(tabletId).locator('.status').textContent()).toBe('odpojen');
    expect(await row(tabletId).getByRole('button').count()).toBe(0);

    // The phone is now the last key: disconnecting it warns first.
    await phoneRow.getByRole('button', { name: 'Odpojit' }).click();
    await page.waitForSelector('#last-key');
    expect(await page.textContent('#last-key')).toContain('jen s novým aktivačním kódem');
    await saveScreenshot(page, 'account-last-key');
    await page.getByRole('link', { name: 'Zpět' }).click();
    await page.waitForURL(/\/account$/);
    expect(await phoneRow.locator('.status').textContent()).toBe('aktivní');

    await page.click('a[href="/account/history"]');
    const outcomes = await page.locator('#history tbody tr').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-client'), r.getAttribute('data-outcome'), r.querySelector('.key')?.textContent, r.querySelector('.browser')?.textContent]),
    );
    expect(outcomes.slice(0, 3)).toEqual([
      ['account', 'approved', 'Janin Pixel', expect.stringMatching(/Chrome \d+, Linux/)],
      ['demo', 'denied', 'Janin Pixel', expect.stringMatching(/Chrome \d+, Linux/)],
      ['demo', 'approved', 'Tablet v obýváku', expect.stringMatching(/Chrome \d+, Linux/)],
    ]);
    await saveScreenshot(page, 'account-history');

    await page.click('a[href="/account/consents"]');
    const consent = page.locator('#consents tr[data-client="demo"]');
    expect(await consent.getAttribute('data-kind')).toBe('always');
    expect(await consent.locator('.claims').textContent()).toContain('E-mailová adresa');
    await saveScreenshot(page, 'account-consents');
    await consent.getByRole('button', { name: 'Odvolat' }).click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#consents tr[data-client="demo"]').count()).toBe(0);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/account`);
    await saveScreenshot(page, 'account-keys-phone');
    expect(problems, problems.join("\n")).toEqual([]);
  });
});
