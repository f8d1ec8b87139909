import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/session/stub.ts';
import { answerAs, call, deviceKey, expireNow, openPage, scanAs, sign, startTestLogin, testDevice } from './helpers.ts';

describe('snapshot over HTTP', () => {
  it('returns the whole snapshot with the server clock and no-store', async () => {
    const login = await startTestLogin();
    const before = Date.now();
    const res = await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'snapshot',
      id: login.id,
      state: 'pending',
      client: { name: 'Demo Service' },
      launchUrl: login.snapshot.launchUrl,
    });
    // The QR of an HTTP read is a static frame (accepted 8 s; src/session/rotation.ts).
    expect(body.loginUrl).toMatch(new RegExp(`^http://localhost:8787/key/login#${login.id}\\.s\\d+\\.[A-Za-z0-9_-]{22}$`));
    expect(body.now).toBeGreaterThanOrEqual(before);
    expect(body.expiresAt).toBe(login.snapshot.expiresAt);
    expect((body.expiresAt as number) - login.snapshot.now).toBeGreaterThan(179_000);
    expect((body.expiresAt as number) - login.snapshot.now).toBeLessThanOrEqual(180_000);
  });

  it('sets the expiry alarm at expiresAt', async () => {
    const login = await startTestLogin({ validitySeconds: 30 });
    const alarm = await runInDurableObject(login.stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(login.snapshot.expiresAt);
    expect(login.snapshot.expiresAt - login.snapshot.now).toBeLessThanOrEqual(30_000);
  });
});

describe('binding cookie', () => {
  it('refuses another browser: no cookie, a wrong cookie, over HTTP and WebSocket', async () => {
    const login = await startTestLogin();
    const wrong = login.cookie.replace(/=.*/, '=not-the-right-value');
    for (const headers of [{}, { Cookie: wrong }] as Record<string, string>[]) {
      const res = await call(`/login/${login.id}/state`, { headers });
      expect(res.status).toBe(403);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      expect(((await res.json()) as { type: string }).type).toBe('urn:mobile-key:problem:login-binding');
      const ws = await call(`/login/${login.id}/ws`, { headers: { ...headers, Upgrade: 'websocket' } });
      expect(ws.status).toBe(403);
      expect(ws.webSocket).toBeNull();
    }
    const cancel = await call(`/login/${login.id}/cancel`, { method: 'POST', headers: { Cookie: wrong } });
    expect(cancel.status).toBe(403);
    expect(unwrap(await login.stub.read(await cookieHash(login.cookie))).state).toBe('pending');
  });
});

describe('cross-origin requests', () => {
  it('refuses a WebSocket handshake or cancel from another origin, even with the cookie', async () => {
    const login = await startTestLogin();
    const headers = { Cookie: login.cookie, Origin: 'https://evil.example' };
    const ws = await call(`/login/${login.id}/ws`, { headers: { ...headers, Upgrade: 'websocket' } });
    expect(ws.status).toBe(403);
    expect(((await ws.json()) as { type: string }).type).toBe('urn:mobile-key:problem:forbidden');
    const cancel = await call(`/login/${login.id}/cancel`, { method: 'POST', headers });
    expect(cancel.status).toBe(403);
    const same = await call(`/login/${login.id}/ws`, {
      headers: { Cookie: login.cookie, Origin: 'http://localhost:8787', Upgrade: 'websocket' },
    });
    expect(same.status).toBe(101);
    same.webSocket!.accept();
    same.webSocket!.close();
    expect(unwrap(await login.stub.read(await cookieHash(login.cookie))).state).toBe('pending');
  });
});

