import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchBrowser, readNextQrFromScreen, readQrFromScreen, saveScreenshot } from './browser.ts';
import { runCli } from './cli-run.ts';
import { enrolPerson, keyCli, LOGIN_PATH, pageOpener, watchProblems, type KeyHolder } from './page-kit.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

/** Screenshots: test-results/screenshots/, and docs/screenshots/ with UPDATE_SCREENSHOTS=1 (saveScreenshot). */
async function shot(page: Page, name: string): Promise<void> {
  await saveScreenshot(page, name);
}

describe('operator console in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let pages: ReturnType<typeof pageOpener>;
  let admin: KeyHolder;
  let clerk: KeyHolder;

  const grant = async (sub: string, role: string) => {
    const run = await runCli('admin', ['operator', 'grant', sub, '--role', role, '--server', server.url, '--json'], { ADMIN_TOKEN: server.secrets.ADMIN_TOKEN });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ sub, role });
  };

  /** Logs in to the console: the start page, our /authorize, the QR read from the screen, approved with the key CLI. */
  const login = async (page: Page, holder: KeyHolder) => {
    await page.goto(`${server.url}/console`);
    await page.click('#console-login');
    await page.waitForURL(LOGIN_PATH);
    await page.waitForSelector('[data-login][data-hydrated]');
    const approved = await keyCli(['approve', await readNextQrFromScreen(page), '--yes', '--json', '--store', holder.storePath]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.json.client_id).toBe('console');
    await page.waitForURL(/\/console\/counter$/);
  };

  beforeAll(async () => {
    server = await sharedTestServer();
    browser = await launchBrowser();
    pages = pageOpener(() => browser);
    admin = await enrolPerson(server, { given_name: 'Alena', family_name: 'Správcová' }, 'Alenin telefon');
    clerk = await enrolPerson(server, { given_name: 'Karel', family_name: 'Úředník' }, 'Karlův telefon');
    await grant(admin.sub, 'admin');
    await grant(clerk.sub, 'clerk');
  });
  afterAll(async () => {
    await pages?.closeAll();
    await browser?.close();
    await server?.stop();
  });

  it('a clerk creates a person and issues a code; a key enrols with the code read from the slip’s QR; the clerk cannot open admin pages', async () => {
    const page = await pages.open(DESKTOP);
    const problems = await watchProblems(page);
    await login(page, clerk);
    expect(await page.locator('nav').textContent()).not.toContain('Služby');
    await page.fill('#create-person [name=given_name]', 'Petra');
    await page.fill('#create-person [name=family_name]', 'Nová');
    await page.fill('#create-person [name=birthdate]', '1992-05-17');
    await page.fill('#create-person [name=email]', 'petra.nova@example.cz');
    await page.click('#create-person button[type=submit]');
    await page.waitForSelector('#slip');
    const shown = (await page.textContent('#activation-code'))!.trim();
    expect(shown).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    await shot(page, 'console-slip');
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('header.bar').isVisible()).toBe(false);
    await shot(page, 'console-slip-print');
    await page.emulateMedia({ media: 'screen' });

    // A phone camera reads the slip's QR: the activation link with the code.
    const link = new URL(await readQrFromScreen(page));
    expect(`${link.origin}${link.pathname}`).toBe(`${server.url}/key/enrol`);
    expect(link.hash.slice(1)).toBe(shown);
    const store = join(mkdtempSync(join(tmpdir(), 'mobile-key-console-')), 'key.json');
    const enrolled = await keyCli(['enroll', '--activation-code', link.hash.slice(1), '--name', 'Petřin telefon', '--server', server.url, '--store', store, '--json']);
    expect(enrolled.code, enrolled.stderr).toBe(0);

    // The clerk finds her again and sees the key.
    await page.goto(`${server.url}/console/counter?name=Nov&birthdate=1992-05-17`);
    await page.click('#results a');
    expect(await page.locator('#keys').textContent()).toContain('Petřin telefon');
    await shot(page, 'console-person');

    for (const path of ['/console/clients', '/console/audit', '/console/figures']) {
      const res = await page.goto(`${server.url}${path}`);
      expect(res?.status(), path).toBe(403);
      expect(await page.textContent('#message')).toContain('nemáte oprávnění');
    }
    // The three refusals above are the only complaints (the browser logs each 403).
    expect(problems.filter((p) => !p.includes('status of 403'))).toEqual([]);
    expect(problems).toHaveLength(3);
  });

  it('an admin registers a relying service that then completes a login; the audit and live figures show it', async () => {
    const page = await pages.open(DESKTOP, { locale: 'en-US' });
    const problems = await watchProblems(page);
    await login(page, admin);
    await page.goto(`${server.url}/console/figures`);
    const startedBefore = Number(await page.textContent('[data-figure=started]'));

    const rpPage = await pages.open(DESKTOP);
    const adminTab = await pages.open(DESKTOP, { locale: 'en-US' });
    await login(adminTab, admin);
    await adminTab.goto(`${server.url}/console/clients`);
    const redirectUri = 'https://library.example/callback';
    await adminTab.fill('#register-client [name=name]', 'City library');
    await adminTab.fill('#register-client [name=redirect_uris]', redirectUri);
    await adminTab.fill('#register-client [name=post_logout_redirect_uris]', 'https://library.example/bye');
    await adminTab.fill('#register-client [name=backchannel_logout_uri]', 'https://library.example/backchannel');
    await shot(adminTab, 'console-clients');
    await adminTab.click('#register-client button[type=submit]');
    const clientId = (await adminTab.textContent('#client-id'))!.trim();
    const secret = (await adminTab.textContent('#client-secret'))!.trim();
    await shot(adminTab, 'console-client-registered');
    await adminTab.goto(`${server.url}/console/clients/${clientId}`);
    expect(await adminTab.inputValue('#edit-client [name=backchannel_logout_uri]')).toBe('https://library.example/backchannel');
    expect(await adminTab.inputValue('#edit-client [name=post_logout_redirect_uris]')).toBe('https://library.example/bye');
    await shot(adminTab, 'console-client-edit');

    // The new service logs a person in (openid-client, the browser at our /authorize).
    const config = await client.discovery(new URL(server.url), clientId, secret, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    let landed: URL | undefined;
    await rpPage.route('https://library.example/**', async (route) => {
      landed = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'library' });
    });
    await rpPage.goto(url.href);
    await rpPage.waitForSelector('[data-login][data-hydrated]');
    expect(await rpPage.textContent('body')).toContain('City library');
    const approved = await keyCli(['approve', await readNextQrFromScreen(rpPage), '--yes', '--json', '--store', clerk.storePath]);
    expect(approved.code, approved.stderr).toBe(0);
    await expect.poll(() => landed?.searchParams.get('code') ?? null, { timeout: 15_000 }).not.toBeNull();
    const tokens = await client.authorizationCodeGrant(config, landed!, { expectedState: state, pkceCodeVerifier: verifier });
    expect(tokens.claims()?.sub).toBe(clerk.sub);

    // The figures page updates itself (no reload) once the logins are in the audit.
    await page.waitForFunction((before) => Number(document.querySelector('[data-figure=started]')?.textContent) > before, startedBefore, { timeout: 30_000 });
    expect(Number(await page.textContent('[data-figure=approved]'))).toBeGreaterThanOrEqual(1);
    await shot(page, 'console-figures');

    // The audit, filtered by kind and operator, names the admin who registered it.
    await adminTab.goto(`${server.url}/console/audit?type=client.registered&operator=${admin.sub}`);
    expect(await adminTab.locator('#audit tbody').textContent()).toContain(clientId);
    await adminTab.goto(`${server.url}/console/audit?client_id=${clientId}&type=login.approved`);
    expect(await adminTab.locator('#audit tbody').textContent()).toContain(clerk.sub);
    await shot(adminTab, 'console-audit');
    expect(problems).toEqual([]);
  });
});
