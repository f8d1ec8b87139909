/** The browser session's pure logic: lifetime, end, retries (lifetime.ts) and the SSO decision (oidc/sso.ts). */
import { describe, expect, it } from 'vitest';
import {
  afterTry,
  deadlines,
  end,
  endedBy,
  ENDED_RETENTION_MS,
  lifetimes,
  nextAlarm,
  touch,
  withClient,
  type SessionRecord,
} from '../../src/browser-session/lifetime.ts';
import { nextRetryDelayMs } from '../../src/oidc/backchannel.ts';
import { decideSso } from '../../src/oidc/sso.ts';

const T0 = 1_800_000_000_000;
const record = (over: Partial<SessionRecord> = {}): SessionRecord => ({
  secretHash: 'h',
  sid: 'sid1',
  sub: 'sub_jana',
  authTime: T0 / 1000,
  acr: 'acr',
  amr: ['pop'],
  deviceId: 'dev1',
  clients: [],
  createdAt: T0,
  lastSeenAt: T0,
  idleSeconds: 1800,
  absoluteSeconds: 28800,
  ...over,
});

describe('lifetime', () => {
  it('reads the configured lifetimes in seconds, with defaults of 30 min and 8 h', () => {
    expect(lifetimes({ SESSION_IDLE_SECONDS: '60', SESSION_ABSOLUTE_SECONDS: '600' })).toEqual({ idleSeconds: 60, absoluteSeconds: 600 });
    expect(lifetimes({})).toEqual({ idleSeconds: 1800, absoluteSeconds: 28800 });
    expect(lifetimes({ SESSION_IDLE_SECONDS: 'x', SESSION_ABSOLUTE_SECONDS: '-1' })).toEqual({ idleSeconds: 1800, absoluteSeconds: 28800 });
  });

  it('ends idle 30 min after the last use and absolutely 8 h after the start', () => {
    const r = record();
    expect(deadlines(r)).toEqual({ idle: T0 + 1800_000, absolute: T0 + 28800_000 });
    expect(endedBy(r, T0 + 1799_999)).toBeNull();
    expect(endedBy(r, T0 + 1800_000)).toBe('idle');
    const used = touch(touch(r, T0 + 1700_000), T0 + 1700_000 * 2);
    expect(endedBy(used, T0 + 3400_000 + 1799_999)).toBeNull();
    expect(endedBy(record({ lastSeenAt: T0 + 28000_000 }), T0 + 28800_000)).toBe('absolute');
  });

  it('touch never moves the clock back or revives an ended session', () => {
    const r = record({ lastSeenAt: T0 + 10 });
    expect(touch(r, T0)).toBe(r);
    const ended = end(r, 'logout', T0 + 20).record;
    expect(touch(ended, T0 + 30)).toBe(ended);
  });

  it('end is idempotent and owes one delivery per client, due at once', () => {
    const r = withClient(withClient(withClient(record(), 'a'), 'b'), 'a');
    expect(r.clients).toEqual(['a', 'b']);
    const first = end(r, 'logout', T0 + 5);
    expect(first.record).toMatchObject({ endedAt: T0 + 5, endReason: 'logout' });
    expect(first.owed).toEqual([
      { clientId: 'a', sub: 'sub_jana', sid: 'sid1', attempt: 0, dueAt: T0 + 5 },
      { clientId: 'b', sub: 'sub_jana', sid: 'sid1', attempt: 0, dueAt: T0 + 5 },
    ]);
    const second = end(first.record, 'idle', T0 + 9);
    expect(second.owed).toEqual([]);
    expect(second.record.endReason).toBe('logout');
  });

  it('retries only `retry` outcomes, with the contract’s delays, and gives up when they run out', () => {
    const d = { clientId: 'a', sub: 's', sid: 'x', attempt: 0, dueAt: T0 };
    expect(afterTry(d, 'delivered', T0, nextRetryDelayMs)).toBeNull();
    expect(afterTry(d, 'refused', T0, nextRetryDelayMs)).toBeNull();
    expect(afterTry(d, 'not-registered', T0, nextRetryDelayMs)).toBeNull();
    expect(afterTry(d, 'retry', T0, () => 60_000)).toEqual({ ...d, attempt: 1, dueAt: T0 + 60_000 });
    expect(afterTry({ ...d, attempt: 6 }, 'retry', T0, () => null)).toEqual({ gaveUp: true });
  });

  it('schedules the alarm at the session’s end, then the earliest delivery, then the end of retention', () => {
    const r = record();
    expect(nextAlarm(r, [])).toBe(T0 + 1800_000);
    const ended = end(r, 'logout', T0 + 1).record;
    expect(nextAlarm(ended, [{ clientId: 'a', sub: 's', sid: 'x', attempt: 1, dueAt: T0 + 9 }])).toBe(T0 + 9);
    expect(nextAlarm(ended, [])).toBe(T0 + 1 + ENDED_RETENTION_MS);
    expect(nextAlarm(undefined, [])).toBeNull();
  });
});

describe('decideSso (OIDC Core §3.1.2.1)', () => {
  const now = T0 / 1000;
  const session = { sub: 'sub_jana', authTime: now - 100 };
  it('answers silently from a valid session when nothing asks for more', () => {
    expect(decideSso({ prompt: [], session, now })).toEqual({ kind: 'silent' });
    expect(decideSso({ prompt: ['none'], session, now, maxAge: 100, idTokenHintSub: 'sub_jana', loginHintSub: 'sub_jana' })).toEqual({ kind: 'silent' });
  });
  it('asks the phone without a session, for prompt login/consent, an exceeded max_age or another identity', () => {
    expect(decideSso({ prompt: [], session: null, now })).toMatchObject({ kind: 'interactive', why: 'no-session' });
    for (const p of ['login', 'consent']) {
      expect(decideSso({ prompt: [p], session, now })).toMatchObject({ kind: 'interactive', why: `prompt-${p}` });
    }
    expect(decideSso({ prompt: [], session, now, maxAge: 99 })).toMatchObject({ why: 'max-age' });
    expect(decideSso({ prompt: [], session, now, maxAge: 0 })).toMatchObject({ why: 'max-age' });
    expect(decideSso({ prompt: [], session, now, idTokenHintSub: 'sub_petr' })).toMatchObject({ why: 'other-identity' });
    expect(decideSso({ prompt: [], session, now, loginHintSub: 'sub_petr' })).toMatchObject({ why: 'other-identity' });
  });
  it('select_account offers the choice only when the session could answer silently', () => {
    expect(decideSso({ prompt: ['select_account'], session, now })).toEqual({ kind: 'select' });
    expect(decideSso({ prompt: ['select_account'], session: null, now })).toMatchObject({ kind: 'interactive', why: 'no-session' });
    expect(decideSso({ prompt: ['select_account', 'login'], session, now })).toMatchObject({ kind: 'interactive', why: 'prompt-login' });
    expect(decideSso({ prompt: ['select_account'], session, now, maxAge: 10 })).toMatchObject({ kind: 'interactive', why: 'max-age' });
    expect(decideSso({ prompt: ['select_account'], session, now, loginHintSub: 'sub_petr' })).toMatchObject({ why: 'other-identity' });
  });
  it('with prompt=none every reason for a fresh approval is login_required', () => {
    for (const input of [{ session: null }, { session, maxAge: 10 }, { session, idTokenHintSub: 'sub_petr' }]) {
      expect(decideSso({ prompt: ['none'], now, ...input })).toMatchObject({ kind: 'error', error: 'login_required' });
    }
  });
});
