/**
 * Faults around a login's deadline: alarms that run more than once (alarms are at-least-once)
 * and a phone's answer racing the expiry alarm, in either order and concurrently. Each must end
 * in exactly one terminal state, and the page must receive exactly one terminal snapshot.
 *
 * "Exactly one" is checked with a barrier rather than a wait: the page sends `{"type":"ping"}`
 * and the runtime's `pong` comes back on the same ordered socket, so every snapshot the object
 * sent before it is already in the queue. Deadlines are moved by rewriting the stored record
 * (runInDurableObject) and alarms are run with runDurableObjectAlarm: no sleeps.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/session/crypto.ts';
import type { Result } from '../../src/session/types.ts';
import type { LoginRecord } from '../../src/session/machine.ts';
import { unwrap } from '../../src/session/stub.ts';
import { answerAs, deviceKey, openPage, scanAs, sign, startTestLogin, testDevice, type PageSocket, type TestDevice, type TestLogin } from './helpers.ts';

const TERMINAL = ['approved', 'denied', 'expired', 'cancelled'];

/** Puts the login's deadline at `at` (epoch ms, default: now) and its alarm with it. */
async function deadlineAt(login: TestLogin, at?: number): Promise<number> {
  return runInDurableObject(login.stub, async (_instance, state) => {
    const deadline = at ?? Date.now();
    const record = (await state.storage.get<LoginRecord>('login'))!;
    await state.storage.put('login', { ...record, expiresAt: deadline });
    await state.storage.setAlarm(deadline);
    return deadline;
  });
}

/** The stored record, read inside the object. */
function stored(login: TestLogin): Promise<LoginRecord> {
  return runInDurableObject(login.stub, async (_i, state) => (await state.storage.get<LoginRecord>('login'))!);
}

/**
 * Every message the page received up to a ping/pong barrier (the pong itself excluded). The
 * runtime answers the ping without the object, so this covers what the object had already sent,
 * not replies to messages the page sent just before.
 */
async function drain(page: PageSocket): Promise<Record<string, unknown>[]> {
  page.send('{"type":"ping"}');
  const received: Record<string, unknown>[] = [];
  for (;;) {
    const message = await page.next();
    if (message.type === 'pong') return received;
    received.push(message);
  }
}

/** A started login, its page (first snapshot consumed) and a device that has scanned it. */
async function scannedLogin() {
  const login = await startTestLogin();
  const page = await openPage(login.id, login.cookie);
  expect(await page.next()).toMatchObject({ id: login.id, state: 'pending' });
  const phone = await testDevice();
  const nonce = await scanAs(login, phone);
  expect(await page.next()).toMatchObject({ id: login.id, state: 'scanned' });
  return { login, page, phone, nonce };
}

/** Asserts one terminal state in storage and exactly one terminal snapshot (equal to it) on the page. */
async function expectOneTerminal(login: TestLogin, page: PageSocket, state: string) {
  const record = await stored(login);
  expect(record.state).toBe(state);
  expect(record.endedAt).toBeTypeOf('number');
  const snapshots = await drain(page);
  expect(snapshots.map((s) => s.state)).toEqual([state]);
  expect(snapshots[0]!.id).toBe(login.id);
  expect(unwrap(await login.stub.read(await sha256Hex(login.cookie.split('=')[1]!))).state).toBe(state);
}

describe('an alarm that runs twice', () => {
  it('one after the other: expired once, one expired snapshot', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    await deadlineAt(login);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    const first = await stored(login);
    // The runtime may deliver the same alarm again: the handler itself, run a second time.
    await runInDurableObject(login.stub, (instance) => instance.alarm());
    expect(await stored(login)).toEqual(first);
    await expectOneTerminal(login, page, 'expired');
  });

  it('concurrently: expired once, one expired snapshot', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    await deadlineAt(login);
    await Promise.all([
      runDurableObjectAlarm(login.stub),
      runInDurableObject(login.stub, (instance) => instance.alarm()),
      runInDurableObject(login.stub, (instance) => instance.alarm()),
    ]);
    await expectOneTerminal(login, page, 'expired');
  });

  it('after an approval: the approval stands and the page hears nothing more', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    unwrap(await answerAs(login, phone, 'approve', nonce));
    await deadlineAt(login);
    await runDurableObjectAlarm(login.stub);
    await runInDurableObject(login.stub, (instance) => instance.alarm());
    await expectOneTerminal(login, page, 'approved');
  });
});

