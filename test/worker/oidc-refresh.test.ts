/**
 * Refresh tokens (OIDC Core §11, §12; RFC 6749 §6; RFC 9700 §4.14) and their revocation
 * (RFC 7009), with oauth4webapi as the relying service.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_REFRESH_TOKEN_SECONDS, grantableScope, refreshedScope, refreshTokenSeconds } from '../../src/oidc/refresh-rules.ts';
import { DESCRIPTION_CHARS } from '../../src/oidc/descriptions.ts';
import { getClient } from '../../src/oidc/clients.ts';
import { consoleBrowser } from './console-support.ts';
import { heldClaimNames } from '../../src/oidc/claims.ts';
import { call, deviceKey, sign } from './helpers.ts';
import { authorize, basic, codeRequest, discover, loginFrom, newClient, newPerson, rp, token, type TestClient } from './oidc-support.ts';
import { authOf, enrolledPhone, loginForTokens, refresh, refreshClient, refreshError, userinfo } from './refresh-support.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock on by `ms` (the ID token's `iat` is in seconds), without waiting. */
function later(ms: number) {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + ms });
}

async function revoke(as: oauth.AuthorizationServer, tc: TestClient, value: string, hint?: string) {
  const res = await oauth.revocationRequest(as, tc.client, authOf(tc), value, {
    ...rp,
    ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}),
  });
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  await oauth.processRevocationResponse(res);
}