describe('page WebSocket', () => {
  it('receives a snapshot on connect, on scan, on approve', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    // Over the socket the QR's frame is a rotating one (src/session/rotation.ts); the launch link stays.
    const first = await page.next();
    expect(first).toMatchObject({ state: 'pending', launchUrl: login.snapshot.launchUrl });
    expect(first.loginUrl).toMatch(new RegExp(`^http://localhost:8787/key/login#${login.id}\\.r\\d+\\.[A-Za-z0-9_-]{22}$`));

    const phone = await testDevice('Jana’s Pixel');
    const nonce = await scanAs(login, phone);
    const scanned = await page.next();
    expect(scanned).toMatchObject({ state: 'scanned' });
    // The page learns only that a key scanned, not whose (issue 14, review 5).
    expect(JSON.stringify(scanned)).not.toContain('Jana');
    expect(scanned).not.toHaveProperty('loginUrl');

    unwrap(await answerAs(login, phone, 'approve', nonce));
    const approved = await page.next();
    expect(approved).toMatchObject({ state: 'approved', continueUrl: `/login/${login.id}/continue` });
    expect(typeof approved.now).toBe('number');
    expect(approved.expiresAt).toBe(login.snapshot.expiresAt);
  });

  it('receives the expired snapshot when the alarm fires', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    await expireNow(login);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await page.next()).toMatchObject({ state: 'expired', restartUrl: `/login/${login.id}/restart` });
  });

  it('a page that reconnects after the decision gets it at once', async () => {
    const login = await startTestLogin();
    const first = await openPage(login.id, login.cookie);
    await first.next();
    first.close();
    const phone = await testDevice();
    unwrap(await answerAs(login, phone, 'deny', await scanAs(login, phone)));
    const again = await openPage(login.id, login.cookie);
    expect(await again.next()).toMatchObject({ state: 'denied', restartUrl: `/login/${login.id}/restart` });
  });

  it('answers refresh with the snapshot, cancel by cancelling, and anything else with a problem', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    page.send('{"type":"refresh"}');
    expect(await page.next()).toMatchObject({ type: 'snapshot', state: 'pending' });
    // The last one is 1,015 characters but 2,005 bytes: the 1 KiB limit counts bytes.
    for (const bad of ['not json', '{"type":"approve"}', '[]', 'x'.repeat(2000), new ArrayBuffer(8), `{"type":"refresh","pad":"${'é'.repeat(990)}"}`]) {
      page.send(bad);
      const reply = await page.next();
      expect(reply).toMatchObject({ status: 400 });
      expect(String(reply.type)).toMatch(/^urn:mobile-key:problem:(bad-request|malformed-json)$/);
    }
    expect(unwrap(await login.stub.read(await cookieHash(login.cookie))).state).toBe('pending');
    page.send('{"type":"cancel"}');
    expect(await page.next()).toMatchObject({ state: 'cancelled' });
  });
});

async function cookieHash(cookie: string) {
  const { sha256Hex } = await import('../../src/session/crypto.ts');
  return sha256Hex(cookie.slice(cookie.indexOf('=') + 1));
}

describe('expiry by alarm', () => {
  it('expires on time, a second alarm run changes nothing, then clean-up deletes storage', async () => {
    const login = await startTestLogin();
    await expireNow(login);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    const hash = await cookieHash(login.cookie);
    expect(unwrap(await login.stub.read(hash)).state).toBe('expired');

    // At-least-once: run the alarm handler again directly; the state stays expired.
    await runInDurableObject(login.stub, (instance) => instance.alarm());
    expect(unwrap(await login.stub.read(hash)).state).toBe('expired');

    // The next alarm is the clean-up, scheduled after the retention period.
    const cleanupAt = await runInDurableObject(login.stub, (_i, state) => state.storage.getAlarm());
    expect(cleanupAt).toBeGreaterThan(Date.now());
    await runInDurableObject(login.stub, (_i, state) => state.storage.put('retainUntil', Date.now() - 1));
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    const keys = await runInDurableObject(login.stub, async (_i, state) => [...(await state.storage.list()).keys()]);
    expect(keys).toEqual([]);
    const gone = await call(`/login/${login.id}/state`, { headers: { Cookie: login.cookie } });
    expect(gone.status).toBe(404);
  });

  it('an early alarm re-arms itself and leaves the login pending', async () => {
    const login = await startTestLogin();
    await runInDurableObject(login.stub, (instance) => instance.alarm());
    expect(unwrap(await login.stub.read(await cookieHash(login.cookie))).state).toBe('pending');
    expect(await runInDurableObject(login.stub, (_i, s) => s.storage.getAlarm())).toBe(login.snapshot.expiresAt);
  });

  it('an answer after expiry is refused with login-expired', async () => {
    const login = await startTestLogin();
    const phone = await testDevice();
    const nonce = await scanAs(login, phone);
    await expireNow(login);
    const result = await answerAs(login, phone, 'approve', nonce);
    expect(result).toMatchObject({ ok: false, problem: { code: 'login-expired', status: 410 } });
  });
});

