/**
 * The Pairing Durable Object through the worker: a new key paired from an existing one (issue 12).
 * Expiry by alarm, single use, bound to the browser that started it, signatures that cannot be
 * replayed elsewhere, snapshots over GET and WebSocket, bad input refused with nothing changed.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getDevice } from '../../src/identity/devices.ts';
import type { PairingSnapshot } from '../../src/pairing/types.ts';
import { call, sign, startTestLogin } from './helpers.ts';
import { auditTypes, enrolTestDevice, post, problemCode } from './identity-helpers.ts';
import type { BrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import type { SessionRecord } from '../../src/browser-session/lifetime.ts';
import { parsePairingUrl } from '../../src/pairing/protocol.ts';
import { pairingStub } from '../../src/pairing/routes.ts';
import { codeRequest, newClient } from './oidc-support.ts';
import { Browser, loginWithPhone } from './sso-support.ts';
import { claim, confirmBody, newDevice, pairSecondKey, signedBody, snapshotOf, startPairing, type TestPairing } from './pairing-support.ts';

const snapshot = async (pairing: TestPairing) => (await (await snapshotOf(pairing)).json()) as PairingSnapshot;
const confirm = async (pairing: TestPairing, body: unknown, cookie = pairing.cookie) =>
  post(`/api/pairings/${pairing.id}/confirm`, body, { Cookie: cookie });
const devicesOf = async (sub: string) =>
  (await env.DB.prepare('SELECT id, name FROM devices WHERE sub = ?1 ORDER BY created_at').bind(sub).all<{ id: string; name: string }>()).results;

describe('pairing a new key', () => {
  it('shows whose key it becomes, lets the existing key see and confirm the proposed name, and enrols it', async () => {
    const existing = await enrolTestDevice('Jana’s iPhone');
    const pairing = await startPairing(existing);
    expect(pairing.snapshot.state).toBe('pending');
    expect(pairing.snapshot.expiresAt - pairing.snapshot.now).toBeGreaterThan(235_000);
    expect(pairing.snapshot.expiresAt - pairing.snapshot.now).toBeLessThanOrEqual(240_000);

    const opened = await post(`/api/pairings/${pairing.id}/open`, { secret: pairing.secret });
    expect(opened.status).toBe(200);
    expect(await opened.json()).toMatchObject({ state: 'pending', identity_name: 'Jana N.' });

    const claimed = await claim(pairing, 'Pixel 9', {
      'User-Agent': 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    });
    expect(claimed.status).toMatchObject({ state: 'claimed', identity_name: 'Jana N.' });
    const seen = await snapshot(pairing);
    expect(seen).toMatchObject({ state: 'claimed', device: { name: 'Pixel 9' } });
    expect(seen.pairingUrl).toBeUndefined();
    expect(await devicesOf(existing.sub)).toHaveLength(1);

    const res = await confirm(pairing, await confirmBody(existing, pairing.id, seen.nonce!));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'completed', deviceId: claimed.status.device_id, device: { name: 'Pixel 9' } });
    const enrolled = await getDevice(env.DB, claimed.status.device_id);
    // The browser and OS the new key lives in, parsed from its claim's User-Agent.
    expect(enrolled).toMatchObject({ sub: existing.sub, name: 'Pixel 9', revokedAt: null, platform: { browser: 'Chrome 131', os: 'Android 15' } });

    const status = await post(`/api/pairings/${pairing.id}/status`, { secret: pairing.secret, device_id: claimed.status.device_id });
    expect(await status.json()).toMatchObject({ state: 'completed', sub: existing.sub });
    expect(await auditTypes(existing.sub)).toEqual(['identity.created', 'activation-code.issued', 'enrolment', 'enrolment']);

    // The new key works: it can claim a login of its identity.
    const login = await startTestLogin();
    const scanned = await post(`/api/mobile/logins/${login.id}/scan`, {
      version: 2,
      frame: login.frame,
      device_id: claimed.status.device_id,
      signature: await sign({ ...enrolled!, privateKey: claimed.keys.privateKey }, 'scan', login.id),
    });
    expect(scanned.status).toBe(200);
  });

  it('expires by its 4-minute alarm; then nothing can claim or confirm it', async () => {
    const existing = await enrolTestDevice();
    const pairing = await startPairing(existing);
    const alarm = await runInDurableObject(pairing.stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(pairing.snapshot.expiresAt);
    const claimed = await claim(pairing);
    const nonce = (await snapshot(pairing)).nonce!;
    await runInDurableObject(pairing.stub, async (_i, state) => {
      const record = (await state.storage.get<{ expiresAt: number }>('pairing'))!;
      await state.storage.put('pairing', { ...record, expiresAt: Date.now() - 1 });
    });
    expect(await runDurableObjectAlarm(pairing.stub)).toBe(true);
    expect((await snapshot(pairing)).state).toBe('expired');
    const late = await confirm(pairing, await confirmBody(existing, pairing.id, nonce));
    expect(late.status).toBe(410);
    expect(await problemCode(late)).toBe('pairing-expired');
    const again = await post(`/api/pairings/${pairing.id}/claim`, claimed.claimBody(pairing.secret));
    expect(await problemCode(again)).toBe('pairing-expired');
    expect(await devicesOf(existing.sub)).toHaveLength(1);
    // After the retention the object forgets everything.
    await runInDurableObject(pairing.stub, (_i, state) => state.storage.put('retainUntil', Date.now() - 1));
    expect(await runDurableObjectAlarm(pairing.stub)).toBe(true);
    expect(await runInDurableObject(pairing.stub, async (_i, state) => (await state.storage.list()).size)).toBe(0);
  });

  it('is single use: one key claims it, a second confirmation changes nothing, a completed pairing takes no one else', async () => {
    const existing = await enrolTestDevice();
    const pairing = await startPairing(existing);
    const first = await claim(pairing);
    const repeat = await post(`/api/pairings/${pairing.id}/claim`, first.claimBody(pairing.secret));
    expect(await repeat.json()).toMatchObject({ state: 'claimed', device_id: first.status.device_id });
    const other = await newDevice(pairing.id, 'Intruder');
    const taken = await post(`/api/pairings/${pairing.id}/claim`, other.claimBody(pairing.secret));
    expect(taken.status).toBe(409);
    expect(await problemCode(taken)).toBe('pairing-claimed');
    expect((await snapshot(pairing)).device?.name).toBe('Pixel 9');

    const body = await confirmBody(existing, pairing.id, (await snapshot(pairing)).nonce!);
    expect((await confirm(pairing, body)).status).toBe(200);
    const twice = await confirm(pairing, body);
    expect(twice.status).toBe(200);
    expect(((await twice.json()) as PairingSnapshot).state).toBe('completed');
    expect(await devicesOf(existing.sub)).toHaveLength(2);
    expect((await auditTypes(existing.sub)).filter((t) => t === 'enrolment')).toHaveLength(2);
    const late = await post(`/api/pairings/${pairing.id}/claim`, other.claimBody(pairing.secret));
    expect(await problemCode(late)).toBe('pairing-claimed');
    expect(await problemCode(await post(`/api/pairings/${pairing.id}/cancel`, {}, { Cookie: pairing.cookie }))).toBe('pairing-ended');
  });

  it('only the browser that started it may watch or confirm it', async () => {
    const existing = await enrolTestDevice();
    const pairing = await startPairing(existing);
    const elsewhere = await startPairing(existing);
    await claim(pairing);
    const nonce = (await snapshot(pairing)).nonce!;
    for (const cookie of ['', elsewhere.cookie.replace(elsewhere.id.slice(0, 16), pairing.id.slice(0, 16)), elsewhere.cookie]) {
      const read = await snapshotOf(pairing, cookie);
      expect(read.status).toBe(403);
      expect(await problemCode(read)).toBe('pairing-binding');
      const refused = await confirm(pairing, await confirmBody(existing, pairing.id, nonce), cookie);
      expect(await problemCode(refused)).toBe('pairing-binding');
    }
    const ws = await call(`/api/pairings/${pairing.id}/ws`, { headers: { Upgrade: 'websocket' } });
    expect(ws.status).toBe(403);
    const crossSite = await call(`/api/pairings/${pairing.id}/ws`, { headers: { Upgrade: 'websocket', Cookie: pairing.cookie, Origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect((await snapshot(pairing)).state).toBe('claimed');
    expect(await devicesOf(existing.sub)).toHaveLength(1);
  });

  it('refuses replayed and misdirected signatures', async () => {
    const existing = await enrolTestDevice();
    const a = await startPairing(existing);
    const b = await startPairing(existing);
    const claimA = await claim(a);
    await claim(b);
    const nonceA = (await snapshot(a)).nonce!;
    const nonceB = (await snapshot(b)).nonce!;
    // A's confirmation replayed on B (with B's cookie and nonce): the signature names pairing A.
    const bodyA = await confirmBody(existing, a.id, nonceA);
    expect(await problemCode(await confirm(b, { ...bodyA, nonce: nonceB }))).toBe('invalid-signature');
    expect(await problemCode(await confirm(b, bodyA))).toBe('invalid-signature');
    // A's claim replayed on another pairing: the signature names pairing A.
    const fresh = await startPairing(existing);
    expect(await problemCode(await post(`/api/pairings/${fresh.id}/claim`, claimA.claimBody(fresh.secret)))).toBe('invalid-signature');
    // Another key of the same identity may not confirm: only the starter.
    const sibling = await pairSecondKey(existing);
    expect(await problemCode(await confirm(a, await confirmBody(sibling, a.id, nonceA)))).toBe('wrong-device');
    // An old start request is refused (the clock window of signed device requests).
    const stale = await post('/api/pairings', await signedBody(existing, 'pair-start', undefined, Date.now() - 10 * 60_000));
    expect(await problemCode(stale)).toBe('timestamp-out-of-window');
    expect((await snapshot(a)).state).toBe('claimed');
    expect((await snapshot(b)).state).toBe('claimed');
  });

  it('pushes whole snapshots over the WebSocket as the pairing moves', async () => {
    const existing = await enrolTestDevice();
    const pairing = await startPairing(existing);
    const res = await call(`/api/pairings/${pairing.id}/ws`, { headers: { Upgrade: 'websocket', Cookie: pairing.cookie, Origin: 'http://localhost:8787' } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const messages: PairingSnapshot[] = [];
    const waiters: (() => void)[] = [];
    ws.addEventListener('message', (e) => {
      messages.push(JSON.parse(e.data as string) as PairingSnapshot);
      waiters.shift()?.();
    });
    ws.accept();
    const next = async (count: number) => {
      while (messages.length < count) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no WebSocket message within 2 s')), 2000);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
      return messages[count - 1]!;
    };
    expect(await next(1)).toMatchObject({ type: 'snapshot', state: 'pending' });
    await claim(pairing, 'Tablet');
    const claimed = await next(2);
    expect(claimed).toMatchObject({ state: 'claimed', device: { name: 'Tablet' } });
    expect((await confirm(pairing, await confirmBody(existing, pairing.id, claimed.nonce!))).status).toBe(200);
    expect(await next(3)).toMatchObject({ state: 'completed', device: { name: 'Tablet' } });
    ws.send('{"type":"nope"}');
    expect(await next(4)).toMatchObject({ status: 400 });
    ws.close();
  });

  it('the starting browser can cancel; a cancelled pairing stays cancelled', async () => {
    const existing = await enrolTestDevice();
    const pairing = await startPairing(existing);
    await claim(pairing);
    const cancelled = await post(`/api/pairings/${pairing.id}/cancel`, {}, { Cookie: pairing.cookie });
    expect(((await cancelled.json()) as PairingSnapshot).state).toBe('cancelled');
    expect((await post(`/api/pairings/${pairing.id}/cancel`, {}, { Cookie: pairing.cookie })).status).toBe(200);
    const opened = await post(`/api/pairings/${pairing.id}/open`, { secret: pairing.secret });
    expect(await problemCode(opened)).toBe('pairing-ended');
    expect(await runDurableObjectAlarm(pairing.stub)).toBe(true);
    expect(await devicesOf(existing.sub)).toHaveLength(1);
  });

  it('refuses bad input with a 4xx and changes nothing', async () => {
    const existing = await enrolTestDevice();
    const pairing = await startPairing(existing);
    const device = await newDevice(pairing.id);
    const body = device.claimBody(pairing.secret);
    const cases: [string, unknown, string][] = [
      [`/api/pairings/${pairing.id}/claim`, { ...body, name: 'Pixel\u202E9' }, 'invalid-input'],
      [`/api/pairings/${pairing.id}/claim`, { ...body, name: 'a\nb' }, 'invalid-input'],
      [`/api/pairings/${pairing.id}/claim`, { ...body, public_jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }, 'invalid-public-key'],
      [`/api/pairings/${pairing.id}/claim`, { ...body, secret: 'wrong-secret-wrong-secret' }, 'not-found'],
      [`/api/pairings/${'0'.repeat(64)}/open`, { secret: pairing.secret }, 'not-found'],
      [`/api/pairings/not-an-id/open`, { secret: pairing.secret }, 'not-found'],
      [`/api/pairings/${pairing.id}/status`, { secret: pairing.secret, device_id: 'dev_nobody' }, 'not-found'],
      ['/api/pairings', { device_id: 'dev_unknown', timestamp: Date.now(), signature: 'x' }, 'unknown-device'],
      ['/api/pairings', { ...(await signedBody(existing, 'pair-start')), signature: (await signedBody(existing, 'notifications')).signature }, 'invalid-signature'],
    ];
    for (const [path, input, code] of cases) {
      const res = await post(path, input);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(await problemCode(res), path).toBe(code);
    }
    const malformed = await call(`/api/pairings/${pairing.id}/claim`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"secret":' });
    expect(await problemCode(malformed)).toBe('malformed-json');
    expect((await snapshot(pairing)).state).toBe('pending');
  });
});

describe('pairing from the account’s browser session', () => {
  /** A browser logged in with `device` through /authorize (single sign-on session). */
  async function accountBrowser(device: Awaited<ReturnType<typeof enrolTestDevice>>) {
    const browser = new Browser();
    const client = await newClient();
    const request = await codeRequest(client);
    await loginWithPhone(browser, request.params, device);
    expect(browser.session).toBeDefined();
    return browser;
  }
  const postIn = async (browser: Browser, path: string, body: unknown = {}) =>
    browser.take(await post(path, body, { Cookie: browser.header(), Origin: 'http://localhost:8787' }));

  it('a fresh session starts a pairing its browser confirms; the new key joins that identity', async () => {
    const phone = await enrolTestDevice('Jana’s iPhone');
    const browser = await accountBrowser(phone);
    const started = await postIn(browser, '/api/pairings/session');
    expect(started.status).toBe(201);
    const snapshot = (await started.json()) as PairingSnapshot;
    const pairing: TestPairing = {
      id: snapshot.id,
      secret: parsePairingUrl(snapshot.pairingUrl!)!.secret,
      cookie: browser.header(),
      snapshot,
      stub: pairingStub(env, snapshot.id),
    };
    const claimed = await claim(pairing, 'Tablet', { 'User-Agent': 'Approve/1.0 (This is your own computer \u202e safe to approve)' });
    // A key signature is not how this one is confirmed, and another browser cannot confirm it.
    const seen = await (await call(`/api/pairings/${pairing.id}`, { headers: { Cookie: browser.header() } })).json() as PairingSnapshot;
    expect(await problemCode(await confirm(pairing, await confirmBody(phone, pairing.id, seen.nonce!), browser.header()))).toBe('wrong-device');
    const other = await accountBrowser(phone);
    expect(await problemCode(await postIn(other, `/api/pairings/${pairing.id}/confirm-session`))).toBe('pairing-binding');
    const done = await postIn(browser, `/api/pairings/${pairing.id}/confirm-session`);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ state: 'completed', deviceId: claimed.status.device_id });
    const enrolled = await getDevice(env.DB, claimed.status.device_id);
    expect(enrolled).toMatchObject({ sub: phone.sub, name: 'Tablet' });
    // A forged agent's free text is not a browser or OS: nothing is stored.
    expect(enrolled!.platform).toEqual({});
    expect(await env.DB.prepare('SELECT browser, os FROM devices WHERE id = ?1').bind(enrolled!.id).first()).toEqual({ browser: null, os: null });
  });

  it('refuses without a session, and with an approval older than 5 minutes', async () => {
    expect(await problemCode(await post('/api/pairings/session', {}))).toBe('unauthorized');
    const phone = await enrolTestDevice();
    const browser = await accountBrowser(phone);
    const stub = browserSessionStub(env, browser.session!.split('.')[0]!)!;
    await runInDurableObject(stub, async (_i: BrowserSession, state) => {
      const record = (await state.storage.get<SessionRecord>('session'))!;
      await state.storage.put('session', { ...record, authTime: record.authTime - 301 });
    });
    const stale = await postIn(browser, '/api/pairings/session');
    expect(stale.status).toBe(403);
    expect(await problemCode(stale)).toBe('reauthentication-required');
  });
});
