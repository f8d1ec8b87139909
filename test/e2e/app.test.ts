import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIdentity,
  enrolInApp,
  expectLoggedInAtDemo,
  listDevices,
  saveScreen,
  startDemoLogin,
  storedKeysExtractable,
  writeQrVideo,
} from './app-helpers.ts';
import { runCli } from './cli-run.ts';
import { DEMO_CALLBACK } from './page-kit.ts';
import { DESKTOP, launchBrowser, newContext, PHONE } from './browser.ts';
import { sharedTestServer, type RunningServer } from './server.ts';


/** Runs the operator CLI (`npm run -s admin -- …`) with `--json` and returns its one JSON object. */
async function adminCli(server: RunningServer, args: string[]): Promise<Record<string, unknown>> {
  const run = await runCli('admin', [...args, '--server', server.url, '--json'], { ADMIN_TOKEN: server.secrets.ADMIN_TOKEN });
  if (run.code !== 0) throw new Error(`admin ${args.join(' ')} exited ${run.code}: ${run.stdout}${run.stderr}`);
  return run.json;
}

/**
 * The mobile key web app in Debian's Chromium against `wrangler dev`: enrolment, the
 * same-device flow, the camera flow, deny and key removal, with screenshots of each screen
 * saved as app-*.png (see saveScreenshot). (Expiry needs a short login validity: app-expiry.test.ts.)
 */
