import { describe, expect, it } from 'vitest';
import { createLogin, transition, type LoginEvent, type LoginRecord, type LoginState } from '../../src/session/machine.ts';

const T0 = 1_800_000_000_000;
const fresh = (): LoginRecord => createLogin(T0, 180);
const at = (ms: number) => T0 + ms;

function apply(record: LoginRecord, ...events: LoginEvent[]): LoginRecord {
  return events.reduce((r, e) => transition(r, e).record, record);
}
const scanned = () => apply(fresh(), { type: 'scan', deviceId: 'A', at: at(1000) });
const inState = (state: LoginState): LoginRecord => {
  switch (state) {
    case 'pending':
      return fresh();
    case 'scanned':
      return scanned();
    case 'approved':
      return apply(scanned(), { type: 'approve', deviceId: 'A', at: at(2000) });
    case 'denied':
      return apply(scanned(), { type: 'deny', deviceId: 'A', at: at(2000) });
    case 'expired':
      return apply(fresh(), { type: 'expire', at: at(180_000) });
    case 'cancelled':
      return apply(fresh(), { type: 'cancel', at: at(1000) });
  }
};

describe('createLogin', () => {
  it('starts pending, valid for the given seconds', () => {
    expect(fresh()).toEqual({ state: 'pending', createdAt: T0, expiresAt: T0 + 180_000 });
  });
  it('refuses a non-positive validity', () => {
    expect(() => createLogin(T0, 0)).toThrow(RangeError);
    expect(() => createLogin(T0, Number.NaN)).toThrow(RangeError);
  });
});

describe('allowed transitions', () => {
  it('pending → scanned records the claiming device', () => {
    const r = transition(fresh(), { type: 'scan', deviceId: 'A', at: at(1000) });
    expect(r).toMatchObject({ ok: true, changed: true, record: { state: 'scanned', deviceId: 'A', scannedAt: at(1000) } });
  });
  it('scanned → approved and scanned → denied by the claiming device', () => {
    expect(transition(scanned(), { type: 'approve', deviceId: 'A', at: at(2000) }).record).toMatchObject({
      state: 'approved',
      endedAt: at(2000),
    });
    expect(transition(scanned(), { type: 'deny', deviceId: 'A', at: at(2000) }).record.state).toBe('denied');
  });
  it.each(['pending', 'scanned'] as const)('%s → expired at the deadline and → cancelled', (state) => {
    expect(transition(inState(state), { type: 'expire', at: at(180_000) })).toMatchObject({
      ok: true,
      changed: true,
      record: { state: 'expired' },
    });
    expect(transition(inState(state), { type: 'cancel', at: at(3000) }).record.state).toBe('cancelled');
  });
  it('approved → redeemed once', () => {
    const r = transition(inState('approved'), { type: 'redeem', at: at(3000) });
    expect(r).toMatchObject({ ok: true, changed: true, record: { state: 'approved', redeemedAt: at(3000) } });
    expect(transition(r.record, { type: 'redeem', at: at(4000) })).toMatchObject({
      ok: false,
      refusal: 'already-redeemed',
      changed: false,
    });
  });
});

describe('forbidden transitions change nothing', () => {
  const cases: [LoginState, LoginEvent, string][] = [
    ['pending', { type: 'approve', deviceId: 'A', at: at(1) }, 'not-scanned'],
    ['pending', { type: 'deny', deviceId: 'A', at: at(1) }, 'not-scanned'],
    ['pending', { type: 'redeem', at: at(1) }, 'not-approved'],
    ['scanned', { type: 'scan', deviceId: 'B', at: at(1500) }, 'claimed'],
    ['scanned', { type: 'approve', deviceId: 'B', at: at(1500) }, 'wrong-device'],
    ['scanned', { type: 'deny', deviceId: 'B', at: at(1500) }, 'wrong-device'],
    ['scanned', { type: 'redeem', at: at(1500) }, 'not-approved'],
    ['approved', { type: 'deny', deviceId: 'A', at: at(3000) }, 'ended'],
    ['approved', { type: 'scan', deviceId: 'A', at: at(3000) }, 'ended'],
    ['approved', { type: 'cancel', at: at(3000) }, 'ended'],
    ['denied', { type: 'approve', deviceId: 'A', at: at(3000) }, 'ended'],
    ['denied', { type: 'redeem', at: at(3000) }, 'not-approved'],
    ['expired', { type: 'scan', deviceId: 'A', at: at(200_000) }, 'expired'],
    ['expired', { type: 'approve', deviceId: 'A', at: at(200_000) }, 'expired'],
    ['expired', { type: 'cancel', at: at(200_000) }, 'expired'],
    ['cancelled', { type: 'scan', deviceId: 'A', at: at(3000) }, 'ended'],
    ['cancelled', { type: 'approve', deviceId: 'A', at: at(3000) }, 'ended'],
  ];
  it.each(cases)('%s + %o → %s', (state, event, refusal) => {
    const record = inState(state);
    const result = transition(record, event);
    expect(result).toMatchObject({ ok: false, refusal, changed: false });
    expect(result.record).toBe(record);
  });
});

describe('idempotence', () => {
  it('the same device scanning again, a repeated decision, a second expiry or cancel change nothing', () => {
    expect(transition(scanned(), { type: 'scan', deviceId: 'A', at: at(1500) })).toMatchObject({ ok: true, changed: false });
    expect(transition(inState('approved'), { type: 'approve', deviceId: 'A', at: at(3000) })).toMatchObject({
      ok: true,
      changed: false,
    });
    expect(transition(inState('expired'), { type: 'expire', at: at(200_000) })).toMatchObject({ ok: true, changed: false });
    expect(transition(inState('cancelled'), { type: 'cancel', at: at(3000) })).toMatchObject({ ok: true, changed: false });
  });
  it('an early alarm changes nothing; terminal states ignore expiry', () => {
    expect(transition(fresh(), { type: 'expire', at: at(1000) })).toMatchObject({ ok: true, changed: false, record: { state: 'pending' } });
    for (const state of ['approved', 'denied', 'cancelled'] as const) {
      expect(transition(inState(state), { type: 'expire', at: at(500_000) }).record.state).toBe(state);
    }
  });
});

describe('the deadline comes first', () => {
  it('an answer at or after expiresAt expires the login and is refused', () => {
    const result = transition(scanned(), { type: 'approve', deviceId: 'A', at: at(180_000) });
    expect(result).toMatchObject({ ok: false, refusal: 'expired', changed: true, record: { state: 'expired' } });
  });
  it('a scan one millisecond before the deadline still counts', () => {
    expect(transition(fresh(), { type: 'scan', deviceId: 'A', at: at(179_999) }).record.state).toBe('scanned');
  });
});
