/**
 * The rotating QR and protocol v2 (issue 14): which frames the object accepts and until when,
 * the single-use launch token, the frames pushed by alarm, and v1 keys refused by name.
 * Time is moved by rewriting the login's `createdAt` (a frame's age is measured from it) — no sleeps.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseLoginUrl, signDeviceMessage } from '../../src/mobile/protocol.ts';
import {
  checkFrame,
  frameMac,
  frameStep,
  FRAMES_AHEAD,
  isFresh,
  nextTickAt,
  ROTATING_MAX_AGE_MS,
  STATIC_MAX_AGE_MS,
  type LaunchToken,
} from '../../src/session/rotation.ts';
import { unwrap } from '../../src/session/stub.ts';
import { frameUrlAt } from '../../client/login/model.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';
import { call, openPage, sign, startTestLogin, type TestDevice, type TestLogin } from './helpers.ts';
import { enrolTestDevice, post, problemCode } from './identity-helpers.ts';

const LOGIN = 'a'.repeat(64);
const KEY = 'q8Jw3tR0yVb6Hn2Lk5Mz9Xc1Df4Gs7Pa0Ue3Io6Ty8Q';
const CREATED = 1_795_941_600_000;

describe('frame freshness (pure, exact boundaries)', () => {
  it('a rotating frame is accepted from its second’s start through 3 000 ms, a static one through 8 000 ms', () => {
    expect(ROTATING_MAX_AGE_MS).toBe(3000);
    expect(STATIC_MAX_AGE_MS).toBe(8000);
    const start = CREATED + 12_000;
    expect(isFresh('r', 12, CREATED, start)).toBe(true);
    expect(isFresh('r', 12, CREATED, start + 3000)).toBe(true);
    expect(isFresh('r', 12, CREATED, start + 3001)).toBe(false);
    expect(isFresh('s', 12, CREATED, start + 8000)).toBe(true);
    expect(isFresh('s', 12, CREATED, start + 8001)).toBe(false);
    expect(isFresh('r', 12, CREATED, start - 1)).toBe(false);
  });

  it('steps are whole seconds since the start; the next batch is due when its last frame begins, or at the deadline', () => {
    expect(frameStep(CREATED, CREATED)).toBe(0);
    expect(frameStep(CREATED, CREATED + 999)).toBe(0);
    expect(frameStep(CREATED, CREATED + 1000)).toBe(1);
    expect(frameStep(CREATED, CREATED - 5)).toBe(0);
    expect(FRAMES_AHEAD).toBe(3);
    expect(nextTickAt(CREATED, CREATED + 180_000, CREATED + 12_340)).toBe(CREATED + 15_000);
    expect(nextTickAt(CREATED, CREATED + 14_500, CREATED + 12_340)).toBe(CREATED + 14_500);
  });

  it('checkFrame: genuine and fresh, stale, never issued, relabelled, malformed', async () => {
    const check = (frame: string, now: number, launch?: LaunchToken) =>
      checkFrame({ key: KEY, launch, loginId: LOGIN, createdAt: CREATED, now, frame });
    const r12 = `r12.${await frameMac(KEY, 'r', LOGIN, 12)}`;
    const at = CREATED + 12_000;
    expect(await check(r12, at + 3000)).toEqual({ ok: true, kind: 'r' });
    expect(await check(r12, at + 3001)).toEqual({ ok: false, reason: 'stale' });
    // A later second was never shown, whatever the MAC; the kind is under the MAC.
    expect(await check(`r13.${await frameMac(KEY, 'r', LOGIN, 13)}`, at + 999)).toEqual({ ok: false, reason: 'unknown' });
    expect(await check(`s12.${r12.slice(4)}`, at + 5000)).toEqual({ ok: false, reason: 'unknown' });
    expect(await check(`r012.${r12.slice(4)}`, at)).toEqual({ ok: false, reason: 'unknown' });
    expect(await check(`r12.${'A'.repeat(22)}`, at)).toEqual({ ok: false, reason: 'unknown' });
    expect(await check(`r12.${await frameMac(KEY, 'r', 'b'.repeat(64), 12)}`, at)).toEqual({ ok: false, reason: 'unknown' });
    for (const junk of ['', 'r12', 'x12.AAAAAAAAAAAAAAAAAAAAAA', `r12.${r12.slice(4)}x`]) expect(await check(junk, at)).toMatchObject({ ok: false, reason: 'unknown' });
    const launch = { token: 'T'.repeat(22), used: false };
    expect(await check(`l.${launch.token}`, at, launch)).toEqual({ ok: true, kind: 'launch' });
    expect(await check(`l.${launch.token}`, at, { ...launch, used: true })).toEqual({ ok: false, reason: 'stale' });
    expect(await check(`l.${'U'.repeat(22)}`, at, launch)).toEqual({ ok: false, reason: 'unknown' });
  });
});

/** Moves the login's start back by `ms`: every frame issued so far becomes `ms` older. */
async function age(login: TestLogin, ms: number): Promise<void> {
  await runInDurableObject(login.stub, async (_instance, state) => {
    const record = (await state.storage.get<{ createdAt: number }>('login'))!;
    await state.storage.put('login', { ...record, createdAt: record.createdAt - ms });
  });
}

