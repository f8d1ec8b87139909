import { describe, expect, it } from 'vitest';
import { pickLocale, redirectTo } from '../../src/oidc/authorize.ts';
import { claimsForScopes, releasedClaims } from '../../src/oidc/claims.ts';
import { pkceMismatch, s256 } from '../../src/oidc/pkce.ts';
import { checkAccessToken, checkCode, loginIdOf, type CodeRecord } from '../../src/session/tokens.ts';

const LOGIN = 'a'.repeat(64);

describe('PKCE', () => {
  it('computes the RFC 7636 Appendix B example', async () => {
    expect(await s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('refuses a missing verifier, a wrong one, and a verifier for a code without a challenge', () => {
    expect(pkceMismatch(undefined, undefined)).toBeNull();
    expect(pkceMismatch('x', 'x')).toBeNull();
    expect(pkceMismatch('x', undefined)).toMatch(/required/);
    expect(pkceMismatch('x', 'y')).toMatch(/does not match/);
    expect(pkceMismatch(undefined, 'y')).toMatch(/without code_challenge/);
  });
});

describe('checkCode', () => {
  const code: CodeRecord = { hash: 'h', clientId: 'c', redirectUri: 'https://rp/cb', issuedAt: 0, expiresAt: 60_000 };
  const input = { codeHash: 'h', clientId: 'c', redirectUri: 'https://rp/cb' };

  it('accepts the bound client and redirect_uri before expiry', () => {
    expect(checkCode(code, input, 59_999)).toEqual({ ok: true });
  });

  it("flags a replay by the code's own client, even a late one; another client's is no replay", () => {
    const redeemed = { ...code, redeemedAt: 1 };
    expect(checkCode(redeemed, input, 120_000)).toMatchObject({ ok: false, replay: true });
    expect(checkCode(redeemed, { ...input, clientId: 'other' }, 0)).toEqual({ ok: false, replay: false, description: 'the code is invalid' });
  });

  it('refuses an unknown code, an expired code, another client, another redirect_uri', () => {
    expect(checkCode(undefined, input, 0)).toMatchObject({ ok: false, replay: false, description: 'the code is invalid' });
    expect(checkCode(code, { ...input, codeHash: 'x' }, 0)).toMatchObject({ ok: false, replay: false });
    expect(checkCode(code, input, 60_000)).toMatchObject({ ok: false, description: 'the code has expired' });
    expect(checkCode(code, { ...input, clientId: 'd' }, 0)).toMatchObject({ ok: false, replay: false, description: 'the code is invalid' });
    expect(checkCode(code, { ...input, redirectUri: 'https://rp/cb/' }, 0)).toMatchObject({ ok: false, replay: false });
  });

  it('checks access tokens for hash, revocation and expiry', () => {
    const token = { hash: 'h', clientId: 'c', sub: 's', scope: 'openid', issuedAt: 0, expiresAt: 10 };
    expect(checkAccessToken(token, 'h', 9)).toBeNull();
    expect(checkAccessToken(token, 'x', 9)).toMatch(/invalid/);
    expect(checkAccessToken(token, 'h', 10)).toMatch(/expired/);
    expect(checkAccessToken({ ...token, revokedAt: 5 }, 'h', 9)).toMatch(/revoked/);
  });
});

describe('loginIdOf', () => {
  it('routes `<login id>.<random>` and rejects anything else', () => {
    expect(loginIdOf(`${LOGIN}.${'b'.repeat(43)}`)).toBe(LOGIN);
    for (const bad of ['', LOGIN, `${LOGIN}.`, `${LOGIN.toUpperCase()}.${'b'.repeat(43)}`, `${LOGIN}.short`, `${LOGIN}.${'b'.repeat(43)}.x`]) {
      expect(loginIdOf(bad)).toBeNull();
    }
  });
});

describe('claims by scope', () => {
  const claims = { given_name: 'Jana', family_name: 'Nováková', email: 'j@example.cz', national_id: 'secret' };
  it('lists the claim names a scope set releases', () => {
    expect(claimsForScopes(['openid'])).toEqual([]);
    expect(claimsForScopes(['openid', 'email', 'unknown'])).toEqual(['email', 'email_verified']);
  });
  it('releases only held claims of the granted scopes, never others', () => {
    expect(releasedClaims('s', claims, ['openid'])).toEqual({ sub: 's' });
    expect(releasedClaims('s', claims, ['openid', 'email'])).toEqual({ sub: 's', email: 'j@example.cz' });
    expect(releasedClaims('s', claims, ['openid', 'profile'])).toEqual({
      sub: 's',
      name: 'Jana Nováková',
      given_name: 'Jana',
      family_name: 'Nováková',
    });
  });
});

describe('helpers of the authorization endpoint', () => {
  it('picks cs or en', () => {
    expect(pickLocale('en', 'cs')).toBe('en');
    expect(pickLocale(undefined, 'de, en-US;q=0.9')).toBe('en');
    expect(pickLocale(undefined, 'en;q=0, cs;q=0.1')).toBe('cs');
    expect(pickLocale(undefined, undefined)).toBe('cs');
  });
  it('adds response parameters to a redirect_uri that has a query of its own', () => {
    const url = new URL(redirectTo('https://rp.example/cb?tenant=7', { code: 'c', state: undefined, iss: 'http://localhost:8787' }));
    expect(Object.fromEntries(url.searchParams)).toEqual({ tenant: '7', code: 'c', iss: 'http://localhost:8787' });
  });
});

describe('signing keys and rotation', () => {
  it('signs with the first key of an alg and publishes every key without private members', async () => {
    const { exportJWK, generateKeyPair, jwtVerify, decodeProtectedHeader, createLocalJWKSet } = await import('jose');
    const { publicJwks, signingKey } = await import('../../src/oidc/keys.ts');
    const { signIdToken } = await import('../../src/oidc/idtoken.ts');
    const keys = [];
    for (const kid of ['new-rs', 'old-rs']) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      keys.push({ ...(await exportJWK(privateKey)), kid, alg: 'RS256' });
    }
    const env = { ISSUER: 'http://localhost:8787', SIGNING_KEYS: JSON.stringify(keys) } as unknown as Env;
    expect((await signingKey(env, 'RS256')).kid).toBe('new-rs');
    await expect(signingKey(env, 'ES256')).rejects.toThrow(/no ES256 key/);
    const jwks = publicJwks(env);
    expect(jwks.keys.map((k) => k.kid)).toEqual(['new-rs', 'old-rs']);
    for (const key of jwks.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);

    const idToken = await signIdToken(env, { sub: 's', clientId: 'c', alg: 'RS256', authTime: 1_700_000_000_999, accessToken: 'at' });
    expect(decodeProtectedHeader(idToken).kid).toBe('new-rs');
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), { issuer: 'http://localhost:8787', audience: 'c' });
    expect(payload.auth_time).toBe(1_700_000_000);
    expect(payload).not.toHaveProperty('nonce');
  });
});