describe('phone answers', () => {
  it('racing approve and deny from two requests yield exactly one outcome', async () => {
    const login = await startTestLogin();
    const phone = await testDevice();
    const nonce = await scanAs(login, phone);
    const results = await Promise.all([
      answerAs(login, phone, 'approve', nonce),
      answerAs(login, phone, 'deny', nonce),
    ]);
    const won = results.filter((r) => r.ok);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => !r.ok)[0]).toMatchObject({ ok: false, problem: { code: 'login-decided' } });
    const state = unwrap(await login.stub.read(await cookieHash(login.cookie))).state;
    expect(state).toBe(won[0]!.ok && won[0]!.value.state);
  });

  it('only the scanning device may answer, and only after scanning', async () => {
    const login = await startTestLogin();
    const phone = await testDevice();
    const other = await testDevice('Other');
    expect(await answerAs(login, phone, 'approve', 'nonce-nonce-nonce')).toMatchObject({
      ok: false,
      problem: { code: 'login-not-scanned' },
    });
    const nonce = await scanAs(login, phone);
    const otherScan = await login.stub.scan({
      frame: login.frame,
      device: deviceKey(other),
      signature: await sign(other, 'scan', login.id),
    });
    expect(otherScan).toMatchObject({ ok: false, problem: { code: 'login-claimed', status: 409 } });
    expect(await answerAs(login, other, 'approve', nonce)).toMatchObject({ ok: false, problem: { code: 'wrong-device' } });
    expect(unwrap(await login.stub.read(await cookieHash(login.cookie))).state).toBe('scanned');
  });

  it('refuses a QR frame it never issued as an unknown login, and a bad signature', async () => {
    const login = await startTestLogin();
    const phone = await testDevice();
    const wrongSecret = await login.stub.scan({
      frame: `s0.${'A'.repeat(22)}`,
      device: deviceKey(phone),
      signature: await sign(phone, 'scan', login.id),
    });
    expect(wrongSecret).toMatchObject({ ok: false, problem: { code: 'not-found', status: 404 } });
    const other = await testDevice();
    const badSignature = await login.stub.scan({
      frame: login.frame,
      device: deviceKey(phone),
      signature: await sign(other, 'scan', login.id),
    });
    expect(badSignature).toMatchObject({ ok: false, problem: { code: 'invalid-signature', status: 401 } });
    expect(unwrap(await login.stub.read(await cookieHash(login.cookie))).state).toBe('pending');
  });
});

describe('bad input to the page endpoints', () => {
  it('an id that is not one of ours is a 404 problem and creates no object', async () => {
    const before = (await listDurableObjectIds(env.LOGIN_SESSION)).length;
    for (const id of ['nope', 'f'.repeat(64), '../../etc', '0'.repeat(63) + 'g']) {
      const res = await call(`/login/${id}/state`);
      expect(res.status).toBe(404);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      expect(((await res.json()) as { type: string }).type).toBe('urn:mobile-key:problem:not-found');
    }
    expect((await listDurableObjectIds(env.LOGIN_SESSION)).length).toBe(before);
  });

  it('a plain GET on the WebSocket endpoint is refused with 426', async () => {
    const login = await startTestLogin();
    const res = await call(`/login/${login.id}/ws`, { headers: { Cookie: login.cookie } });
    expect(res.status).toBe(426);
  });

  it('a well-formed id that was never started is 404', async () => {
    const id = env.LOGIN_SESSION.newUniqueId().toString();
    const res = await call(`/login/${id}/state`);
    expect(res.status).toBe(404);
  });
});