function scan(login: TestLogin, device: TestDevice, frame: string, signature: Promise<string>, extra: Record<string, unknown> = {}) {
  return signature.then((s) => post(`/api/mobile/logins/${login.id}/scan`, { version: 2, frame, device_id: device.id, signature: s, ...extra }));
}

async function stateOf(login: TestLogin): Promise<Record<string, unknown>> {
  const res = await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } });
  return (await res.json()) as Record<string, unknown>;
}

describe('the login object accepts a scanned frame only while it is fresh', () => {
  it('a frame pushed over the page socket is accepted; once 4 s old it is refused with the phone’s message and nothing changes', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    const frame = parseLoginUrl((await page.next()).loginUrl as string)!.frame;
    expect(frame).toMatch(/^r\d+\./);
    page.close();

    await age(login, 4000);
    const stale = await scan(login, phone, frame, sign(phone, 'scan', login.id));
    expect(stale.status).toBe(410);
    const problem = (await stale.json()) as { type: string; detail: string };
    expect(problem.type).toBe('urn:mobile-key:problem:qr-code-expired');
    expect(problem.detail).toBe('This code is no longer valid — scan the code on the screen again.');
    expect((await stateOf(login)).state).toBe('pending');

    // The page's current frame still works.
    const fresh = parseLoginUrl((await stateOf(login)).loginUrl as string)!.frame;
    expect((await scan(login, phone, fresh, sign(phone, 'scan', login.id))).status).toBe(200);
  });

  it('a rotating frame 2 s old still works (the phone has time to send it)', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    const frame = parseLoginUrl((await page.next()).loginUrl as string)!.frame;
    page.close();
    await age(login, 2000);
    expect((await scan(login, phone, frame, sign(phone, 'scan', login.id))).status).toBe(200);
  });

  it('the static frame of the page without script is accepted 7 s later and refused 9 s later', async () => {
    const phone = await enrolTestDevice();
    const early = await startTestLogin();
    expect(early.frame).toMatch(/^s\d+\./);
    await age(early, 7000);
    expect((await scan(early, phone, early.frame, sign(phone, 'scan', early.id))).status).toBe(200);

    const late = await startTestLogin();
    await age(late, 9000);
    const refused = await scan(late, phone, late.frame, sign(phone, 'scan', late.id));
    expect(refused.status).toBe(410);
    expect(await problemCode(refused)).toBe('qr-code-expired');
  });

  it('a frame of another login, a forged MAC and a frame from the future are unknown (404), not stale', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const other = await startTestLogin();
    const step = Number(/^s(\d+)/.exec(login.frame)![1]);
    for (const frame of [other.frame, `s${step}.${'A'.repeat(22)}`, `r${step + 5}.${login.frame.split('.')[1]}`, other.launch]) {
      const res = await scan(login, phone, frame, sign(phone, 'scan', login.id));
      expect(res.status, frame).toBe(404);
      expect(await problemCode(res)).toBe('not-found');
    }
    expect((await stateOf(login)).state).toBe('pending');
  });

  it('the same-device launch token works after the QR’s frames would have gone stale, and only once', async () => {
    const phone = await enrolTestDevice('Phone');
    const second = await enrolTestDevice('Second');
    const login = await startTestLogin();
    await age(login, 60_000);
    expect((await scan(login, phone, login.launch, sign(phone, 'scan', login.id))).status).toBe(200);
    const after = await stateOf(login);
    expect(after).not.toHaveProperty('launchUrl');
    for (const device of [phone, second]) {
      const again = await scan(login, device, login.launch, sign(device, 'scan', login.id));
      expect(again.status).toBe(410);
      expect(await problemCode(again)).toBe('qr-code-expired');
    }
  });

  it('a refused launch scan (another person’s key) does not use the token up', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin({ requiredSub: 'sub_someone_else' });
    const refused = await scan(login, phone, login.launch, sign(phone, 'scan', login.id));
    expect(await problemCode(refused)).toBe('wrong-identity');
    expect((await stateOf(login)).launchUrl).toBe(login.snapshot.launchUrl);
  });
});

