/**
 * What lets a held login hibernate (docs/performance.md "Held logins"): a page that is not
 * shown sends `{"type":"hidden"}` and gets no QR frames, so its object's alarm falls back to the
 * deadline and the object can idle; `{"type":"refresh"}` brings the frames back. State changes
 * reach hidden pages all the same. The page socket is not compressed (src/session/sockets.ts).
 * Alarms are run with `runDurableObjectAlarm`; the login's age by rewriting its `createdAt`.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { NO_WEBSOCKET_EXTENSIONS } from '../../src/session/sockets.ts';
import { call, openPage, scanAs, startTestLogin, testDevice, type PageSocket, type TestLogin } from './helpers.ts';

async function alarmOf(login: TestLogin): Promise<number | null> {
  return runInDurableObject(login.stub, (_instance, state) => state.storage.getAlarm());
}

async function age(login: TestLogin, ms: number): Promise<void> {
  await runInDurableObject(login.stub, async (_instance, state) => {
    const record = (await state.storage.get<{ createdAt: number }>('login'))!;
    await state.storage.put('login', { ...record, createdAt: record.createdAt - ms });
  });
}

/** Sends `hidden`, then waits until the object has handled it (messages on one socket are handled in order). */
async function hide(page: PageSocket): Promise<void> {
  page.send('{"type":"hidden"}');
  expect(await nextAfterProbe(page)).toMatchObject({ status: 400 });
}

/**
 * The next message the page gets, sent after everything the object did so far: an unknown
 * message's 400 reply comes after anything pushed before it, so getting the reply first proves
 * nothing was pushed.
 */
async function nextAfterProbe(page: PageSocket): Promise<Record<string, unknown>> {
  page.send('{"type":"nothing"}');
  return page.next();
}

describe('a page that is not shown gets no QR frames, so its login can idle', () => {
  it('after "hidden" the alarm pushes nothing and falls back to the deadline; "refresh" sends fresh frames and resumes the pushes', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    expect(await page.next()).toMatchObject({ state: 'pending', nextFrames: expect.any(Array) });
    expect(await alarmOf(login)).toBeLessThanOrEqual(Date.now() + 3000);

    await hide(page);
    // No page left shown: the next frame tick is dropped at once, only the deadline remains.
    expect(await alarmOf(login)).toBe(login.snapshot.expiresAt);
    await age(login, 1000);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await nextAfterProbe(page)).toMatchObject({ status: 400 });
    // The only alarm left is the deadline: the object stays idle until then.
    expect(await alarmOf(login)).toBe(login.snapshot.expiresAt);

    page.send('{"type":"refresh"}');
    const back = await page.next();
    expect(back).toMatchObject({ state: 'pending', loginUrl: expect.stringMatching(/\.r\d+\./), nextFrames: expect.any(Array) });
    expect(await alarmOf(login)).toBeLessThanOrEqual(Date.now() + 3000);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await page.next()).toMatchObject({ state: 'pending', nextFrames: expect.any(Array) });
    page.close();
  });

  it('with one tab hidden and one shown, only the shown one gets frames and the pushes go on', async () => {
    const login = await startTestLogin();
    const hidden = await openPage(login.id, login.cookie);
    const shown = await openPage(login.id, login.cookie);
    await hidden.next();
    await shown.next();
    await hide(hidden);
    expect(await alarmOf(login)).toBeLessThanOrEqual(Date.now() + 3000);

    await age(login, 1000);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await shown.next()).toMatchObject({ state: 'pending', nextFrames: expect.any(Array) });
    expect(await nextAfterProbe(hidden)).toMatchObject({ status: 400 });
    expect(await alarmOf(login)).toBeLessThanOrEqual(Date.now() + 3000);
    hidden.close();
    shown.close();
  });

  it('a hidden page still learns that a key scanned, and a later login state needs no frames', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    await hide(page);
    await scanAs(login, await testDevice());
    const scanned = await page.next();
    expect(scanned).toMatchObject({ state: 'scanned' });
    expect(scanned).not.toHaveProperty('loginUrl');
    // Scanned: waiting for the person on the phone, with no frames to push.
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await nextAfterProbe(page)).toMatchObject({ status: 400 });
    expect(await alarmOf(login)).toBe(login.snapshot.expiresAt);
    page.close();
  });

  it('"hidden" is one of the page messages; an unknown one names it among the expected types', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    page.send('{"type":"hide"}');
    expect(await page.next()).toMatchObject({ status: 400, detail: expect.stringContaining('"hidden"') });
    page.close();
  });
});

describe('the page socket is not compressed', () => {
  it('the upgrade declares no permessage-deflate even when the browser offers it', async () => {
    const login = await startTestLogin();
    const res = await call(`/login/${login.id}/ws`, {
      headers: { Upgrade: 'websocket', Cookie: login.cookie, 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
    });
    expect(res.status).toBe(101);
    expect(res.headers.get('Sec-WebSocket-Extensions')).toBe(NO_WEBSOCKET_EXTENSIONS);
    expect(NO_WEBSOCKET_EXTENSIONS).not.toContain('permessage-deflate');
    res.webSocket!.accept();
    res.webSocket!.close(1000, 'done');
  });
});
