import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerLogin, scanLogin } from '../../cli/lib/mobile-client.ts';
import { DESKTOP, launchBrowser, readQrFromScreen } from './browser.ts';
import { DEMO_CALLBACK, enrolPerson, pageOpener, startAtDemo, textOf as text, waitForState, watchProblems, type KeyHolder } from './page-kit.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

const SERVICE = 'Demo relying service';

/**
 * Every way back to the service in Chromium (issue 11): "Cancel and return" on an open login,
 * with and without JavaScript, and "Back to <service>" after a denial; the demo relying service
 * (oauth4webapi) shows the error it received.
 */
describe('hosted login page in Chromium: the way back to the service', () => {
  let server: RunningServer;
  let browser: Browser;
  let person: KeyHolder;
  const pages = pageOpener(() => browser);

  beforeAll(async () => {
    server = sharedTestServer();
    browser = await launchBrowser();
    person = await enrolPerson(server, { given_name: 'Eva', family_name: 'Malá' }, 'Evin telefon');
  });
  afterAll(async () => {
    await pages.closeAll();
    await browser?.close();
    await server?.stop();
  });

  it('"Cancel and return" takes the browser back with access_denied; the phone that scanned is told', async () => {
    const page = await pages.open(DESKTOP);
    const problems = await watchProblems(page);
    await startAtDemo(page, server);
    const scan = await scanLogin({ loginUrl: await readQrFromScreen(page), store: person.store });
    await waitForState(page, 'scanned');
    await page.getByRole('button', { name: `Zrušit a vrátit se do služby ${SERVICE}` }).click();
    await page.waitForURL(DEMO_CALLBACK);
    expect(await text(page, '#error')).toBe('access_denied');
    const url = new URL(page.url());
    expect(url.searchParams.get('error_description')).toBe('the person cancelled the login');
    expect(url.searchParams.get('iss')).toBe(server.url);
    await expect(
      answerLogin({ server: scan.server, loginId: scan.loginId, nonce: scan.context.nonce, decision: 'approve', store: person.store }),
    ).rejects.toMatchObject({ code: 'login-cancelled', status: 409 });
    // The demo answers an error callback with a 400, which Chromium logs; nothing else may complain.
    expect(problems.filter((p) => !/status of 400/.test(p)), problems.join('\n')).toEqual([]);
  });

  it('without JavaScript, "Cancel and return" is a plain form that still reaches the service', async () => {
    const page = await pages.open(DESKTOP, { javaScriptEnabled: false });
    await startAtDemo(page, server, { scripts: false });
    await page.getByRole('button', { name: `Zrušit a vrátit se do služby ${SERVICE}` }).click();
    await page.waitForURL(DEMO_CALLBACK);
    expect(await text(page, '#error')).toBe('access_denied');
  });

  it('after a denial, "Back to <service>" sits beside "Start again" and returns access_denied', async () => {
    const page = await pages.open(DESKTOP);
    await startAtDemo(page, server);
    const scan = await scanLogin({ loginUrl: await readQrFromScreen(page), store: person.store });
    await answerLogin({ server: scan.server, loginId: scan.loginId, nonce: scan.context.nonce, decision: 'deny', store: person.store });
    await waitForState(page, 'denied');
    expect(await page.getByRole('button', { name: 'Začít znovu' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /^Zrušit/ }).count()).toBe(0);
    await page.getByRole('button', { name: `Zpět do služby ${SERVICE}` }).click();
    await page.waitForURL(DEMO_CALLBACK);
    expect(await text(page, '#error')).toBe('access_denied');
    expect(new URL(page.url()).searchParams.get('error_description')).toBe('the person declined the login');
  });
});
