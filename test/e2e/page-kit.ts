/**
 * Helpers for the hosted login page's browser tests (test/e2e/page*.test.ts): a person with an
 * enrolled mobile key, the real key CLI as a child process, a login started at the demo relying
 * service, and what a browser reports as going wrong (console errors, CSP violations).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page, WebSocketRoute } from 'playwright-core';
import { PNG } from 'pngjs';
import { enrol, type KeyStore } from '../../cli/lib/mobile-client.ts';
import { writeStore } from '../../cli/lib/store.ts';
import { newContext } from './browser.ts';
import { runCli, type CliRun } from './cli-run.ts';
import type { RunningServer } from './server.ts';


/** A login page's path; group 1 is the login id (64 lowercase hex). */
export const LOGIN_PATH = /\/login\/([0-9a-f]{64})$/;
/** The login page's own WebSocket (`/login/:id/ws`). */
export const PAGE_SOCKET = /\/login\/[0-9a-f]{64}\/ws$/;
/** Where the demo relying service lands after a login. */
export const DEMO_CALLBACK = /\/demo\/callback\?/;

/** Opens pages, each in its own browser context (own cookies); `closeAll()` in `afterAll`. */
export function pageOpener(browser: () => Browser) {
  const contexts: BrowserContext[] = [];
  return {
    /** A fresh page with a device profile (DESKTOP, PHONE) and extra options; 15 s default waits. */
    async open(profile: BrowserContextOptions, extra: BrowserContextOptions = {}): Promise<Page> {
      const context = await newContext(browser(), { ...profile, ...extra });
      context.setDefaultTimeout(15_000);
      contexts.push(context);
      return context.newPage();
    },
    async closeAll(): Promise<void> {
      await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    },
  };
}

/** The trimmed text of the first element matching `selector`. */
export async function textOf(page: Page, selector: string): Promise<string | undefined> {
  return (await page.locator(selector).first().textContent())?.trim();
}

/**
 * Routes the page's WebSocket through to the server, so a test can cut it (`cut()`: closes the
 * open ones and refuses new ones, which the page sees as a close without an open) and bring
 * it back (`control.refuse = false`). `control.opened` lists every socket that got through.
 * Call before the first navigation.
 */
export async function controlSocket(page: Page) {
  const control = { refuse: false, opened: [] as WebSocketRoute[] };
  await page.routeWebSocket(PAGE_SOCKET, async (ws) => {
    if (control.refuse) return ws.close();
    control.opened.push(ws);
    ws.connectToServer();
  });
  return {
    control,
    cut: async () => {
      control.refuse = true;
      await Promise.all(control.opened.map((ws) => ws.close()));
    },
  };
}

/** A person created through the operator API, holding a mobile key enrolled for them. */
export interface KeyHolder {
  sub: string;
  store: KeyStore;
  /** The key store file (mode 0600) the CLI reads with `--store`. */
  storePath: string;
}

/**
 * Creates an identity with `POST /admin/identities` and enrols a fresh device key with its
 * activation code (`enrol()` from the reference key's core), saving the store for the CLI.
 * @param deviceName the enrolled device's name (the phone's own screens show it; the login page never does).
 * @throws {Error} when the operator API refuses.
 */
export async function enrolPerson(
  server: RunningServer,
  person: { given_name: string; family_name: string },
  deviceName: string,
): Promise<KeyHolder> {
  const res = await fetch(`${server.url}/admin/identities`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.secrets.ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(person),
  });
  const body = (await res.json()) as { sub: string; activation_code: string };
  if (res.status !== 201 && res.status !== 200) throw new Error(`POST /admin/identities: ${res.status} ${JSON.stringify(body)}`);
  const store = await enrol({ server: server.url, activationCode: body.activation_code, name: deviceName });
  const storePath = join(mkdtempSync(join(tmpdir(), 'mobile-key-page-')), 'key.json');
  writeStore(storePath, store, false);
  return { sub: body.sub, store, storePath };
}

/** Runs the reference key CLI (`node cli/key.ts …`, as `npm run -s key -- …`) to completion. */
export function keyCli(args: string[]): Promise<CliRun> {
  return runCli('key', args);
}

/**
 * Starts a login the way a person does: the demo relying service's page, its "Log in with the
 * mobile key" button, through /authorize to the hosted page.
 * @param options.scripts false for a page without JavaScript (no `data-hydrated` to wait for).
 * @returns the login id from the page's URL.
 */