describe('frames are pushed to the page by alarm', () => {
  it('a socket snapshot carries the current frame and the next three, each with the second it begins; the page shows each in turn', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    const snapshot = (await page.next()) as unknown as LoginSnapshot;
    page.close();
    const step = Number(/\.r(\d+)\./.exec(snapshot.loginUrl!)![1]);
    expect(snapshot.nextFrames!.map((f) => Number(/\.r(\d+)\./.exec(f.loginUrl)![1]))).toEqual([step + 1, step + 2, step + 3]);
    const created = snapshot.expiresAt - 180_000;
    expect(snapshot.nextFrames!.map((f) => f.at)).toEqual([1, 2, 3].map((i) => created + (step + i) * 1000));
    expect(new Set([snapshot.loginUrl, ...snapshot.nextFrames!.map((f) => f.loginUrl)]).size).toBe(4);
    // What the page shows at each server time (client/login/model.ts).
    expect(frameUrlAt(snapshot, created + step * 1000 + 999)).toBe(snapshot.loginUrl);
    expect(frameUrlAt(snapshot, created + (step + 1) * 1000)).toBe(snapshot.nextFrames![0]!.loginUrl);
    expect(frameUrlAt(snapshot, created + (step + 3) * 1000 + 500)).toBe(snapshot.nextFrames![2]!.loginUrl);
    // A frame held early is refused until its second begins (a relay gains nothing from it).
    const phone = await enrolTestDevice();
    const early = parseLoginUrl(snapshot.nextFrames![2]!.loginUrl)!.frame;
    expect(await problemCode(await scan(login, phone, early, sign(phone, 'scan', login.id)))).toBe('not-found');
    await age(login, 3000);
    expect((await scan(login, phone, early, sign(phone, 'scan', login.id))).status).toBe(200);
  });

  it('while a page socket is open each alarm pushes the next batch of frames and schedules the next one', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    const first = await page.next();
    const alarm = await runInDurableObject(login.stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(Date.now() + 3000);
    expect(alarm).toBeGreaterThan(Date.now() + 1000);

    await age(login, 1000);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    const second = await page.next();
    expect(second).toMatchObject({ type: 'snapshot', state: 'pending', launchUrl: first.launchUrl });
    const [a, b] = [first, second].map((s) => parseLoginUrl(s.loginUrl as string)!.frame);
    expect(b).not.toBe(a);
    expect(Number(/^r(\d+)/.exec(b!)![1])).toBe(Number(/^r(\d+)/.exec(a!)![1]) + 1);
    const next = await runInDurableObject(login.stub, (_i, state) => state.storage.getAlarm());
    expect(next).toBeLessThanOrEqual(Date.now() + 3000);
    page.close();
  });

  it('with no page socket open only the expiry alarm remains', async () => {
    const login = await startTestLogin();
    expect(await runInDurableObject(login.stub, (_i, state) => state.storage.getAlarm())).toBe(login.snapshot.expiresAt);
    const page = await openPage(login.id, login.cookie);
    await page.next();
    page.close();
    await runInDurableObject(login.stub, async (_i, state) => {
      for (const ws of state.getWebSockets()) ws.close(1000, 'test');
    });
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await runInDurableObject(login.stub, (_i, state) => state.storage.getAlarm())).toBe(login.snapshot.expiresAt);
  });

  it('the page without script reloads its own address every 5 s while pending', async () => {
    const login = await startTestLogin();
    const html = await (await call(`/login/${login.id}`, { headers: { Cookie: login.cookie } })).text();
    expect(html).toContain(`<noscript><meta http-equiv="refresh" content="5;url=/login/${login.id}"/></noscript>`);
  });
});

