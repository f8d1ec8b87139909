/**
 * Helpers for the mobile key web app's browser tests (test/e2e/app*.test.ts): identities and
 * activation codes from the operator API, enrolment through the app's form, the demo relying
 * service's login, the key's flags read from IndexedDB, and a Y4M "camera video" of a QR code.
 */
import { writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { saveScreenshot } from './browser.ts';
import { PNG } from 'pngjs';
import type { RunningServer } from './server.ts';

/** What `POST /admin/identities` (src/identity/admin.ts) answers with. */
export interface IssuedIdentity {
  sub: string;
  activation_code: string;
  activation_url: string;
  /** Epoch milliseconds. */
  expires_at: number;
}

/**
 * Creates an identity with the operator API and returns its first activation code.
 * @throws {Error} when the API does not answer 201.
 */
export async function createIdentity(server: RunningServer, givenName: string, familyName: string): Promise<IssuedIdentity> {
  const res = await fetch(`${server.url}/admin/identities`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.secrets.ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ given_name: givenName, family_name: familyName }),
  });
  if (res.status !== 201) throw new Error(`POST /admin/identities: ${res.status} ${await res.text()}`);
  return (await res.json()) as IssuedIdentity;
}

/** The devices the operator API lists for an identity (`GET /admin/identities/:sub/devices`); `revoked_at` in epoch ms or null. */
export async function listDevices(
  server: RunningServer,
  sub: string,
): Promise<{ device_id: string; name: string; revoked_at: number | null }[]> {
  const res = await fetch(`${server.url}/admin/identities/${sub}/devices`, {
    headers: { Authorization: `Bearer ${server.secrets.ADMIN_TOKEN}` },
  });
  if (!res.ok) throw new Error(`GET devices: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { devices: { device_id: string; name: string; revoked_at: number | null }[] }).devices;
}

/**
 * Enrols the web app in `page`'s browser context the way a person does: opens the enrolment
 * screen, types the activation code and a device name, presses "Připojit klíč", confirms whose
 * key it becomes and waits for "Mobilní klíč je připojen". Czech UI (the contexts' locale is cs-CZ).
 */
export async function enrolInApp(page: Page, baseUrl: string, activationCode: string, deviceName: string): Promise<void> {
  await page.goto(`${baseUrl}/key/enrol`);
  await page.getByLabel('Zadejte aktivační kód').fill(activationCode);
  await page.getByLabel('Název zařízení').fill(deviceName);
  await page.getByRole('button', { name: 'Připojit klíč' }).click();
  // Whose key it becomes is shown first; the person confirms it is them.
  await page.locator('main[data-screen=enrol][data-state=confirm]').waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Ano, jsem to já – připojit klíč' }).click();
  await page.locator('main[data-screen=enrol][data-state=done]').waitFor({ timeout: 15_000 });
  expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Mobilní klíč je připojen');
}

/**
 * Starts a login at the demo relying service in `page`: /demo → "Log in with the mobile key" →
 * /authorize → the hosted login page, waiting until it is pending and hydrated.
 * @returns the login page's URL.
 */
export async function startDemoLogin(page: Page, baseUrl: string): Promise<string> {
  await page.goto(`${baseUrl}/demo`);
  await page.getByRole('button', { name: 'Log in with the mobile key' }).click();
  await page.waitForURL(/\/login\/[0-9a-f]{64}$/);
  await page.locator('[data-login][data-state=pending][data-hydrated]').waitFor();
  return page.url();
}

/** `privateKey.extractable` of every key the app stored in IndexedDB (docs/mobile-web-app.md). */
export function storedKeysExtractable(page: Page): Promise<boolean[]> {
  return page.evaluate(
    () =>
      new Promise<boolean[]>((resolve, reject) => {
        const open = indexedDB.open('mobile-key');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction('keys').objectStore('keys').getAll();
          all.onerror = () => reject(all.error);
          all.onsuccess = () =>
            resolve(all.result.map((k: { keyPair: CryptoKeyPair }) => k.keyPair.privateKey.extractable));
        };
      }),
  );
}

/**
 * Writes a Y4M video (YUV4MPEG2, 4:2:0, `frames` identical frames at 10 fps) of a PNG centred
 * on a white 640×480 picture, for Chromium's `--use-file-for-fake-video-capture`: the "camera"
 * then films the QR code. The PNG is scaled down (nearest neighbour) to fit when it is larger.
 */
export function writeQrVideo(png: Buffer, file: string, frames = 10): void {
  const image = PNG.sync.read(png);
  const W = 640;
  const H = 480;
  const luma = Buffer.alloc(W * H, 255);
  const scale = Math.min(1, 440 / Math.max(image.width, image.height));
  const w = Math.floor(image.width * scale);
  const h = Math.floor(image.height * scale);
  const left = (W - w) >> 1;
  const top = (H - h) >> 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 4;
      // BT.601 luma; the chroma planes stay neutral (grey), which is all a QR needs.
      luma[(top + y) * W + left + x] = Math.round(0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < frames; f++) parts.push(Buffer.from('FRAME\n'), luma, chroma, chroma);
  writeFileSync(file, Buffer.concat(parts));
}

/** The demo's final page: "Hello, <name>" once the relying service has the person's claims. */
export async function expectLoggedInAtDemo(page: Page, name: string): Promise<void> {
  await page.waitForURL(/\/demo\/callback\?/, { timeout: 20_000 });
  expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(`Hello, ${name}`);
}

/**
 * Saves a screenshot (see saveScreenshot) of the whole screen as a person sees it when scrolled
 * through: the viewport is made as tall as the page for the shot (a plain full-page screenshot
 * leaves the sticky Approve/Deny bar at the first viewport's bottom, over the content).
 */
export async function saveScreen(page: Page, name: string): Promise<string> {
  const viewport = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  if (height <= viewport.height) return saveScreenshot(page, name);
  await page.setViewportSize({ width: viewport.width, height });
  try {
    return await saveScreenshot(page, name);
  } finally {
    await page.setViewportSize(viewport);
  }
}
