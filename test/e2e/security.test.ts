/** Review findings that need a real process or browser (issue 14; docs/security.md). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newContext } from './browser.ts';
import { runCli } from './cli-run.ts';
import { registerRp, startLogin, type FlowServer, type RpClient } from './flow.ts';
import { startAtDemo } from './page-kit.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

describe('review 9: operator CLI over plain http', () => {
  it('refuses a non-loopback http --server before sending the token', async () => {
    const run = await runCli('admin', ['devices', 'sub_x', '--server', 'http://login.invalid', '--json'], { ADMIN_TOKEN: 'secret-token' });
    expect(run.code).toBe(2);
    expect(run.json).toMatchObject({ error: 'usage' });
    expect(run.stderr).toContain('must use https');
    expect(run.stderr).not.toContain('secret-token');
  });
});

/**
 * Login fixation: the attacker starts a login, then makes the victim's browser carry the
 * attacker's binding cookie, so the real page (QR and all) shows in the victim's browser while
 * the attacker's browser receives the approval. Here a sibling origin — another port on
 * localhost — tries to plant the cookie. (A sibling on the same host that sends a fully
 * conforming `__Host-` cookie is not stopped: cookies ignore ports; docs/security.md.)
 */
describe('review 2: a binding cookie planted from another origin binds nothing (Chromium)', () => {
  let server: RunningServer;
  let browser: Browser;
  let rp: RpClient;
  let sibling: Server;
  let plant: string[] = [];

  beforeAll(async () => {
    sibling = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Set-Cookie': plant });
      res.end('<!doctype html><title>sibling</title><p>planted</p>');
    });
    await new Promise<void>((resolve) => sibling.listen(0, '127.0.0.1', resolve));
    [server, browser] = await Promise.all([sharedTestServer(), launchBrowser()]);
    const flow: FlowServer = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
    rp = await registerRp(flow);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    sibling?.close();
  });

  it('the victim sees "another browser", not the attacker\'s QR', async () => {
    const attacker = await startLogin(server, rp); // the attacker's own browser, holding its cookie
    const [name, value] = attacker.cookie.split('=') as [string, string];
    const unprefixed = name.replace(/^__Host-/, '');
    const siblingPort = (sibling.address() as AddressInfo).port;
    plant = [
      // What a sibling could plant before: the old, unprefixed name scoped to the login's path.
      `${unprefixed}=${value}; Path=/login/${attacker.loginId}`,
      // The prefixed name as a sibling subdomain or a careless sibling would send it: refused by the browser.
      `${name}=${value}; Path=/; Domain=localhost; Secure`,
      `${name}=${value}; Path=/login/${attacker.loginId}; Secure`,
      `${name}=${value}; Path=/`,
    ];
    const context = await newContext(browser);
    const victim = await context.newPage();
    await victim.goto(`http://localhost:${siblingPort}/`);
    expect(await victim.textContent('p')).toBe('planted');

    const stored = await context.cookies(server.url);
    expect(stored.some((c) => c.name === name)).toBe(false); // Chromium refused every __Host- plant
    // The unprefixed plant did land in the victim's jar for our host (cookies ignore ports):
    // under the old cookie name it would have bound the victim's browser to the attacker's login.
    expect(await context.cookies(`${server.url}/login/${attacker.loginId}`)).toContainEqual(
      expect.objectContaining({ name: unprefixed, value }),
    );

    const res = await victim.goto(`${server.url}/login/${attacker.loginId}`);
    expect(res?.status()).toBe(403);
    expect(await victim.textContent('h1')).toBe('Přihlášení probíhá v jiném prohlížeči');
    expect(await victim.locator('svg[data-qr]').count()).toBe(0);
    await context.close();
  });

  it('the genuine cookie, set by our origin over http://localhost, binds the browser that started the login', async () => {
    // Chromium treats http://localhost as a secure context, so it keeps Secure __Host- cookies.
    const context = await newContext(browser);
    const page = await context.newPage();
    const id = await startAtDemo(page, server);
    expect(await page.locator('svg[data-qr]').count()).toBe(1);
    const cookies = await context.cookies(server.url);
    expect(cookies.find((c) => c.name === `__Host-mk_login_${id.slice(0, 16)}`)).toMatchObject({ path: '/', secure: true, httpOnly: true });
    await context.close();
  });
});