describe('when a refresh token is issued', () => {
  it('discovery offers the grant and the offline_access scope', async () => {
    const as = await discover();
    expect(as.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
    expect(as.scopes_supported).toContain('offline_access');
  });

  it('offline_access with prompt=consent for a client allowed the grant gives one, and the scope says so', async () => {
    const tc = await refreshClient();
    const { tokens } = await loginForTokens(tc);
    expect(tokens.refresh_token).toMatch(/^[\x20-\x7E]{40,}$/); // RFC 6749 A.17 characters, >= 256 bits
    expect(tokens.scope?.split(' ')).toEqual(['openid', 'profile', 'offline_access']);
  });

  it('without prompt=consent offline_access is ignored (OIDC Core §11): no refresh token, not in the scope', async () => {
    const tc = await refreshClient();
    const { tokens } = await loginForTokens(tc, { prompt: 'login' });
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.scope).toBe('openid profile');
  });

  it('a client not registered for the refresh_token grant gets none, and cannot use the grant', async () => {
    const tc = await newClient();
    const { as, tokens } = await loginForTokens(tc);
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.scope).toBe('openid profile');
    expect(await refreshError(as, tc, `rt_${'A'.repeat(43)}`)).toBe('unauthorized_client');
  });

  it('the phone is shown offline_access among what is released, only when it will be granted', async () => {
    const tc = await refreshClient();
    const person = await newPerson();
    const device = await enrolledPhone(person.sub);
    const scanned = async (extra: Record<string, string>) => {
      const login = await loginFrom(await authorize((await codeRequest(tc, { scope: 'openid profile offline_access', ...extra })).params));
      const context = await login.stub.scan({ frame: login.frame, device: deviceKey(device), signature: await sign(device, 'scan', login.id) });
      return context.ok ? heldClaimNames(context.value.claims, person.claims) : [];
    };
    expect(await scanned({ prompt: 'consent' })).toEqual(['name', 'given_name', 'family_name', 'birthdate', 'offline_access']);
    expect(await scanned({})).not.toContain('offline_access');
  });

  it('without offline_access there is none', async () => {
    const tc = await refreshClient();
    const { tokens } = await loginForTokens(tc, { scope: 'openid email' });
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('the grant lives 30 days by default, from the approval; REFRESH_TOKEN_SECONDS changes it', async () => {
    const tc = await refreshClient();
    await loginForTokens(tc);
    const row = await env.DB.prepare('SELECT created_at, expires_at FROM refresh_grants WHERE client_id = ?1')
      .bind(tc.client.client_id)
      .first<{ created_at: number; expires_at: number }>();
    expect(row!.expires_at - row!.created_at).toBe(30 * 24 * 3600 * 1000);
    expect(DEFAULT_REFRESH_TOKEN_SECONDS).toBe(2_592_000);
    expect(refreshTokenSeconds({ REFRESH_TOKEN_SECONDS: '3600' })).toBe(3600);
    for (const bad of ['', '0', '-5', '1.5', 'x', undefined]) expect(refreshTokenSeconds({ REFRESH_TOKEN_SECONDS: bad })).toBe(2_592_000);
  });

  it('tokens are stored only hashed', async () => {
    const tc = await refreshClient();
    const { tokens } = await loginForTokens(tc);
    const rows = await env.DB.prepare('SELECT * FROM refresh_tokens').all();
    expect(JSON.stringify(rows.results)).not.toContain(tokens.refresh_token!.slice(3));
  });
});

describe('refreshing', () => {
  it('rotates the refresh token; the new ID token keeps iss, sub, aud, auth_time, acr, amr, sid, nonce with a new iat', async () => {
    const tc = await refreshClient();
    const { as, person, tokens, claims } = await loginForTokens(tc);
    expect(claims.sid).toEqual(expect.any(String));
    later(2000);
    const next = await refresh(as, tc, tokens.refresh_token!);
    const second = oauth.getValidatedIdTokenClaims(next)!;
    expect(next.token_type).toBe('bearer');
    expect(next.refresh_token).toBeDefined();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.access_token).not.toBe(tokens.access_token);
    expect(next.expires_in).toBeGreaterThan(0);
    expect(next.scope).toBe('openid profile offline_access');
    for (const name of ['iss', 'sub', 'aud', 'auth_time', 'acr', 'amr', 'sid', 'nonce'] as const) expect(second[name]).toEqual(claims[name]);
    expect(second.sub).toBe(person.sub);
    expect(second.azp).toBeUndefined();
    expect(second.iat).toBeGreaterThan(claims.iat);
    // The new access token works at UserInfo, with the grant's scopes.
    const info = await userinfo(next.access_token);
    expect(info.body).toMatchObject({ sub: person.sub, given_name: 'Jana', family_name: 'Nováková' });
    expect(info.body).not.toHaveProperty('email');
    // And the rotated token keeps working in turn.
    const third = await refresh(as, tc, next.refresh_token!);
    expect(oauth.getValidatedIdTokenClaims(third)!.sub).toBe(person.sub);
  });

  it('a public client (PKCE) refreshes with its client_id alone', async () => {
    const tc = await refreshClient({ public: true });
    const { as, tokens, person } = await loginForTokens(tc);
    const next = await refresh(as, tc, tokens.refresh_token!);
    expect(oauth.getValidatedIdTokenClaims(next)!.sub).toBe(person.sub);
  });

  it('a reused refresh token is refused and revokes the whole grant with its access tokens (RFC 9700 §4.14.2)', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    const next = await refresh(as, tc, tokens.refresh_token!);
    expect((await userinfo(tokens.access_token)).status).toBe(200);
    expect(await refreshError(as, tc, tokens.refresh_token!)).toBe('invalid_grant');
    // The token the legitimate rotation issued is dead too, and so is every access token of the grant.
    expect(await refreshError(as, tc, next.refresh_token!)).toBe('invalid_grant');
    expect((await userinfo(next.access_token)).status).toBe(401);
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });

  it('two racing exchanges of one token: at most one succeeds, and the grant ends', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    const outcomes = await Promise.allSettled([refresh(as, tc, tokens.refresh_token!), refresh(as, tc, tokens.refresh_token!)]);
    const won = outcomes.filter((o): o is PromiseFulfilledResult<oauth.TokenEndpointResponse> => o.status === 'fulfilled');
    expect(won.length).toBeLessThanOrEqual(1);
    expect(outcomes.filter((o) => o.status === 'rejected').length).toBeGreaterThanOrEqual(1);
    if (won[0]) expect(await refreshError(as, tc, won[0].value.refresh_token!)).toBe('invalid_grant');
  });

  it('is bound to the client: another client’s credentials get invalid_grant and change nothing', async () => {
    const tc = await refreshClient();
    const stranger = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    expect(await refreshError(as, stranger, tokens.refresh_token!)).toBe('invalid_grant');
    const next = await refresh(as, tc, tokens.refresh_token!);
    expect(next.refresh_token).toBeDefined();
  });

  it('the wrong secret is invalid_client, and the token stays usable', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    const wrong = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { Authorization: basic(tc.client.client_id, 'wrong') });
    expect(wrong.res.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    await refresh(as, tc, tokens.refresh_token!);
  });

  it('stops when the approving key is revoked', async () => {
    const tc = await refreshClient();
    const { as, tokens, device } = await loginForTokens(tc);
    const next = await refresh(as, tc, tokens.refresh_token!);
    const revoked = await call(`/admin/devices/${device.id}/revoke`, { method: 'POST', headers: { Authorization: 'Bearer test-admin-token' } });
    expect(revoked.status).toBe(200);
    expect((await userinfo(next.access_token)).status).toBe(401);
    expect(await refreshError(as, tc, next.refresh_token!)).toBe('invalid_grant');
    const row = await env.DB.prepare('SELECT revoked_reason FROM refresh_grants WHERE client_id = ?1').bind(tc.client.client_id).first<{ revoked_reason: string }>();
    expect(row?.revoked_reason).toBe('device-revoked');
  });

  it('may narrow the scope; the refresh token keeps the grant’s; widening is invalid_scope', async () => {
    const tc = await refreshClient();
    const { as, person, tokens } = await loginForTokens(tc);
    const narrow = await refresh(as, tc, tokens.refresh_token!, 'openid');
    expect(narrow.scope).toBe('openid');
    expect((await userinfo(narrow.access_token)).body).toEqual({ sub: person.sub });
    expect(await refreshError(as, tc, narrow.refresh_token!, 'openid email')).toBe('invalid_scope');
    // A refused widening used nothing up: the same token refreshes to the whole grant again.
    const full = await refresh(as, tc, narrow.refresh_token!);
    expect(full.scope).toBe('openid profile offline_access');
    // Without openid: an access token and no ID token.
    const noId = await refresh(as, tc, full.refresh_token!, 'profile');
    expect(noId.id_token).toBeUndefined();
    expect(noId.scope).toBe('profile');
  });

  it('bad input is invalid_grant or invalid_request with a fixed description, never a 500', async () => {
    const tc = await refreshClient();
    const other = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    const { tokens: othersTokens } = await loginForTokens(other);
    const auth = { Authorization: basic(tc.client.client_id, tc.secret!) };
    const cases: [Record<string, string>, string][] = [
      [{ grant_type: 'refresh_token' }, 'invalid_request'],
      [{ grant_type: 'refresh_token', refresh_token: 'junk' }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: `rt_${'A'.repeat(43)}` }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: tokens.access_token }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: `${tokens.refresh_token!}x` }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: othersTokens.refresh_token! }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: 'x'.repeat(5000) }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: '"\\<script>' }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, scope: 'openid email "x"' }, 'invalid_scope'],
    ];
    for (const [form, error] of cases) {
      const { res, body } = await token(form, auth);
      expect(res.status, JSON.stringify(form)).toBe(400);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(body.error).toBe(error);
      expect(body.error_description).toMatch(DESCRIPTION_CHARS);
      expect(String(body.error_description)).not.toContain('script');
    }
    // None of that used the real tokens up.
    await refresh(as, tc, tokens.refresh_token!);
  });

  it('fuzzed refresh requests are 4xx OAuth errors with fixed descriptions, and spend nothing', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    const real = tokens.refresh_token!;
    const presented = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/),
      fc.integer({ min: 0, max: real.length - 1 }).map((i) => `${real.slice(0, i)}${real[i] === 'A' ? 'B' : 'A'}${real.slice(i + 1)}`),
      fc.constant(real.toLowerCase()),
      fc.constant(` ${real}`),
    );
    const scope = fc.option(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('openid phone', 'email', '')), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(presented, scope, async (value, s) => {
        fc.pre(value !== real);
        const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: value };
        if (s !== undefined) form.scope = s;
        const { res, body } = await token(form, { Authorization: basic(tc.client.client_id, tc.secret!) });
        expect(res.status).toBe(400);
        expect(['invalid_grant', 'invalid_request']).toContain(body.error);
        expect(String(body.error_description)).toMatch(DESCRIPTION_CHARS);
      }),
      { numRuns: 40 },
    );
    await refresh(as, tc, real);
  }, 30_000);

  it('an expired grant is invalid_grant', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    await env.DB.prepare('UPDATE refresh_grants SET expires_at = ?2 WHERE client_id = ?1').bind(tc.client.client_id, Date.now() - 1).run();
    const { body } = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(body).toEqual({ error: 'invalid_grant', error_description: 'the refresh token has expired' });
    expect(await refreshError(as, tc, tokens.refresh_token!)).toBe('invalid_grant');
  });
});

