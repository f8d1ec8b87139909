/**
 * Pairing and notifications against a real `wrangler dev` (issue 12): the key CLI pairs a second
 * key from an existing one and lists notifications; a login approved with one key reaches the
 * other key's push endpoint — a local HTTP server that checks VAPID and decrypts the message
 * with Node's own crypto (RFC 8291), not with our encoder.
 */
import { spawn } from 'node:child_process';
import { createECDH, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceRequestMessage } from '../../src/mobile/protocol.ts';
import type { Browser } from 'playwright-core';
import { createIdentity, enrolInApp, listDevices, saveScreen, startDemoLogin } from './app-helpers.ts';
import { DESKTOP, launchBrowser, newContext, PHONE, readQrFromScreen } from './browser.ts';
import { runCli } from './cli-run.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Starts a CLI and resolves with the first match of `pattern` in its stderr, and its completion. */
function startCli(args: string[]): { match: (pattern: RegExp) => Promise<string>; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } as unknown as NodeJS.ProcessEnv;
  const child = spawn(join(ROOT, 'node_modules/.bin/node'), ['cli/key.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners: (() => void)[] = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const l of listeners) l();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    match: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stderr);
          if (m) resolve(m[0]);
        };
        listeners.push(check);
        check();
        void done.then(() => reject(new Error(`CLI ended without ${pattern}: ${stderr}`)));
      }),
    done,
  };
}

