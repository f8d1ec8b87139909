/**
 * Browser helpers for end-to-end tests: Debian's Chromium driven by playwright-core, QR codes
 * read back from screenshots (as a phone camera would, not from the DOM), and screenshots saved
 * under test-results/screenshots/ on every run — and under docs/screenshots/ only when
 * `UPDATE_SCREENSHOTS=1` asks for the published ones to be refreshed on purpose.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where every run's screenshots go (ignored by git). */
export const SCREENSHOTS = new URL('../../test-results/screenshots/', import.meta.url).pathname;
/** The published screenshots (README links them), written only with `UPDATE_SCREENSHOTS=1`. */
export const PUBLISHED_SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;

/** Flags for headless Chromium on a machine with no network and no GPU. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Launches headless Chromium; pass extra args (e.g. fake camera flags). */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 };
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
};

/** A new isolated browser context (its own cookies) with the given device profile. */
export function newContext(browser: Browser, profile: BrowserContextOptions = DESKTOP): Promise<BrowserContext> {
  return browser.newContext({ locale: 'cs-CZ', ...profile });
}

/**
 * Reads the QR code visible on the page from a screenshot, as a camera would.
 * @returns the decoded text.
 * @throws {Error} when no QR code is found in the screenshot.
 */
export async function readQrFromScreen(page: Page): Promise<string> {
  // The login QR alone when there is one: a small image decodes in a fraction of the time of the
  // whole page, and its frames are accepted for 3 s only (src/session/rotation.ts).
  const qr = page.locator('svg[data-qr]');
  const shot = (await qr.count()) === 1 ? await qr.screenshot() : await page.screenshot({ fullPage: true });
  const png = PNG.sync.read(shot);
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  if (!code) throw new Error('no QR code found in a screenshot of the page');
  return code.data;
}

/**
 * Waits until the page's QR shows a new frame (it rotates every second while the page's
 * WebSocket is live, src/session/rotation.ts), then reads it off the screen: the frame is then
 * as young as it gets, for a phone (or a CLI that takes a moment to start) to send in time.
 * @param timeoutMs how long to wait for the change.
 */
export async function readNextQrFromScreen(page: Page, timeoutMs = 5000): Promise<string> {
  const before = await page.locator('svg[data-qr] path').getAttribute('d');
  await page.waitForFunction((d) => document.querySelector('svg[data-qr] path')?.getAttribute('d') !== d, before, { timeout: timeoutMs });
  return readQrFromScreen(page);
}

/**
 * Saves a screenshot as test-results/screenshots/<name>.png, and copies it to
 * docs/screenshots/ when `UPDATE_SCREENSHOTS=1`.
 * @returns the path under test-results/.
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(PUBLISHED_SCREENSHOTS, { recursive: true });
    copyFileSync(path, join(PUBLISHED_SCREENSHOTS, `${name}.png`));
  }
  return path;
}
