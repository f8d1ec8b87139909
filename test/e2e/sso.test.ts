/**
 * Single sign-on against a real `wrangler dev` (issue 10), with openid-client as two relying
 * services, the key CLI's library as the phone, and a cookie header as the browser: a silent
 * second login, prompt=none with and without the session, prompt=login giving a later auth_time.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStore } from '../../cli/lib/mobile-client.ts';
import { approveOnPhone, enrolPhone, registerRp, type FlowServer, type RpClient } from './flow.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

const SESSION_COOKIE = '__Host-mk_session';

interface Request {
  url: URL;
  codeVerifier: string;
  state: string;
  nonce: string;
}

function authorizationRequest(rp: RpClient, extra: Record<string, string> = {}): Request {
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid profile',
    state,
    nonce,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

function cookieFrom(res: Response, prefix: string): string | undefined {
  return res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith(prefix));
}

async function get(url: string | URL, cookie?: string): Promise<Response> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { Cookie: cookie } : {} });
  await res.arrayBuffer();
  return res;
}

async function redeem(rp: RpClient, request: Request, callback: URL) {
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: request.codeVerifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    idTokenExpected: true,
  });
  return tokens.claims()!;
}

describe('single sign-on under wrangler dev', () => {
  let server: RunningServer;
  let flow: FlowServer;
  let first: RpClient;
  let second: RpClient;
  let phone: KeyStore;

  beforeAll(async () => {
    server = await sharedTestServer();
    flow = { url: server.url, adminToken: server.secrets.ADMIN_TOKEN };
    first = await registerRp(flow, { name: 'Portál občana', redirectUri: 'http://127.0.0.1:9/first' });
    second = await registerRp(flow, { name: 'Daňová správa', redirectUri: 'http://127.0.0.1:9/second' });
    phone = await enrolPhone(flow);
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The browser's trip through the hosted page and the phone; returns the callback and the session cookie. */
  async function withPhone(rp: RpClient, request: Request, session?: string) {
    const authorized = await get(request.url, session);
    const loginId = /^\/login\/([0-9a-f]{64})$/.exec(authorized.headers.get('Location') ?? '')?.[1];
    expect(loginId, authorized.headers.get('Location') ?? '').toBeDefined();
    const binding = cookieFrom(authorized, '__Host-mk_login_')!;
    const state = await fetch(`${server.url}/login/${loginId}/state`, { headers: { Cookie: binding } });
    const { loginUrl } = (await state.json()) as { loginUrl: string };
    expect((await approveOnPhone(phone, loginUrl)).status).toBe('approved');
    const done = await get(`${server.url}/login/${loginId}/continue`, [binding, session].filter(Boolean).join('; '));
    expect(done.status).toBe(303);
    const callback = new URL(done.headers.get('Location')!);
    expect(callback.href.startsWith(rp.redirectUri)).toBe(true);
    return { callback, session: cookieFrom(done, `${SESSION_COOKIE}=`) ?? session };
  }

  it('a second service logs in silently; prompt=none works with the session and not without; prompt=login gives a later auth_time', async () => {
    const firstRequest = authorizationRequest(first);
    const login = await withPhone(first, firstRequest);
    expect(login.session).toMatch(/^__Host-mk_session=[0-9a-f]{64}\./);
    const original = await redeem(first, firstRequest, login.callback);
    expect(original.sub).toBe(phone.sub);
    expect(original.sid).toEqual(expect.any(String));

    // The second service asks for profile claims the person never consented to it: with
    // prompt=none that is consent_required (issue 12), never a silent release.
    const unconsented = authorizationRequest(second, { prompt: 'none' });
    const needsConsent = new URL((await get(unconsented.url, login.session)).headers.get('Location')!);
    expect(needsConsent.searchParams.get('error')).toBe('consent_required');
    expect(needsConsent.searchParams.get('state')).toBe(unconsented.state);

    // For `sub` alone no consent is needed: straight back with a code, no page, the same
    // person, sid and auth_time.
    const silentRequest = authorizationRequest(second, { prompt: 'none', scope: 'openid' });
    const silent = await get(silentRequest.url, login.session);
    expect(silent.status).toBe(303);
    const silentCallback = new URL(silent.headers.get('Location')!);
    expect(silentCallback.href.startsWith(second.redirectUri)).toBe(true);
    const again = await redeem(second, silentRequest, silentCallback);
    expect(again).toMatchObject({ sub: original.sub, sid: original.sid, auth_time: original.auth_time, aud: second.clientId });

    // Another browser (no cookie): prompt=none is login_required, with state and iss.
    const noSession = authorizationRequest(second, { prompt: 'none' });
    const refused = new URL((await get(noSession.url)).headers.get('Location')!);
    expect(refused.searchParams.get('error')).toBe('login_required');
    expect(refused.searchParams.get('state')).toBe(noSession.state);
    expect(refused.searchParams.get('iss')).toBe(server.url);

    // auth_time is in whole seconds: let the clock pass the next second so "later" is observable.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const loginRequest = authorizationRequest(first, { prompt: 'login' });
    const fresh = await withPhone(first, loginRequest, login.session);
    const renewed = await redeem(first, loginRequest, fresh.callback);
    expect(renewed.auth_time).toBeGreaterThan(original.auth_time!);
    expect(renewed.sid).toBe(original.sid);
  });
});