/** A push endpoint as a browser's push service would be, holding the user agent's keys (RFC 8291). */
async function pushReceiver() {
  const ecdh = createECDH('prime256v1');
  const uaPublic = ecdh.generateKeys();
  const auth = randomBytes(16);
  const received: { authorization: string; encoding: string; ttl: string; body: Buffer }[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        authorization: String(req.headers.authorization),
        encoding: String(req.headers['content-encoding']),
        ttl: String(req.headers.ttl),
        body: Buffer.concat(chunks),
      });
      res.writeHead(201).end();
      waiters.shift()?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/push/abc`;
  return {
    endpoint,
    subscription: { endpoint, keys: { p256dh: uaPublic.toString('base64url'), auth: auth.toString('base64url') } },
    next: async (timeoutMs = 10_000) => {
      if (!received.length) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no push message arrived')), timeoutMs);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
      return received.shift()!;
    },
    /** RFC 8291 §3.4 and RFC 8188 §2 as the user agent does them, with node:crypto. */
    decrypt(body: Buffer): unknown {
      const salt = body.subarray(0, 16);
      const idlen = body[20]!;
      const asPublic = body.subarray(21, 21 + idlen);
      const ciphertext = body.subarray(21 + idlen);
      const shared = ecdh.computeSecret(asPublic);
      const info = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
      const ikm = Buffer.from(hkdfSync('sha256', shared, auth, info, 32));
      const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
      const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
      const end = padded.lastIndexOf(0x02);
      expect(padded.subarray(end + 1).every((b) => b === 0)).toBe(true);
      return JSON.parse(padded.subarray(0, end).toString('utf8'));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('pairing and notifications against wrangler dev', () => {
  let server: RunningServer;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'mobile-key-pairing-'));
  const admin = (args: string[]) => runCli('admin', [...args, '--server', server.url], { ADMIN_TOKEN: server.secrets.ADMIN_TOKEN });
  const key = (args: string[]) => runCli('key', args);

  beforeAll(async () => {
    [server, browser] = await Promise.all([sharedTestServer(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the web app pairs a tablet from the phone (two browsers), and the phone is told of the tablet’s login', async () => {
    const identity = await createIdentity(server, 'Jana', 'Nováková');
    const phoneContext = await newContext(browser, PHONE);
    const tabletContext = await newContext(browser, PHONE);
    const phone = await phoneContext.newPage();
    const tablet = await tabletContext.newPage();
    await enrolInApp(phone, server.url, identity.activation_code, 'Janin telefon');

    // The phone starts a pairing: a QR with the 4-minute countdown.
    await phone.goto(`${server.url}/key/`);
    await phone.locator('button[data-action=pair]').click();
    await phone.locator('main[data-screen=pair-start][data-state=pending]').waitFor({ timeout: 15_000 });
    expect(await phone.locator('[data-qr]').count()).toBe(1);
    expect(await phone.locator('.countdown').innerText()).toMatch(/^Zbývá [34]:\d\d$/);
    await saveScreen(phone, 'app-pair-qr');
    const pairingUrl = (await phone.locator('[data-pairing-url]').getAttribute('data-pairing-url'))!;

    // The tablet opens it: whose key it becomes first, then its proposed name.
    await tablet.goto(pairingUrl);
    await tablet.locator('main[data-screen=pair-join][data-state=ask]').waitFor({ timeout: 15_000 });
    expect(await tablet.locator('[data-identity-name]').innerText()).toBe('Přidáváte klíč pro Jana N.');
    expect(tablet.url()).toBe(`${server.url}/key/pair`);
    await tablet.getByLabel('Název zařízení').fill('Janin tablet');
    await saveScreen(tablet, 'app-pair-join');
    await tablet.getByRole('button', { name: 'Ano, přidat klíč' }).click();
    await tablet.locator('main[data-screen=pair-join][data-state=waiting]').waitFor();

    // The phone sees the proposed name live and confirms with its key.
    await phone.locator('main[data-screen=pair-start][data-state=claimed]').waitFor({ timeout: 10_000 });
    expect(await phone.locator('[data-claimed]').innerText()).toBe('Nové zařízení „Janin tablet“ chce být klíčem vaší identity.');
    await saveScreen(phone, 'app-pair-confirm');
    await phone.locator('button[data-action=pair-confirm]').click();
    await phone.locator('main[data-screen=pair-start][data-state=completed]').waitFor({ timeout: 10_000 });
    expect(await phone.locator('h1').innerText()).toBe('Klíč „Janin tablet“ byl přidán');

    await tablet.locator('main[data-screen=pair-join][data-state=done]').waitFor({ timeout: 10_000 });
    expect((await listDevices(server, identity.sub)).map((d) => d.name)).toEqual(['Janin telefon', 'Janin tablet']);
    await tablet.goto(`${server.url}/key/`);
    await tablet.locator('li[data-key] h3').waitFor();
    expect(await tablet.locator('li[data-key] h3').innerText()).toBe('Janin tablet');

    // The tablet approves a login at the demo (same device); the phone shows it when opened.
    await startDemoLogin(tablet, server.url);
    await tablet.locator('a[data-launch]').click();
    await tablet.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });
    await tablet.getByRole('button', { name: 'Schválit' }).click();
    await tablet.locator('main[data-screen=login][data-state=approved]').waitFor();

    await phone.goto(`${server.url}/key/`);
    const notice = phone.locator('li[data-notification="login.approved"]');
    await notice.waitFor({ timeout: 10_000 });
    expect(await notice.innerText()).toMatch(/^Nové přihlášení: Demo relying service, .+ Schváleno klíčem „Janin tablet“\. Nebyli jste to vy\?/);
    expect(await phone.locator('li[data-notification="device.paired"]').innerText()).toContain('Přidán klíč „Janin tablet“');
    await saveScreen(phone, 'app-notifications');
    await phone.locator('button[data-action=notifications-read]').click();
    await phone.locator('section[data-notifications="0"]').waitFor();
    await phone.reload();
    await phone.locator('section[data-notifications="0"]').waitFor();

    // The account's "Add a key" on a desktop without a key: logged in there with the phone
    // (single sign-on session), /key/pair pairs from the session and the desktop confirms.
    const desktopContext = await newContext(browser, DESKTOP);
    const desktop = await desktopContext.newPage();
    await startDemoLogin(desktop, server.url);
    await phone.goto(await readQrFromScreen(desktop));
    await phone.locator('main[data-screen=login][data-state=context]').waitFor({ timeout: 15_000 });
    await phone.getByRole('button', { name: 'Schválit' }).click();
    await desktop.waitForURL(/\/demo\/callback\?/, { timeout: 20_000 });
    await desktop.goto(`${server.url}/key/pair`);
    await desktop.locator('main[data-screen=pair-start][data-state=pending]').waitFor({ timeout: 15_000 });
    await tablet.goto(await readQrFromScreen(desktop));
    await tablet.getByLabel('Název zařízení').fill('Janin notebook');
    await tablet.getByRole('button', { name: 'Ano, přidat klíč' }).click();
    await desktop.locator('main[data-screen=pair-start][data-state=claimed]').waitFor({ timeout: 10_000 });
    await desktop.locator('button[data-action=pair-confirm]').click();
    await desktop.locator('main[data-screen=pair-start][data-state=completed]').waitFor({ timeout: 10_000 });
    await tablet.locator('main[data-screen=pair-join][data-state=done]').waitFor({ timeout: 10_000 });
    expect((await listDevices(server, identity.sub)).map((d) => d.name)).toEqual(['Janin telefon', 'Janin tablet', 'Janin notebook']);
    await Promise.all([phoneContext.close(), tabletContext.close(), desktopContext.close()]);
  });

  it('the key CLI pairs a second key, which then approves a login; the first key is pushed and lists both events', async () => {
    const receiver = await pushReceiver();
    try {
      const created = await admin(['identity', 'create', '--given-name', 'Jana', '--family-name', 'Nováková', '--json']);
      const phone = join(dir, 'phone.json');
      const enrolled = await key(['enroll', '--activation-code', String(created.json.activation_code), '--name', 'Phone', '--server', server.url, '--store', phone, '--json']);
      expect(enrolled.code, enrolled.stderr).toBe(0);
      expect(enrolled.stderr).toContain('You are adding a key for Jana N.');

      // The phone subscribes its push endpoint (what the web app's service worker does in a browser).
      const store = JSON.parse(readFileSync(phone, 'utf8')) as { device_id: string; private_jwk: JsonWebKey };
      const signingKey = await crypto.subtle.importKey('jwk', store.private_jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      const timestamp = Date.now();
      const subject = createHash('sha256').update(receiver.endpoint).digest('base64url');
      const signature = Buffer.from(
        await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signingKey, deviceRequestMessage({ action: 'push-subscribe', deviceId: store.device_id, timestamp, subject })),
      ).toString('base64url');
      const subscribed = await fetch(`${server.url}/api/notifications/push-subscriptions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ device_id: store.device_id, timestamp, signature, subscription: receiver.subscription }),
      });
      expect(subscribed.status).toBe(201);

      const starter = startCli(['pair', 'new', '--yes', '--json', '--store', phone]);
      const url = await starter.match(/http:\/\/localhost:\d+\/key\/pair#[0-9a-f]{64}\.[A-Za-z0-9_-]+/);
      const tablet = join(dir, 'tablet.json');
      const joined = await key(['pair', url, '--yes', '--name', 'CLI tablet', '--store', tablet, '--json']);
      expect(joined.code, joined.stderr).toBe(0);
      expect(joined.stderr).toContain('You are adding a key for Jana N.');
      expect(joined.json).toMatchObject({ device_id: expect.stringMatching(/^dev_/), sub: created.json.sub });
      const started = await starter.done;
      expect(started.code, started.stderr).toBe(0);
      expect(started.stderr).toContain('"CLI tablet"');
      expect(JSON.parse(started.stdout)).toMatchObject({ state: 'completed', device_id: joined.json.device_id, name: 'CLI tablet' });
      // The pairing is spent.
      const reused = await key(['pair', url, '--yes', '--store', join(dir, 'third.json'), '--json']);
      expect(reused.code).toBe(1);
      expect(['pairing-ended', 'pairing-claimed', 'not-found']).toContain(reused.json.error);

      const paired = receiver.decrypt((await receiver.next()).body);
      expect(paired).toMatchObject({ type: 'device.paired', device_name: 'CLI tablet' });

      // The tablet approves a login of a relying service: the phone is pushed and lists it.
      const client = await admin(['client', 'create', '--name', 'Portál občana', '--redirect-uri', 'http://127.0.0.1:9/cb', '--public', '--json']);
      const loginUrl = await startLogin(String(client.json.client_id));
      const approved = await key(['approve', loginUrl, '--yes', '--json', '--store', tablet]);
      expect(approved.code, approved.stderr).toBe(0);
      const push = await receiver.next();
      expect(push.encoding).toBe('aes128gcm');
      expect(Number(push.ttl)).toBeGreaterThan(0);
      // VAPID (RFC 8292): a JWT for the endpoint's origin, signed by the key in `k`.
      const vapid = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(push.authorization)!;
      const point = Buffer.from(vapid[2]!, 'base64url');
      const vapidKey = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, 'ES256');
      const { payload } = await jwtVerify(vapid[1]!, vapidKey, { audience: new URL(receiver.endpoint).origin });
      expect(payload.exp! - Date.now() / 1000).toBeLessThanOrEqual(24 * 3600);
      expect(payload.sub).toBe(server.url);
      expect(receiver.decrypt(push.body)).toMatchObject({ type: 'login.approved', client_name: 'Portál občana', device_name: 'CLI tablet' });

      const listed = await key(['notifications', '--store', phone]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('2 unread');
      expect(listed.stdout).toContain('New login: Portál občana');
      expect(listed.stdout).toContain('approved with "CLI tablet"');
      expect(listed.stdout).toContain('Key "CLI tablet" added');
      const reread = await key(['notifications', '--store', phone, '--json']);
      expect(reread.json).toMatchObject({ unread: 0 });
      // The tablet does not hear about its own login.
      const own = await key(['notifications', '--store', tablet, '--json']);
      expect(own.json).toMatchObject({ notifications: [], unread: 0 });
    } finally {
      await receiver.close();
    }
  });

  /** Starts a login as a relying service would (PKCE authorization request); returns what its QR encodes. */
  async function startLogin(clientId: string): Promise<string> {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:9/cb',
      scope: 'openid profile',
      state: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${server.url}/authorize?${query}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const id = /\/login\/([0-9a-f]{64})$/.exec(res.headers.get('Location') ?? '')![1]!;
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
    const state = (await (await fetch(`${server.url}/login/${id}/state`, { headers: { Cookie: cookie } })).json()) as { loginUrl: string };
    return state.loginUrl;
  }
});
