/** The pairing's pure parts: the state machine, the URL and signed messages, the short name, the web app's routes. */
import { describe, expect, it } from 'vitest';
import { routeFromLocation } from '../../client/app/lib/route.ts';
import { shortPersonName } from '../../src/identity/identities.ts';
import { createPairing, pairingTransition, type PairingRecord } from '../../src/pairing/machine.ts';
import { buildPairingUrl, pairClaimMessage, pairConfirmMessage, parsePairingUrl } from '../../src/pairing/protocol.ts';

const ID = 'a'.repeat(64);

describe('pairing state machine', () => {
  const start = createPairing(1_000);
  const claimed = (pairingTransition(start, { type: 'claim', thumbprint: 'k1', at: 2_000 }) as { record: PairingRecord }).record;

  it('lives 4 minutes and moves pending → claimed → completed, idempotently', () => {
    expect(start).toEqual({ state: 'pending', createdAt: 1_000, expiresAt: 241_000 });
    expect(claimed).toMatchObject({ state: 'claimed', thumbprint: 'k1' });
    expect(pairingTransition(claimed, { type: 'claim', thumbprint: 'k1', at: 3_000 })).toMatchObject({ ok: true, changed: false });
    const done = pairingTransition(claimed, { type: 'confirm', at: 4_000 });
    expect(done).toMatchObject({ ok: true, changed: true, record: { state: 'completed', endedAt: 4_000 } });
    expect(pairingTransition(done.record, { type: 'confirm', at: 5_000 })).toMatchObject({ ok: true, changed: false });
  });

  it('keeps terminal states and refuses what does not fit', () => {
    expect(pairingTransition(claimed, { type: 'claim', thumbprint: 'k2', at: 3_000 })).toMatchObject({ ok: false, refusal: 'claimed' });
    expect(pairingTransition(start, { type: 'confirm', at: 3_000 })).toMatchObject({ ok: false, refusal: 'not-claimed' });
    const cancelled = pairingTransition(claimed, { type: 'cancel', at: 3_000 }).record;
    expect(pairingTransition(cancelled, { type: 'confirm', at: 4_000 })).toMatchObject({ ok: false, refusal: 'ended', record: { state: 'cancelled' } });
    expect(pairingTransition(cancelled, { type: 'expire', at: 999_000 })).toMatchObject({ ok: true, changed: false, record: { state: 'cancelled' } });
  });

  it('expires at the deadline whatever the event, so a late confirmation never completes', () => {
    expect(pairingTransition(claimed, { type: 'confirm', at: 241_000 })).toMatchObject({ ok: false, refusal: 'expired', changed: true, record: { state: 'expired' } });
    expect(pairingTransition(start, { type: 'expire', at: 240_999 })).toMatchObject({ ok: true, changed: false, record: { state: 'pending' } });
  });
});

describe('pairing protocol', () => {
  it('round-trips the pairing URL and refuses look-alikes', () => {
    const url = buildPairingUrl('https://login.example', ID, 'S'.repeat(32));
    expect(parsePairingUrl(url)).toEqual({ origin: 'https://login.example', pairingId: ID, secret: 'S'.repeat(32) });
    expect(parsePairingUrl(url.replace('/key/pair', '/key/login'))).toBeNull();
    expect(parsePairingUrl(`https://login.example/key/pair#${ID}.short`)).toBeNull();
  });

  it('signs exact five-line messages that name the pairing', () => {
    expect(new TextDecoder().decode(pairClaimMessage({ pairingId: ID, thumbprint: 'tp' }))).toBe(`mobile-key-v1\npair-claim\n${ID}\n-\ntp`);
    expect(new TextDecoder().decode(pairConfirmMessage({ pairingId: ID, nonce: 'n1', deviceId: 'dev_x' }))).toBe(`mobile-key-v1\npair-confirm\n${ID}\nn1\ndev_x`);
    expect(() => pairConfirmMessage({ pairingId: ID, nonce: 'n\n1', deviceId: 'dev_x' })).toThrow(TypeError);
    expect(() => pairClaimMessage({ pairingId: 'x', thumbprint: 'tp' })).toThrow(TypeError);
  });

  it('shows the person as a given name and an initial, never hostile text', () => {
    expect(shortPersonName({ given_name: 'Jana', family_name: 'Nováková' })).toBe('Jana N.');
    expect(shortPersonName({ given_name: 'Jana' })).toBe('Jana');
    expect(shortPersonName({ family_name: 'čermáková' })).toBe('Č.');
    expect(shortPersonName({ given_name: 'Ja\u202Ena', family_name: 'Nováková' })).toBe('N.');
    expect(shortPersonName({})).toBe('');
  });

  it('routes /key/pair to starting and /key/pair#… to joining', () => {
    const at = (hash: string) => routeFromLocation({ origin: 'https://login.example', pathname: '/key/pair', hash });
    expect(at('')).toEqual({ screen: 'pair-start' });
    expect(at(`#${ID}.${'S'.repeat(20)}`)).toEqual({ screen: 'pair-join', pairingId: ID, secret: 'S'.repeat(20) });
    expect(at('#broken')).toEqual({ screen: 'pair-invalid' });
  });
});