describe('revocation (RFC 7009) of refresh tokens', () => {
  for (const hint of [undefined, 'refresh_token', 'access_token']) {
    it(`revoking a refresh token (hint ${hint ?? 'none'}) ends its grant and the grant’s access tokens`, async () => {
      const tc = await refreshClient();
      const { as, tokens } = await loginForTokens(tc);
      const next = await refresh(as, tc, tokens.refresh_token!);
      await revoke(as, tc, next.refresh_token!, hint);
      expect(await refreshError(as, tc, next.refresh_token!)).toBe('invalid_grant');
      expect((await userinfo(next.access_token)).status).toBe(401);
      expect((await userinfo(tokens.access_token)).status).toBe(401);
    });
  }

  for (const hint of ['refresh_token', 'access_token']) {
    it(`revoking a refreshed access token (hint ${hint}) ends only that token`, async () => {
      const tc = await refreshClient();
      const { as, tokens } = await loginForTokens(tc);
      const next = await refresh(as, tc, tokens.refresh_token!);
      await revoke(as, tc, next.access_token, hint);
      expect((await userinfo(next.access_token)).status).toBe(401);
      expect((await userinfo(tokens.access_token)).status).toBe(200);
      await refresh(as, tc, next.refresh_token!);
    });
  }

  it('another client cannot revoke it; an unknown token is still 200', async () => {
    const tc = await refreshClient();
    const stranger = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    await revoke(as, stranger, tokens.refresh_token!);
    await revoke(as, stranger, `rt_${'B'.repeat(43)}`);
    await revoke(as, stranger, `at_${'B'.repeat(43)}`);
    const next = await refresh(as, tc, tokens.refresh_token!);
    await revoke(as, stranger, next.access_token);
    expect((await userinfo(next.access_token)).status).toBe(200);
  });

  it('needs client authentication', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    const res = await call('/revoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(tc.client.client_id, 'wrong') },
      body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' }),
    });
    expect(res.status).toBe(401);
    await refresh(as, tc, tokens.refresh_token!);
  });
});

