/**
 * The OpenID Foundation conformance suite's Basic OP and Config OP modules (code flow, static
 * client registration), one test per module, named after it. The Basic OP module list lives in
 * conformance-plan.ts, shared with the Form Post OP plan (conformance-formpost.test.ts).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call } from './helpers.ts';
import { discover } from './oidc-support.ts';
import { basicOpPlan, QUERY } from './conformance-plan.ts';

describe('Config OP', () => {
  it('oidcc-discovery-endpoint-verification: discovery names the issuer, endpoints and supported values', async () => {
    const as = await discover();
    expect(as.issuer).toBe(env.ISSUER);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) {
      expect(new URL(as[endpoint] as string).protocol).toMatch(/^https?:$/);
    }
    expect(as.response_types_supported).toContain('code');
    expect(as.subject_types_supported?.length).toBeGreaterThan(0);
    expect(as.id_token_signing_alg_values_supported).toContain('RS256');
    expect(as.scopes_supported).toContain('openid');
    expect(as.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'aud']));
  });

  it('oidcc-server-rotate-keys / jwks: the jwks_uri serves public RS256 keys with kid', async () => {
    const as = await discover();
    const jwks = (await (await call(new URL(as.jwks_uri!).pathname)).json()) as { keys: Record<string, unknown>[] };
    const rsa = jwks.keys.filter((k) => k.kty === 'RSA');
    expect(rsa.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key.kid).toEqual(expect.any(String));
      expect(key).not.toHaveProperty('d');
    }
  });
});

basicOpPlan(QUERY);
