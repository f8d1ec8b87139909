/**
 * The BrowserSession object: idle and absolute expiry by its alarm, ending by logout, and
 * back-channel logout delivery with retries from the alarm (issue 10). The delivery itself
 * (src/oidc/backchannel.ts) is replaced by a recording fake; its own tests live with it.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrowserSession, StartBrowserSession } from '../../src/browser-session/BrowserSession.ts';
import { browserSessionStub } from '../../src/browser-session/api.ts';
import { indexSessionUnlessRevoked, sessionsOfDevice } from '../../src/browser-session/index-db.ts';
import type { PendingDelivery, SessionRecord } from '../../src/browser-session/lifetime.ts';
import type { DeliveryOutcome, LogoutDelivery } from '../../src/oidc/backchannel.ts';
import { enrolTestDevice, revoke } from './identity-helpers.ts';

const fake = {
  calls: [] as LogoutDelivery[],
  answers: new Map<string, DeliveryOutcome[]>(),
  async deliver(_env: Env, delivery: LogoutDelivery): Promise<DeliveryOutcome> {
    fake.calls.push(delivery);
    return fake.answers.get(delivery.clientId)?.shift() ?? 'delivered';
  },
};

beforeEach(() => {
  fake.calls.length = 0;
  fake.answers.clear();
});

/** The runtime's real delivery, put back after this file: the worker project shares its isolate across files (`isolate: false`). */
let realDeliver: typeof BrowserSession.deliver | undefined;
afterAll(async () => {
  vi.restoreAllMocks();
  if (!realDeliver) return;
  const stub = browserSessionStub(env, env.BROWSER_SESSION.newUniqueId().toString())!;
  await runInDurableObject(stub, (instance: BrowserSession) => void ((instance.constructor as typeof BrowserSession).deliver = realDeliver!));
});

const SECRET_HASH = 'a'.repeat(64);

async function newSession(overrides: Partial<StartBrowserSession> = {}) {
  const id = env.BROWSER_SESSION.newUniqueId().toString();
  const stub = browserSessionStub(env, id)!;
  // The runtime's own class (the test's import may be another module instance).
  await runInDurableObject(stub, async (instance: BrowserSession) => {
    const runtime = instance.constructor as typeof BrowserSession;
    if (runtime.deliver !== fake.deliver) realDeliver = runtime.deliver;
    runtime.deliver = fake.deliver;
  });
  const view = await stub.create({
    secretHash: SECRET_HASH,
    sub: 'sub_jana',
    authTime: Math.floor(Date.now() / 1000),
    acr: 'urn:mobile-key:acr:mobile-key',
    amr: ['pop'],
    deviceId: `dev_${crypto.randomUUID()}`,
    idleSeconds: 1800,
    absoluteSeconds: 28800,
    ...overrides,
  });
  if (!view || view === 'device-revoked') throw new Error('a fresh BrowserSession was not created');
  // As /continue does before creating the session (src/browser-session/api.ts indexPlannedSession).
  await indexSessionUnlessRevoked(env.DB, { sessionId: id, deviceId: view.deviceId, sub: view.sub, expiresAt: Date.now() + 28_800_000 }).run();
  return { id, stub, view };
}

/** Shifts the session's clock marks `ms` into the past (as if that much time had passed). */
async function age(stub: DurableObjectStub<BrowserSession>, ms: { idle?: number; created?: number }) {
  await runInDurableObject(stub, async (_i: BrowserSession, state) => {
    const record = (await state.storage.get<SessionRecord>('session'))!;
    await state.storage.put('session', {
      ...record,
      lastSeenAt: record.lastSeenAt - (ms.idle ?? 0),
      createdAt: record.createdAt - (ms.created ?? 0),
    });
  });
}

const stored = (stub: DurableObjectStub<BrowserSession>) =>
  runInDurableObject(stub, async (_i: BrowserSession, state) => ({
    session: await state.storage.get<SessionRecord>('session'),
    pending: (await state.storage.get<PendingDelivery[]>('pending')) ?? [],
    alarm: await state.storage.getAlarm(),
  }));

