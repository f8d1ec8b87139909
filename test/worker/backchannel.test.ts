/**
 * Back-Channel Logout 1.0 delivery: a receiver stands in for the relying service (outbound fetch
 * intercepted) and validates each logout token with jose against our published /jwks, as an RP
 * would (§2.6).
 */
import { env } from 'cloudflare:workers';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  deliverBackchannelLogout,
  nextRetryDelayMs,
  outcomeOfStatus,
} from '../../src/oidc/backchannel.ts';
import { registerClient, type IdTokenAlg } from '../../src/oidc/clients.ts';
import { randomToken } from '../../src/session/crypto.ts';
import { call } from './helpers.ts';

interface Received {
  url: string;
  contentType: string | null;
  header: ReturnType<typeof decodeProtectedHeader>;
  claims: JWTPayload;
}

/**
 * A back-channel receiver at `uri`: validates the request the way Back-Channel Logout 1.0 §2.6
 * tells an RP to, records what it got, and answers with the next status of `statuses` (the last
 * one repeats). A status of 0 is a network failure.
 */
async function receiver(uri: string, clientId: string, statuses: number[]) {
  const jwks = createLocalJWKSet((await (await call('/jwks')).json()) as JSONWebKeySet);
  const received: Received[] = [];
  const errors: unknown[] = [];
  const real = globalThis.fetch;
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== uri) return real(input, init);
    const status = statuses[Math.min(received.length + errors.length, statuses.length - 1)]!;
    try {
      expect(request.method).toBe('POST');
      const form = await request.formData();
      expect([...form.keys()]).toEqual(['logout_token']);
      const token = String(form.get('logout_token'));
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: env.ISSUER,
        audience: clientId,
        typ: 'logout+jwt',
        requiredClaims: ['iat', 'exp', 'jti', 'sid', 'sub', 'events'],
      });
      received.push({ url: request.url, contentType: request.headers.get('Content-Type'), header: protectedHeader, claims: payload });
    } catch (error) {
      errors.push(error);
      return new Response('invalid logout token', { status: 400 });
    }
    if (status === 0) throw new TypeError('connection refused');
    return new Response(null, { status, headers: status === 302 ? { Location: 'https://elsewhere.example/' } : {} });
  });
  return { received, errors, spy };
}

async function clientWith(alg: IdTokenAlg = 'RS256', backchannel = true) {
  const uri = `https://rp.example/backchannel/${randomToken(6)}`;
  const { client } = await registerClient(env.DB, {
    name: 'Portál',
    redirectUris: ['https://rp.example/cb'],
    idTokenAlg: alg,
    ...(backchannel ? { backchannelLogoutUri: uri } : {}),
  });
  return { clientId: client.clientId, uri };
}

afterEach(() => vi.restoreAllMocks());

describe('deliverBackchannelLogout', () => {
  it.each(['RS256', 'ES256'] as const)('POSTs a valid logout token (%s) that the receiver verifies against /jwks', async (alg) => {
    const { clientId, uri } = await clientWith(alg);
    const rp = await receiver(uri, clientId, [200]);
    const before = Math.floor(Date.now() / 1000);
    expect(await deliverBackchannelLogout(env, { clientId, sub: 'sub-jana', sid: 'sid-123' })).toBe('delivered');
    expect(rp.errors).toEqual([]);
    expect(rp.received).toHaveLength(1);
    const [{ header, claims, contentType }] = rp.received as [Received];
    expect(contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(header).toMatchObject({ alg, typ: 'logout+jwt' });
    expect(header.kid).toBeTruthy();
    expect(claims).toMatchObject({ iss: env.ISSUER, aud: clientId, sub: 'sub-jana', sid: 'sid-123' });
    expect(claims.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
    expect(claims).not.toHaveProperty('nonce');
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
    expect(claims.exp!).toBeGreaterThan(claims.iat!);
  });

  it('a receiver that fails first answers retry; the retry is delivered with a fresh jti', async () => {
    const { clientId, uri } = await clientWith();
    const rp = await receiver(uri, clientId, [503, 0, 204]);
    const delivery = { clientId, sub: 'sub-jana', sid: 'sid-retry' };
    expect(await deliverBackchannelLogout(env, delivery)).toBe('retry');
    expect(await deliverBackchannelLogout(env, delivery)).toBe('retry');
    expect(await deliverBackchannelLogout(env, delivery)).toBe('delivered');
    expect(rp.errors).toEqual([]);
    expect(rp.received.map((r) => r.claims.sid)).toEqual(['sid-retry', 'sid-retry', 'sid-retry']);
    expect(new Set(rp.received.map((r) => r.claims.jti)).size).toBe(3);
  });

  it.each([
    [400, 'refused'],
    [401, 'refused'],
    [302, 'refused'],
    [429, 'retry'],
    [408, 'retry'],
    [500, 'retry'],
  ] as const)('HTTP %i from the receiver is %s', async (status, outcome) => {
    const { clientId, uri } = await clientWith();
    await receiver(uri, clientId, [status]);
    expect(await deliverBackchannelLogout(env, { clientId, sub: 's', sid: 'x' })).toBe(outcome);
  });

  it('a client without a backchannel_logout_uri, or unknown, is not-registered and nothing is sent', async () => {
    const { clientId } = await clientWith('RS256', false);
    const spy = vi.spyOn(globalThis, 'fetch');
    expect(await deliverBackchannelLogout(env, { clientId, sub: 's', sid: 'x' })).toBe('not-registered');
    expect(await deliverBackchannelLogout(env, { clientId: 'client_gone', sub: 's', sid: 'x' })).toBe('not-registered');
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('retry schedule and outcomes', () => {
  it('backs off and gives up after a bounded time', () => {
    const delays: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const delay = nextRetryDelayMs(attempt);
      if (delay === null) break;
      delays.push(delay);
    }
    expect(delays.length).toBeGreaterThan(2);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2 * 60 * 60_000);
    expect(nextRetryDelayMs(100)).toBeNull();
  });

  it('maps statuses as Back-Channel Logout §2.8 describes', () => {
    expect(outcomeOfStatus(200)).toBe('delivered');
    expect(outcomeOfStatus(204)).toBe('delivered');
    expect(outcomeOfStatus(400)).toBe('refused');
    expect(outcomeOfStatus(501)).toBe('retry');
  });
});