describe('protocol v2: a signature names the service, and v1 keys are told to update', () => {
  it('a body without version (a v1 key) or with version 1 is refused by name; another version too; nothing changes', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const signature = await sign(phone, 'scan', login.id);
    for (const extra of [{ version: undefined }, { version: 1 }]) {
      const res = await post(`/api/mobile/logins/${login.id}/scan`, { frame: login.frame, device_id: phone.id, signature, ...extra });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { type: string; detail: string; supported_versions: number[] };
      expect(problem.type).toBe('urn:mobile-key:problem:unsupported-protocol-version');
      expect(problem.detail).toBe('protocol version 1 is no longer accepted; update the key');
      expect(problem.supported_versions).toEqual([2]);
    }
    const v3 = await post(`/api/mobile/logins/${login.id}/scan`, { version: 3, frame: login.frame, device_id: phone.id, signature });
    expect(await problemCode(v3)).toBe('unsupported-protocol-version');
    const answer = await post(`/api/mobile/logins/${login.id}/answer`, { device_id: phone.id, decision: 'approve', nonce: 'n', signature });
    expect(((await answer.json()) as { detail: string }).detail).toBe('protocol version 1 is no longer accepted; update the key');
    const revoke = await post(`/api/mobile/devices/${phone.id}/revoke`, { timestamp: Date.now(), signature });
    expect(revoke.status).toBe(400);
    expect(await problemCode(revoke)).toBe('unsupported-protocol-version');
    expect((await stateOf(login)).state).toBe('pending');
  });

  it('v1 bytes, or v2 bytes naming another service, do not verify even with "version": 2', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const enc = (lines: string[]) => new TextEncoder().encode(lines.join('\n'));
    const v1 = enc(['mobile-key-v1', 'scan', login.id, '-', phone.id]);
    const elsewhere = enc(['mobile-key-v2', 'https://relay.example', 'scan', login.id, '-', phone.id]);
    for (const bytes of [v1, elsewhere]) {
      const res = await scan(login, phone, login.frame, signDeviceMessage(phone.privateKey, bytes));
      expect(res.status).toBe(401);
      expect(await problemCode(res)).toBe('invalid-signature');
    }
    expect((await stateOf(login)).state).toBe('pending');
  });

  it('an approve signature cannot be sent as a deny', async () => {
    const phone = await enrolTestDevice();
    const login = await startTestLogin();
    const scanned = await scan(login, phone, login.frame, sign(phone, 'scan', login.id));
    const { nonce } = (await scanned.json()) as { nonce: string };
    const res = await post(`/api/mobile/logins/${login.id}/answer`, { version: 2, device_id: phone.id, decision: 'deny', nonce, signature: await sign(phone, 'approve', login.id, nonce) });
    expect(await problemCode(res)).toBe('invalid-signature');
    expect(unwrap({ ok: true, value: (await stateOf(login)).state })).toBe('scanned');
  });
});