describe('BrowserSession lifetime', () => {
  it('a new session has a sid, no clients, and an alarm at its idle deadline', async () => {
    const { stub, view } = await newSession();
    expect(view.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(view.clients).toEqual([]);
    const { session, alarm } = await stored(stub);
    expect(alarm).toBe(session!.lastSeenAt + 1800 * 1000);
  });

  it('stores only the secret’s hash; a wrong secret reads nothing', async () => {
    const { stub } = await newSession();
    expect(await stub.read('b'.repeat(64))).toBeNull();
    expect((await stub.read(SECRET_HASH))?.sub).toBe('sub_jana');
    expect((await stored(stub)).session!.secretHash).toBe(SECRET_HASH);
  });

  it('ends by itself when idle: the alarm ends it and tells every client', async () => {
    const { stub, view } = await newSession();
    await stub.addClient('client-a');
    await stub.addClient('client-b');
    await age(stub, { idle: 31 * 60_000 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stored(stub)).session!.endReason).toBe('idle');
    // The end schedules delivery at once; the next alarm delivers.
    await runDurableObjectAlarm(stub);
    expect(fake.calls).toEqual([
      { clientId: 'client-a', sub: 'sub_jana', sid: view.sid },
      { clientId: 'client-b', sub: 'sub_jana', sid: view.sid },
    ]);
    expect(await stub.read(SECRET_HASH)).toBeNull();
    expect(await sessionsOfDevice(env.DB, view.deviceId)).toEqual([]);
  });

  it('use moves the idle deadline, but never past the absolute lifetime', async () => {
    const { stub } = await newSession();
    await age(stub, { idle: 20 * 60_000 });
    expect(await stub.read(SECRET_HASH)).not.toBeNull(); // a use: idle restarts
    await runDurableObjectAlarm(stub);
    expect((await stored(stub)).session!.endedAt).toBeUndefined();
    await age(stub, { created: 8 * 3600_000 });
    expect(await stub.read(SECRET_HASH)).toBeNull();
    await runDurableObjectAlarm(stub);
    expect((await stored(stub)).session!.endReason).toBe('absolute');
  });

  it('an early alarm changes nothing', async () => {
    const { stub } = await newSession();
    await runDurableObjectAlarm(stub);
    const { session, alarm } = await stored(stub);
    expect(session!.endedAt).toBeUndefined();
    expect(alarm).toBe(session!.lastSeenAt + 1800 * 1000);
  });

  it('logout ends it once: the second end is null and delivers nothing more', async () => {
    const { stub, view } = await newSession();
    await stub.addClient('client-a');
    expect((await stub.end('logout', SECRET_HASH))?.sid).toBe(view.sid);
    expect(await stub.end('logout', SECRET_HASH)).toBeNull();
    await runDurableObjectAlarm(stub);
    expect(fake.calls.map((c) => c.clientId)).toEqual(['client-a']);
  });

  it('a key revoked before its session was created: the object refuses to start it, then forgets', async () => {
    const id = env.BROWSER_SESSION.newUniqueId().toString();
    const stub = browserSessionStub(env, id)!;
    // Revocation found the index row /continue wrote just before creating the session.
    expect(await stub.end('device-revoked')).toBeNull();
    const init: StartBrowserSession = { secretHash: SECRET_HASH, sub: 'sub_jana', authTime: 1, acr: 'a', amr: ['pop'], deviceId: 'dev_x', idleSeconds: 1800, absoluteSeconds: 28800 };
    expect(await stub.create(init)).toBe('device-revoked');
    expect(await stub.read(SECRET_HASH)).toBeNull();
    // The mark lasts until the object's alarm, which then deletes everything.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, async (_i: BrowserSession, state) => [...(await state.storage.list()).keys()])).toEqual([]);
  });

  it('a renewal by another key moves its index row to that key, but not to a revoked one', async () => {
    const { id, stub, view } = await newSession();
    const other = `dev_${crypto.randomUUID()}`;
    const renewed = await stub.reauthenticate(SECRET_HASH, { sub: view.sub, authTime: view.authTime + 60, deviceId: other });
    expect(renewed?.deviceId).toBe(other);
    expect([await sessionsOfDevice(env.DB, view.deviceId), await sessionsOfDevice(env.DB, other)]).toEqual([[], [id]]);
    // A key revoked between /continue's check and the renewal: the session stays as it was.
    const revoked = (await enrolTestDevice()).id;
    await revoke(revoked);
    expect(await stub.reauthenticate(SECRET_HASH, { sub: view.sub, authTime: view.authTime + 120, deviceId: revoked })).toBeNull();
    expect((await stub.read(SECRET_HASH))?.deviceId).toBe(other);
    expect([await sessionsOfDevice(env.DB, other), await sessionsOfDevice(env.DB, revoked)]).toEqual([[id], []]);
  });

  it('a wrong secret cannot end it', async () => {
    const { stub } = await newSession();
    expect(await stub.end('logout', 'c'.repeat(64))).toBeNull();
    expect(await stub.read(SECRET_HASH)).not.toBeNull();
  });
});

describe('BrowserSession back-channel delivery', () => {
  it('a failing client is retried from the alarm with backoff and does not hold up the others', async () => {
    const { stub } = await newSession();
    for (const client of ['down', 'up', 'refuses']) await stub.addClient(client);
    fake.answers.set('down', ['retry', 'retry', 'delivered']);
    fake.answers.set('refuses', ['refused']);
    await stub.end('logout');
    await runDurableObjectAlarm(stub);
    expect(fake.calls.map((c) => c.clientId)).toEqual(['down', 'up', 'refuses']);
    let { pending, alarm } = await stored(stub);
    expect(pending.map((d) => [d.clientId, d.attempt])).toEqual([['down', 1]]);
    expect(alarm).toBe(pending[0]!.dueAt);
    expect(pending[0]!.dueAt - Date.now()).toBeGreaterThan(30_000); // backoff: not at once again
    for (const attempt of [2, 3]) {
      await runInDurableObject(stub, async (_i: BrowserSession, state) => {
        const due = (await state.storage.get<PendingDelivery[]>('pending'))!.map((d) => ({ ...d, dueAt: Date.now() }));
        await state.storage.put('pending', due);
        await state.storage.setAlarm(Date.now());
      });
      await runDurableObjectAlarm(stub);
      ({ pending, alarm } = await stored(stub));
      expect(fake.calls.filter((c) => c.clientId === 'down')).toHaveLength(attempt);
    }
    expect(pending).toEqual([]);
  });

  it('gives up after the bounded number of retries and logs it', async () => {
    const logged = vi.spyOn(console, 'error');
    const { stub } = await newSession();
    await stub.addClient('never');
    fake.answers.set('never', Array<DeliveryOutcome>(20).fill('retry'));
    await stub.end('logout');
    for (let i = 0; i < 10; i++) {
      await runInDurableObject(stub, async (_i: BrowserSession, state) => {
        const due = ((await state.storage.get<PendingDelivery[]>('pending')) ?? []).map((d) => ({ ...d, dueAt: Date.now() }));
        await state.storage.put('pending', due);
        await state.storage.setAlarm(Date.now());
      });
      await runDurableObjectAlarm(stub);
    }
    expect(fake.calls.length).toBe(7); // the first try and six retries (nextRetryDelayMs)
    expect((await stored(stub)).pending).toEqual([]);
    const lines = logged.mock.calls.map(([m]) => String(m)).filter((m) => m.startsWith('{'));
    expect(lines.map((m) => JSON.parse(m) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ event: 'backchannel.delivery', outcome: 'gave-up', client_id: 'never' }),
    );
  });

  it('a client that redeems its code after the session ended is owed a logout token', async () => {
    const { stub } = await newSession();
    await stub.end('logout');
    expect(await stub.addClient('late')).toBe(false);
    await runDurableObjectAlarm(stub);
    expect(fake.calls.map((c) => c.clientId)).toEqual(['late']);
  });

  it('once nothing is owed and the retention passed, the object deletes everything', async () => {
    const { stub } = await newSession();
    await stub.end('logout');
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, async (_i: BrowserSession, state) => {
      const record = (await state.storage.get<SessionRecord>('session'))!;
      await state.storage.put('session', { ...record, endedAt: record.endedAt! - 11 * 60_000 });
      await state.storage.setAlarm(Date.now());
    });
    await runDurableObjectAlarm(stub);
    const { session, alarm } = await stored(stub);
    expect(session).toBeUndefined();
    expect(alarm).toBeNull();
  });
});
