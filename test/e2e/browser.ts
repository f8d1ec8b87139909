/**
 * Browser helpers for end-to-end tests: Debian's Chromium driven by playwright-core, QR codes
 * read back from screenshots (as a phone camera would, not from the DOM), and screenshots saved
 * under docs/screenshots/ for people to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;

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
  const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  if (!code) throw new Error('no QR code found in a screenshot of the page');
  return code.data;
}

/** Saves a screenshot as docs/screenshots/<name>.png (overwritten on every run). */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