export async function startAtDemo(page: Page, server: RunningServer, options: { scripts?: boolean } = {}): Promise<string> {
  await page.goto(`${server.url}/demo`);
  await page.getByRole('button', { name: 'Log in with the mobile key' }).click();
  if (options.scripts === false) {
    // `/authorize` answers with the page itself; without scripts the address bar stays there.
    await page.waitForSelector('[data-login][data-state="pending"]');
    return embeddedLoginId(page);
  }
  // The page's script moves the address bar to the page's own address.
  await page.waitForURL(LOGIN_PATH);
  await page.waitForSelector('[data-login][data-hydrated]');
  return LOGIN_PATH.exec(new URL(page.url()).pathname)![1]!;
}

/** The login id of the page on screen, from the snapshot it embeds for its script (`#login-state`). */
export function embeddedLoginId(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(document.getElementById('login-state')!.textContent!) as { snapshot: { id: string } }).snapshot.id);
}

/** Waits (bounded by the page's default timeout) until the login card shows `state`. */
export async function waitForState(page: Page, state: string, timeout?: number): Promise<void> {
  await page.waitForSelector(`[data-login][data-state="${state}"]`, timeout ? { timeout } : {});
}

/**
 * Records what a person's browser would complain about: console errors (a CSP violation is
 * one, and the page also reports `securitypolicyviolation` events to the console) and
 * uncaught exceptions. Call before the first navigation.
 * @returns the list, growing as the page runs.
 */
export async function watchProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    // Chromium asks for /favicon.ico by itself on pages without an icon link (the demo RP's).
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return problems;
}

/** A count of a screenshot's pixels by colour class. */
export interface PixelCensus {
  black: number;
  white: number;
  other: number;
  /** Pixels of the quiet zone (the 4-module margin) that are not white. */
  quietZoneNotWhite: number;
}

/**
 * Takes a full-page screenshot and sorts the pixels inside the QR code's box: pure dark (every
 * channel ≤ 16), pure white (every channel ≥ 239) or anything else; and checks that the quiet
 * zone — the outer `quietModules` modules — is white. The box is rounded inwards to whole
 * device pixels, so its fractional edges (blended with whatever is around) are left out.
 * @param quietModules the quiet zone's width in modules.
 */
export async function qrPixelCensus(page: Page, quietModules: number): Promise<PixelCensus> {
  const svg = page.locator('svg[data-qr]');
  const modules = Number((await svg.getAttribute('viewBox'))!.split(' ')[2]);
  const box = await svg.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height, innerWidth };
  });
  const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
  const scale = png.width / box.innerWidth; // device pixels per CSS pixel
  const [x0, y0] = [Math.ceil(box.x * scale), Math.ceil(box.y * scale)];
  const [x1, y1] = [Math.floor((box.x + box.width) * scale), Math.floor((box.y + box.height) * scale)];
  const moduleSize = (box.width * scale) / modules;
  // Half a module inside the zone's edge, away from the modules' own edges.
  const quiet = (quietModules - 0.5) * moduleSize;
  const census: PixelCensus = { black: 0, white: 0, other: 0, quietZoneNotWhite: 0 };
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      const kind = r <= 16 && g <= 16 && b <= 16 ? 'black' : r >= 239 && g >= 239 && b >= 239 ? 'white' : 'other';
      census[kind] += 1;
      const inQuietZone = x - x0 < quiet || y - y0 < quiet || x1 - x <= quiet || y1 - y <= quiet;
      if (inQuietZone && kind !== 'white') census.quietZoneNotWhite += 1;
    }
  }
  return census;
}

/** The colour of one screenshot pixel at CSS position (x, y), as [r, g, b]. */
export async function pixelAt(page: Page, x: number, y: number): Promise<[number, number, number]> {
  const png = PNG.sync.read(await page.screenshot({ clip: { x, y, width: 1, height: 1 }, scale: 'css' }));
  return [png.data[0]!, png.data[1]!, png.data[2]!];
}

/**
 * Stops the page's own navigation to `/login/<id>/continue` (where an approved login goes on
 * to the relying service) with a 204 No Content, which a browser treats as "stay on this
 * page", so the "approved, continuing" state can be looked at. The request never reaches the
 * server. `reached` resolves once the page tried to continue; `release()` lets later requests
 * (e.g. the page's "Continue" link) through to the server.
 */
export async function stopContinue(page: Page, id: string): Promise<{ reached: Promise<void>; release(): Promise<void> }> {
  const pattern = new RegExp(`/login/${id}/continue(\\?|$)`);
  let reachedResolve!: () => void;
  const reached = new Promise<void>((resolve) => (reachedResolve = resolve));
  await page.route(pattern, async (route) => {
    reachedResolve();
    await route.fulfill({ status: 204 });
  });
  return { reached, release: () => page.unroute(pattern) };
}