describe('operator API: grant_types', () => {
  const ADMIN = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };
  const create = (extra: Record<string, unknown>) =>
    call('/admin/clients', { method: 'POST', headers: ADMIN, body: JSON.stringify({ name: 'Portál', redirect_uris: ['https://rp.example/cb'], ...extra }) });

  it('defaults to authorization_code; refresh_token can be allowed at registration and changed later', async () => {
    const plain = (await (await create({})).json()) as Record<string, unknown>;
    expect(plain.grant_types).toEqual(['authorization_code']);
    const res = await create({ grant_types: ['authorization_code', 'refresh_token'] });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created.grant_types).toEqual(['authorization_code', 'refresh_token']);
    const patched = await call(`/admin/clients/${String(created.client_id)}`, { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ grant_types: ['authorization_code'] }) });
    expect(((await patched.json()) as Record<string, unknown>).grant_types).toEqual(['authorization_code']);
    const shown = (await (await call(`/admin/clients/${String(created.client_id)}`, { headers: ADMIN })).json()) as Record<string, unknown>;
    expect(shown.grant_types).toEqual(['authorization_code']);
  });

  it.each([
    [['refresh_token'], 'must include authorization_code'],
    [['authorization_code', 'client_credentials'], 'only authorization_code and refresh_token'],
    [['authorization_code', 'authorization_code'], 'must not repeat'],
    ['refresh_token', ''],
  ])('refuses grant_types %j', async (grantTypes, reason) => {
    const res = await create({ grant_types: grantTypes });
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toMatch(/problem\+json/);
    if (reason) expect(JSON.stringify(await res.json())).toContain(reason);
  });

  it('the console registers a service with refresh tokens when the box is ticked, without otherwise', async () => {
    const admin = await consoleBrowser('admin');
    const page = await (await admin.get('/console/clients')).text();
    expect(page).toContain('name="refresh_token"');
    const idOf = async (res: Response) => /id="client-id">([^<]+)</.exec(await res.text())![1]!;
    const withRefresh = await idOf(await admin.post('/console/clients', { csrf: admin.csrf, name: 'Knihovna', redirect_uris: 'https://knihovna.example/cb', refresh_token: '1' }));
    const without = await idOf(await admin.post('/console/clients', { csrf: admin.csrf, name: 'Knihovna 2', redirect_uris: 'https://knihovna.example/cb' }));
    expect((await getClient(env.DB, withRefresh))?.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    expect((await getClient(env.DB, without))?.grantTypes).toEqual(['authorization_code']);
  });

  it('a client whose refresh_token grant is taken away can no longer refresh', async () => {
    const tc = await refreshClient();
    const { as, tokens } = await loginForTokens(tc);
    await call(`/admin/clients/${tc.client.client_id}`, { method: 'PATCH', headers: ADMIN, body: JSON.stringify({ grant_types: ['authorization_code'] }) });
    expect(await refreshError(as, tc, tokens.refresh_token!)).toBe('unauthorized_client');
  });
});