describe('mobile key web app in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const extraBrowsers: Browser[] = [];
  let videoDir: string;

  beforeAll(async () => {
    videoDir = mkdtempSync(join(tmpdir(), 'mobile-key-camera-'));
    // A fake camera without a file plays Chromium's test pattern: the scan screen has a live preview.
    [server, browser] = await Promise.all([
      sharedTestServer(),
      launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']),
    ]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), ...extraBrowsers.map((b) => b.close())]);
    await server?.stop();
    if (videoDir) rmSync(videoDir, { recursive: true, force: true });
  });

  it('enrols with an activation code from the operator CLI; the key survives a reload and is non-extractable', async () => {
    const created = await adminCli(server, ['identity', 'create', '--given-name', 'Jana', '--family-name', 'Nováková']);
    const code = String(created.activation_code);
    const sub = String(created.sub);
    const context = await newContext(browser, PHONE);
    const page = await context.newPage();

    await page.goto(`${server.url}/key/`);
    await page.locator('main[data-screen=home][data-state=empty]').waitFor();
    expect(await page.getByText('V tomto zařízení zatím nemáte žádný mobilní klíč.').isVisible()).toBe(true);

    // Typed as a person might: lower case, spaces instead of dashes.
    await page.goto(`${server.url}/key/enrol`);
    await page.getByLabel('Zadejte aktivační kód').fill(code.toLowerCase().replace(/-/g, ' '));
    await page.getByLabel('Název zařízení').fill('Janin telefon');
    await saveScreen(page, 'app-enrol');
    await page.getByRole('button', { name: 'Připojit klíč' }).click();
    // Whose key it becomes, before the key is made (issue 12).
    await page.locator('main[data-screen=enrol][data-state=confirm]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-identity-name]').innerText()).toBe('Přidáváte klíč pro Jana N. – jste to vy?');
    expect(await listDevices(server, sub)).toHaveLength(0);
    await saveScreen(page, 'app-enrol-whose');
    await page.getByRole('button', { name: 'Ano, jsem to já – připojit klíč' }).click();
    await page.locator('main[data-screen=enrol][data-state=done]').waitFor({ timeout: 15_000 });
    expect(await page.locator('main').innerText()).toContain('Klíč „Janin telefon“ je uložen v tomto zařízení.');
    await saveScreen(page, 'app-enrol-done');

    // The server knows the device under the identity.
    const devices = await listDevices(server, sub);
    expect(devices.map((d) => d.name)).toEqual(['Janin telefon']);

    // After a reload the key is still listed, with the identity it belongs to.
    await page.goto(`${server.url}/key/`);
    await page.reload();
    const key = page.locator('li[data-key]');
    await page.locator('main[data-screen=home][data-state=keys]').waitFor();
    expect(await key.count()).toBe(1);
    expect(await key.getAttribute('data-device-id')).toBe(devices[0]!.device_id);
    expect(await key.locator('h3').innerText()).toBe('Janin telefon');
    expect(await key.locator('dd[data-field=sub]').innerText()).toBe(sub);
    expect(await key.locator('dd[data-field=origin]').innerText()).toBe(server.url.replace('http://', ''));
    await saveScreen(page, 'app-keys');

    // The private key cannot be read out of the browser.
    expect(await storedKeysExtractable(page)).toEqual([false]);

    // The code was used up: entering it again gets a clear message, and no second device.
    await page.goto(`${server.url}/key/enrol#${code}`);
    await page.getByLabel('Název zařízení').fill('Druhý pokus');
    await page.getByRole('button', { name: 'Připojit klíč' }).click();
    const alert = page.locator('[role=alert][data-error]');
    await alert.waitFor();
    expect(await alert.getAttribute('data-error')).toBe('activation-code-used');
    expect(await alert.innerText()).toBe('Tento aktivační kód už byl použit. Požádejte o nový.');
    expect(await listDevices(server, sub)).toHaveLength(1);
    await context.close();
  });

  it('same device on a phone: the login page’s button opens the app, the person approves, the service gets Jana', async () => {
    const identity = await createIdentity(server, 'Jana', 'Svobodová');
    const context = await newContext(browser, PHONE);
    const page = await context.newPage();
    // The activation link prefills the code and then drops it from the address bar.
    await page.goto(identity.activation_url);
    await page.getByLabel('Název zařízení').fill('Pixel 9');
    expect(page.url()).toBe(`${server.url}/key/enrol`);
    await page.getByRole('button', { name: 'Připojit klíč' }).click();
    await page.getByRole('button', { name: 'Ano, jsem to já – připojit klíč' }).click();
    await page.locator('main[data-screen=enrol][data-state=done]').waitFor({ timeout: 15_000 });

    await startDemoLogin(page, server.url);
    expect(await page.locator('[data-steps=phone]').isVisible()).toBe(true);
    const launch = page.locator('a[data-launch]');
    expect(await launch.innerText()).toContain('Spustit mobilní klíč na tomto zařízení');
    await launch.click();
    await page.waitForURL(/\/key\/login#/);

    const main = page.locator('main[data-screen=login]');
    await page.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });
    expect(await main.locator('h1').innerText()).toBe('Demo relying service žádá o přihlášení');
    const claims = await main.locator('[data-claims] li').evaluateAll((items) => items.map((li) => li.getAttribute('data-claim')));
    // The demo asks for profile, email, phone and address; this person has only a name, so only
    // the name claims are listed (what will really be released).
    expect(claims).toEqual(['name', 'given_name', 'family_name']);
    expect(await main.locator('dd[data-field=device]').innerText()).toMatch(/Chrome/);
    const secondsLeft = Number(await main.locator('[data-countdown]').getAttribute('data-seconds-left'));
    expect(secondsLeft).toBeGreaterThan(100);
    expect(secondsLeft).toBeLessThanOrEqual(180);
    await saveScreen(page, 'app-login-context');
    // The consent to what is listed: this login only by default, or always for the service.
    const consent = main.locator('[data-consent]');
    expect(await consent.locator('input[value=once]').isChecked()).toBe(true);
    await consent.getByLabel('Vždy pro tuto službu').check();

    await page.getByRole('button', { name: 'Schválit' }).click();
    await page.locator('main[data-screen=login][data-state=approved]').waitFor();
    expect(await main.locator('h1').innerText()).toBe('Přihlášení schváleno');
    expect(await main.innerText()).toContain('Přihlášení dokončíte tlačítkem „Zpět na přihlašovací stránku“.');
    await saveScreen(page, 'app-approved');

    // Back in the same tab: the login page continues to the relying service by itself.
    await page.getByRole('link', { name: 'Zpět na přihlašovací stránku' }).click();
    await expectLoggedInAtDemo(page, 'Jana Svobodová');
    // "Always" was remembered: the demo logs in again (its own login form, as its button posts
    // it) silently, with no consent page and no phone.
    await page.evaluate(`(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/demo/login';
      document.body.appendChild(form);
      form.submit();
    })()`);
    await expectLoggedInAtDemo(page, 'Jana Svobodová');
    await context.close();
  });

  it('same device: after a denial, or a cancellation by the page, the app goes back to the service with access_denied, state and iss', async () => {
    const identity = await createIdentity(server, 'Jan', 'Novák');
    const context = await newContext(browser, PHONE);
    const page = await context.newPage();
    await enrolInApp(page, server.url, identity.activation_code, 'Janův telefon');

    // Denied in the app: "Zpět do služby …" returns the browser to the demo, which shows the error.
    await startDemoLogin(page, server.url);
    await page.locator('a[data-launch]').click();
    await page.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Odmítnout' }).click();
    await page.locator('main[data-screen=login][data-state=denied]').waitFor();
    await page.getByRole('button', { name: 'Zpět do služby Demo relying service' }).click();
    await page.waitForURL(DEMO_CALLBACK);
    const denied = new URL(page.url());
    // The demo (oauth4webapi) checked state and iss before it showed the error.
    expect(await page.locator('#error').innerText()).toBe('access_denied');
    expect(denied.searchParams.get('error_description')).toBe('the person declined the login');
    expect(denied.searchParams.get('iss')).toBe(server.url);
    expect(denied.searchParams.get('state')).toEqual(expect.any(String));

    // Cancelled by the login page (as from another tab) while the app shows it: the app's answer
    // is refused, and its way back says cancelled.
    const loginPage = await startDemoLogin(page, server.url);
    const loginId = /\/login\/([0-9a-f]{64})$/.exec(loginPage)![1]!;
    await page.locator('a[data-launch]').click();
    await page.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate((id) => fetch(`/login/${id}/cancel`, { method: 'POST' }).then((r) => r.status), loginId)).toBe(200);
    await page.getByRole('button', { name: 'Schválit' }).click();
    await page.locator('main[data-screen=login][data-state=error][data-problem=login-cancelled]').waitFor();
    await page.getByRole('button', { name: 'Zpět do služby Demo relying service' }).click();
    await page.waitForURL(DEMO_CALLBACK);
    expect(await page.locator('#error').innerText()).toBe('access_denied');
    expect(new URL(page.url()).searchParams.get('error_description')).toBe('the person cancelled the login');
    await context.close();
  });

  it('camera: the app reads the desktop page’s QR from the fake camera, approves, and the desktop completes', async () => {
    const identity = await createIdentity(server, 'Petr', 'Svoboda');
    const desktop = await (await newContext(browser, DESKTOP)).newPage();
    await startDemoLogin(desktop, server.url);
    // What the camera films: a screenshot of the QR as the desktop shows it (refilmed below).
    const video = join(videoDir, 'qr.y4m');
    writeQrVideo(await desktop.locator('svg[data-qr]').screenshot(), video);

    const cameraBrowser = await launchBrowser([
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ]);
    extraBrowsers.push(cameraBrowser);
    const phone = await (await newContext(cameraBrowser, PHONE)).newPage();
    await enrolInApp(phone, server.url, identity.activation_code, 'Petrův telefon');
    // The QR changes every second and each frame is good for 3 s: film the one on the desktop now
    // (just after it changed), as a camera pointed at the screen would, and scan at once.
    const shown = await desktop.locator('svg[data-qr] path').getAttribute('d');
    await desktop.waitForFunction((d) => document.querySelector('svg[data-qr] path')?.getAttribute('d') !== d, shown);
    writeQrVideo(await desktop.locator('svg[data-qr]').screenshot(), video);
    await phone.getByRole('button', { name: 'Naskenovat QR kód' }).click();
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 20_000 });
    expect(await phone.locator('[data-client-name]').innerText()).toBe('Demo relying service');

    // The desktop page learns only that a key scanned, never which (its name is often the person's).
    await desktop.locator('[data-login][data-state=scanned]').waitFor();
    expect(await desktop.locator('[data-login]').innerText()).not.toContain('Petrův telefon');

    await phone.getByRole('button', { name: 'Schválit' }).click();
    await phone.locator('main[data-screen=login][data-state=approved]').waitFor();
    expect(await phone.locator('main').innerText()).toContain(
      'Vraťte se na přihlašovací stránku (Demo relying service), přihlášení tam bude pokračovat samo.',
    );
    await expectLoggedInAtDemo(desktop, 'Petr Svoboda');
    await cameraBrowser.close();
  });

  it('deny from the app shows on the desktop page; removing the key empties the list for good', async () => {
    const identity = await createIdentity(server, 'Eva', 'Dvořáková');
    const desktop = await (await newContext(browser, DESKTOP)).newPage();
    const phone = await (await newContext(browser, PHONE)).newPage();
    await enrolInApp(phone, server.url, identity.activation_code, 'Evin telefon');

    // The scan screen with the (fake) camera running; the login opened from its link.
    await phone.getByRole('button', { name: 'Naskenovat QR kód' }).click();
    await phone.locator('main[data-screen=scan][data-camera=on]').waitFor({ timeout: 15_000 });
    await saveScreen(phone, 'app-scan');
    await startDemoLogin(desktop, server.url);
    const loginUrl = await desktop.locator('a[data-launch]').getAttribute('href');
    await phone.getByLabel('Nebo vložte odkaz z přihlašovací stránky').fill(loginUrl!);
    await phone.getByRole('button', { name: 'Otevřít přihlášení' }).click();
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });

    // Another device than the login page's: no way back to the service from here (that is the page's).
    const asked = phone.waitForResponse((res) => /\/login\/[0-9a-f]{64}\/state$/.test(res.url()));
    await phone.getByRole('button', { name: 'Odmítnout' }).click();
    await phone.locator('main[data-screen=login][data-state=denied]').waitFor();
    expect((await asked).status()).toBe(403);
    expect(await phone.locator('[data-action=back-to-service]').count()).toBe(0);
    expect(await phone.locator('h1').innerText()).toBe('Přihlášení odmítnuto');
    expect(await phone.locator('main').innerText()).toContain(
      'Přihlášení do služby Demo relying service jste odmítli. Služba nezíská žádné údaje.',
    );
    await saveScreen(phone, 'app-denied');
    await desktop.locator('[data-login][data-state=denied]').waitFor();
    expect(await desktop.locator('#panel-heading').innerText()).toBe('Přihlášení zamítnuto');

    // Remove the key: the confirmation says it stops working, the server revokes it, the list is
    // empty and stays empty after a reload.
    await phone.getByRole('button', { name: 'Moje klíče' }).first().click();
    await phone.locator('main[data-screen=home][data-state=keys]').waitFor();
    const deviceId = (await phone.locator('li[data-key]').getAttribute('data-device-id'))!;
    await phone.getByRole('button', { name: 'Odebrat klíč Evin telefon' }).click();
    expect(await phone.locator('[data-remove=ask]').innerText()).toContain(
      'Klíč se zruší i ve službě a přestane fungovat pro přihlašování.',
    );
    await phone.getByRole('button', { name: 'Ano, odebrat' }).click();
    await phone.locator('main[data-screen=home][data-state=empty]').waitFor();
    expect(await phone.locator('li[data-key]').count()).toBe(0);
    expect(await phone.locator('[data-live-region]').innerText()).toBe('Klíč „Evin telefon“ byl zrušen a odebrán z tohoto zařízení.');
    const [device] = await listDevices(server, identity.sub);
    expect(device).toMatchObject({ device_id: deviceId, name: 'Evin telefon', revoked_at: expect.any(Number) });
    await phone.reload();
    await phone.locator('main[data-screen=home][data-state=empty]').waitFor();
    expect(await phone.locator('li[data-key]').count()).toBe(0);
    expect(await storedKeysExtractable(phone)).toEqual([]);
  });

  it('removing a key without a connection says it still works and removes it from this device only on request', async () => {
    const identity = await createIdentity(server, 'Tomáš', 'Novák');
    const context = await newContext(browser, PHONE);
    const phone = await context.newPage();
    await enrolInApp(phone, server.url, identity.activation_code, 'Tomášův telefon');
    await phone.goto(`${server.url}/key/`);
    await phone.locator('main[data-screen=home][data-state=keys]').waitFor();

    await context.setOffline(true);
    await phone.getByRole('button', { name: 'Odebrat klíč Tomášův telefon' }).click();
    await phone.getByRole('button', { name: 'Ano, odebrat' }).click();
    const alert = phone.locator('[data-remove=failed] [role=alert]');
    await alert.waitFor();
    expect(await alert.getAttribute('data-error')).toBe('network');
    expect(await alert.innerText()).toBe(
      'Nepodařilo se spojit se službou. Zkontrolujte připojení k internetu a zkuste to znovu. ' +
        'Klíč proto nebyl ve službě zrušen a pro přihlašování dál platí. Můžete ho odebrat jen z tohoto zařízení; zrušit ho pak může operátor služby.',
    );
    // Nothing changed yet: the key is still here and still valid at the service.
    expect(await phone.locator('li[data-key]').count()).toBe(1);
    expect(await listDevices(server, identity.sub)).toMatchObject([{ revoked_at: null }]);
    await saveScreen(phone, 'app-remove-offline');

    await phone.getByRole('button', { name: 'Odebrat jen z tohoto zařízení' }).click();
    await phone.locator('main[data-screen=home][data-state=empty]').waitFor();
    expect(await phone.locator('[data-live-region]').innerText()).toBe('Klíč „Tomášův telefon“ byl z tohoto zařízení odebrán.');
    expect(await storedKeysExtractable(phone)).toEqual([]);
    await context.setOffline(false);
    expect(await listDevices(server, identity.sub)).toMatchObject([{ revoked_at: null }]);

    // "Zkusit znovu" once the connection is back revokes the key after all.
    const second = await createIdentity(server, 'Tomáš', 'Druhý');
    await enrolInApp(phone, server.url, second.activation_code, 'Tomášův tablet');
    await phone.goto(`${server.url}/key/`);
    await phone.locator('main[data-screen=home][data-state=keys]').waitFor();
    await context.setOffline(true);
    await phone.getByRole('button', { name: 'Odebrat klíč Tomášův tablet' }).click();
    await phone.getByRole('button', { name: 'Ano, odebrat' }).click();
    await phone.locator('[data-remove=failed] [role=alert][data-error=network]').waitFor();
    await context.setOffline(false);
    await phone.getByRole('button', { name: 'Zkusit znovu' }).click();
    await phone.locator('main[data-screen=home][data-state=empty]').waitFor();
    expect(await phone.locator('[data-live-region]').innerText()).toBe('Klíč „Tomášův tablet“ byl zrušen a odebrán z tohoto zařízení.');
    expect(await listDevices(server, second.sub)).toMatchObject([{ name: 'Tomášův tablet', revoked_at: expect.any(Number) }]);
    await context.close();
  });

  it('without a key, offline, and on reopening a decided login the app says what happened', async () => {
    const identity = await createIdentity(server, 'Karel', 'Malý');
    const desktop = await (await newContext(browser, DESKTOP)).newPage();
    await startDemoLogin(desktop, server.url);
    const loginUrl = (await desktop.locator('a[data-launch]').getAttribute('href'))!;

    // A browser with no key: a clear message and the way to add one.
    const context = await newContext(browser, PHONE);
    const phone = await context.newPage();
    await phone.goto(loginUrl);
    await phone.locator('main[data-screen=login][data-state=no-key]').waitFor();
    expect(await phone.getByRole('alert').innerText()).toBe(
      'V tomto zařízení nemáte mobilní klíč pro tuto službu. Nejdřív ho připojte aktivačním kódem.',
    );

    await enrolInApp(phone, server.url, identity.activation_code, 'Karlův telefon');
    await phone.goto(loginUrl);
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });

    // The signal drops while approving: nothing is lost, "Zkusit znovu" gets back to the decision.
    await context.setOffline(true);
    await phone.getByRole('button', { name: 'Schválit' }).click();
    await phone.locator('main[data-screen=login][data-state=error][data-problem=network]').waitFor();
    expect(await phone.locator('[data-result=error]').innerText()).toContain(
      'Nepodařilo se spojit se službou. Zkontrolujte připojení k internetu a zkuste to znovu.',
    );
    expect(await desktop.locator('[data-login]').getAttribute('data-state')).toBe('scanned');
    await context.setOffline(false);
    await phone.getByRole('button', { name: 'Zkusit znovu' }).click();
    await phone.locator('main[data-screen=login][data-state=context]').waitFor();
    await phone.getByRole('button', { name: 'Schválit' }).click();
    await phone.locator('main[data-screen=login][data-state=approved]').waitFor();
    await expectLoggedInAtDemo(desktop, 'Karel Malý');

    // The same QR again (a second look, a reload): it cannot be approved twice.
    await phone.reload();
    await phone.locator('main[data-screen=login][data-state=error]').waitFor();
    expect(await phone.locator('main').getAttribute('data-problem')).toBe('login-decided');
    // Over, not failed: the person may have approved it a moment ago.
    expect(await phone.locator('h1').innerText()).toBe('Přihlášení už skončilo');
    expect(await phone.locator('[data-result=error]').innerText()).toContain('O tomto přihlášení už bylo rozhodnuto.');
    expect(await phone.getByRole('button', { name: 'Schválit' }).count()).toBe(0);
  });

  it('is installable: Chromium reads the manifest and reports no installability errors', async () => {
    const page = await (await newContext(browser, PHONE)).newPage();
    await page.goto(`${server.url}/key/`);
    await page.locator('main[data-screen=home]').waitFor();
    const cdp = await page.context().newCDPSession(page);
    const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[]; data?: string };
    expect(manifest.url).toBe(`${server.url}/key/manifest.webmanifest`);
    expect(manifest.errors).toEqual([]);
    expect(JSON.parse(manifest.data!)).toMatchObject({ display: 'standalone', start_url: '/key/', scope: '/key/' });
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: { errorId: string }[];
    };
    // Playwright's contexts are off the record ('in-incognito'); anything about the manifest,
    // its icons or the start URL would be another errorId.
    expect(installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito')).toEqual([]);
    await page.context().close();
  });

  it('dark colour scheme: the keys list and a login in dark', async () => {
    const identity = await createIdentity(server, 'Jan', 'Černý');
    const context = await newContext(browser, { ...PHONE, colorScheme: 'dark' });
    const page = await context.newPage();
    await enrolInApp(page, server.url, identity.activation_code, 'Janův telefon');
    await page.goto(`${server.url}/key/`);
    await page.locator('main[data-screen=home][data-state=keys]').waitFor();
    // The page really is dark, not only screenshotted in a dark browser.
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!).toBeLessThan(3 * 80);
    await saveScreen(page, 'app-keys-dark');

    const desktop = await (await newContext(browser, DESKTOP)).newPage();
    await startDemoLogin(desktop, server.url);
    await page.goto((await desktop.locator('a[data-launch]').getAttribute('href'))!);
    await page.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });
    await saveScreen(page, 'app-login-context-dark');
    await context.close();
  });
});
