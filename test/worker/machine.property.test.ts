import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogin, isTerminal, transition, type LoginEvent, type LoginRecord } from '../../src/session/machine.ts';

const T0 = 1_800_000_000_000;
const VALIDITY_MS = 180_000;

const device = fc.constantFrom('A', 'B', 'C');
const offset = fc.integer({ min: 0, max: VALIDITY_MS * 2 });
const event: fc.Arbitrary<LoginEvent> = fc.oneof(
  fc.record({ type: fc.constant('scan' as const), deviceId: device, at: offset }),
  fc.record({ type: fc.constant('approve' as const), deviceId: device, at: offset }),
  fc.record({ type: fc.constant('deny' as const), deviceId: device, at: offset }),
  fc.record({ type: fc.constant('expire' as const), at: offset }),
  fc.record({ type: fc.constant('cancel' as const), at: offset }),
  fc.record({ type: fc.constant('redeem' as const), at: offset }),
);
// Events arrive in time order, as they do in one Durable Object.
const history = fc
  .array(event, { maxLength: 30 })
  .map((events) => events.sort((a, b) => a.at - b.at).map((e) => ({ ...e, at: T0 + e.at })));

function run(events: LoginEvent[]): LoginRecord[] {
  const records = [createLogin(T0, VALIDITY_MS / 1000)];
  for (const e of events) records.push(transition(records.at(-1)!, e).record);
  return records;
}

describe('state machine properties', () => {
  it('a terminal state never changes, except that an approved login is redeemed at most once', () => {
    fc.assert(
      fc.property(history, (events) => {
        const records = run(events);
        const firstTerminal = records.findIndex((r) => isTerminal(r.state));
        if (firstTerminal < 0) return;
        const ended = records[firstTerminal]!;
        for (const later of records.slice(firstTerminal)) {
          expect(later.state).toBe(ended.state);
          expect(later.endedAt).toBe(ended.endedAt);
          expect(later.deviceId).toBe(ended.deviceId);
        }
        const redeemed = new Set(records.map((r) => r.redeemedAt).filter((t) => t !== undefined));
        expect(redeemed.size).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('only the device that scanned decides, and never after the deadline', () => {
    fc.assert(
      fc.property(history, (events) => {
        const records = run(events);
        const last = records.at(-1)!;
        if (last.state === 'approved' || last.state === 'denied') {
          const decided = events.find(
            (e) => (e.type === 'approve' || e.type === 'deny') && transition(records[events.indexOf(e)]!, e).changed,
          )!;
          expect('deviceId' in decided && decided.deviceId).toBe(last.deviceId);
          expect(last.endedAt!).toBeLessThan(last.expiresAt);
        }
      }),
    );
  });

  it('applying any event twice in a row changes nothing the second time', () => {
    fc.assert(
      fc.property(history, event, (events, e) => {
        const before = run(events).at(-1)!;
        const at = Math.max(before.endedAt ?? before.createdAt, T0 + e.at);
        const once = transition(before, { ...e, at });
        const twice = transition(once.record, { ...e, at });
        expect(twice.changed).toBe(false);
        expect(twice.record).toEqual(once.record);
      }),
    );
  });
});