describe('refresh rules (pure)', () => {
  const allowed = { grantTypes: ['authorization_code', 'refresh_token'] as const };
  it('offline_access is kept only with prompt=consent and a client allowed the grant', () => {
    expect(grantableScope('openid offline_access', 'consent', { grantTypes: [...allowed.grantTypes] })).toBe('openid offline_access');
    expect(grantableScope('openid offline_access', 'login consent', { grantTypes: [...allowed.grantTypes] })).toBe('openid offline_access');
    expect(grantableScope('openid offline_access', undefined, { grantTypes: [...allowed.grantTypes] })).toBe('openid');
    expect(grantableScope('openid offline_access', 'consent', { grantTypes: ['authorization_code'] })).toBe('openid');
    expect(grantableScope('openid email', 'consent', { grantTypes: [...allowed.grantTypes] })).toBe('openid email');
  });

  it('a refresh may ask for a subset of the granted scope, in the grant’s order', () => {
    expect(refreshedScope('openid profile offline_access', undefined)).toBe('openid profile offline_access');
    expect(refreshedScope('openid profile offline_access', 'profile openid')).toBe('openid profile');
    expect(refreshedScope('openid profile', 'openid unknown-scope')).toBe('openid');
    expect(() => refreshedScope('openid profile', 'openid email')).toThrow(/invalid_scope/);
    expect(() => refreshedScope('openid profile', 'unknown-scope')).toThrow(/invalid_scope/);
  });
});