describe('an approval racing the expiry at the deadline', () => {
  it('answer first, then the alarm: the answer is refused as expired; expired once', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    await deadlineAt(login);
    expect(await answerAs(login, phone, 'approve', nonce)).toMatchObject({ ok: false, problem: { code: 'login-expired', status: 410 } });
    await runDurableObjectAlarm(login.stub);
    await expectOneTerminal(login, page, 'expired');
  });

  it('alarm first, then the answer: the answer is refused as expired; expired once', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    await deadlineAt(login);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    expect(await answerAs(login, phone, 'approve', nonce)).toMatchObject({ ok: false, problem: { code: 'login-expired' } });
    await expectOneTerminal(login, page, 'expired');
  });

  it('both at once (answer, deny and two alarm runs): expired once', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    await deadlineAt(login);
    const [approve, deny] = await Promise.all([
      answerAs(login, phone, 'approve', nonce),
      answerAs(login, phone, 'deny', nonce),
      runDurableObjectAlarm(login.stub),
      runInDurableObject(login.stub, (instance) => instance.alarm()),
    ]);
    expect(approve.ok).toBe(false);
    expect(deny.ok).toBe(false);
    await expectOneTerminal(login, page, 'expired');
  });

  it('answer just before the deadline, alarm after it: approved once', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    // The alarm comes early (before the deadline), re-arms itself and changes nothing.
    await runInDurableObject(login.stub, (instance) => instance.alarm());
    expect((await stored(login)).state).toBe('scanned');
    unwrap(await answerAs(login, phone, 'approve', nonce));
    await deadlineAt(login);
    await runDurableObjectAlarm(login.stub);
    await expectOneTerminal(login, page, 'approved');
  });

  it('a cancel from the page racing the alarm at the deadline: expired once', async () => {
    const { login, page } = await scannedLogin();
    await deadlineAt(login);
    page.send('{"type":"cancel"}');
    await runDurableObjectAlarm(login.stub);
    await expectOneTerminal(login, page, 'expired');
  });

  // Deadlines a few milliseconds ahead, with the runtime's own alarm armed at the deadline too:
  // which side wins depends on timing, but never both and never neither.
  for (const aheadMs of [0, 1, 2, 5, 10, 20]) {
    it(`racing with the deadline ${aheadMs} ms ahead: exactly one outcome, consistent everywhere`, async () => {
      const { login, page, phone, nonce } = await scannedLogin();
      const signed = answerAs(login, phone, 'approve', nonce);
      await deadlineAt(login, Date.now() + aheadMs);
      const [answer] = await Promise.all([signed, runDurableObjectAlarm(login.stub)]);
      const record = await stored(login);
      expect(TERMINAL).toContain(record.state);
      expect(answer.ok ? 'approved' : 'expired').toBe(record.state);
      if (!answer.ok) expect(answer.problem.code).toBe('login-expired');
      await expectOneTerminal(login, page, record.state);
    });
  }
});

describe('after the approval', () => {
  // The browser's page stays open (socket included) until the navigation to the relying service
  // commits, and the service redeems the code while handling that very navigation: the page must
  // not hear "approved" a second time then (a page that re-navigates on it would land on a spent code).
  it('redeeming the code sends the page no second approved snapshot', async () => {
    const authorization = { client_id: 'rp', redirect_uri: 'https://rp.example/cb', scope: 'openid' };
    const login = await startTestLogin({ authorization });
    const page = await openPage(login.id, login.cookie);
    await page.next();
    const phone = await testDevice();
    unwrap(await answerAs(login, phone, 'approve', await scanAs(login, phone)));
    const binding = await sha256Hex(login.cookie.split('=')[1]!);
    const { code } = unwrap((await login.stub.issueCode(binding)) as Result<{ code: string }>);
    const grant = await login.stub.redeemCode({ codeHash: await sha256Hex(code), clientId: 'rp', redirectUri: 'https://rp.example/cb' });
    expect(grant.ok).toBe(true);
    expect((await stored(login)).redeemedAt).toBeTypeOf('number');
    expect((await drain(page)).map((s) => s.state)).toEqual(['scanned', 'approved']);
  });
});

describe('hibernation', () => {
  it('an object evicted with its page socket hibernated still pushes the approval, once, and answers pings', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    await evictDurableObject(login.stub); // the runtime tears the instance down; the socket hibernates
    page.send('{"type":"ping"}'); // answered by the runtime without waking the object
    expect(await page.next()).toEqual({ type: 'pong' });
    unwrap(await answerAs(login, phone, 'approve', nonce));
    await evictDurableObject(login.stub);
    expect(await page.next()).toMatchObject({ state: 'approved' }); // the push
    page.send('{"type":"refresh"}'); // wakes the object from a message on the hibernated socket
    expect(await page.next()).toMatchObject({ state: 'approved', id: login.id }); // its reply
    expect(await drain(page)).toEqual([]);
  });

  it('an alarm that wakes an evicted object still reaches the hibernated page, once', async () => {
    const { login, page } = await scannedLogin();
    await deadlineAt(login);
    await evictDurableObject(login.stub);
    expect(await runDurableObjectAlarm(login.stub)).toBe(true);
    await expectOneTerminal(login, page, 'expired');
  });
});

describe('racing answers and scans', () => {
  it('approve and deny at once from the claiming device: exactly one takes effect', async () => {
    const { login, page, phone, nonce } = await scannedLogin();
    const results = await Promise.all([answerAs(login, phone, 'approve', nonce), answerAs(login, phone, 'deny', nonce)]);
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const loser = results.find((r) => !r.ok)!;
    expect(loser).toMatchObject({ ok: false, problem: { code: 'login-decided', status: 409 } });
    const final = (await stored(login)).state;
    expect(final).toBe(results[0]!.ok ? 'approved' : 'denied');
    await expectOneTerminal(login, page, final);
  });

  it('two devices scanning at once: one claims the login, the other is refused', async () => {
    const login = await startTestLogin();
    const page = await openPage(login.id, login.cookie);
    await page.next();
    const [a, b] = [await testDevice('Phone A'), await testDevice('Phone B')];
    const scan = async (device: TestDevice) =>
      login.stub.scan({ frame: login.frame, device: deviceKey(device), signature: await sign(device, 'scan', login.id) });
    const results = await Promise.all([scan(a), scan(b)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, problem: { code: 'login-claimed', status: 409 } });
    const snapshots = await drain(page);
    expect(snapshots.map((s) => s.state)).toEqual(['scanned']);
    expect(snapshots[0]).not.toHaveProperty('device');
  });
});
