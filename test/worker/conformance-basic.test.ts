/**
 * The OpenID Foundation conformance suite's Basic OP and Config OP plans (code flow, static
 * client registration), one test per module, named after the module's `testName` and checking
 * what its conditions check. The lists mirror OIDCCBasicTestPlan and OIDCCConfigTestPlan in
 * github.com/openid-certification/conformance-suite (src/main/java/net/openid/conformance/openid/);
 * the suite itself was not run against us (docs/relying-services.md, "Conformance suite").
 * The Basic OP modules live in conformance-plan.ts (shared with the Form Post OP plan,
 * conformance-formpost.test.ts) and run here in the default (query) response mode; the Config OP
 * module is here.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call } from './helpers.ts';
import { discover } from './oidc-support.ts';
import { basicOpPlan, QUERY } from './conformance-plan.ts';

describe('Config OP', () => {
  it('oidcc-discovery-endpoint-verification: the metadata has what OIDC Discovery and RFC 8414 require', async () => {
    const res = await call('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const as = await discover();
    expect(as.issuer).toBe(env.ISSUER);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) {
      // https in production (CheckDiscEndpointAllEndpointsAreHttps); the test issuer is http://localhost.
      expect(new URL(as[endpoint] as string).origin).toBe(new URL(env.ISSUER).origin);
    }
    expect(as.response_types_supported).toContain('code');
    expect(as.subject_types_supported?.every((t) => t === 'public' || t === 'pairwise')).toBe(true);
    expect(as.id_token_signing_alg_values_supported).toContain('RS256');
    expect(as.scopes_supported).toContain('openid');
    expect(as.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'aud']));
    expect(as.grant_types_supported).toContain('authorization_code');
    expect(Array.isArray(as.code_challenge_methods_supported)).toBe(true);
    expect(as.request_parameter_supported).toBe(false);
    expect(as.request_uri_parameter_supported).toBe(false);
    expect(typeof as.claims_parameter_supported).toBe('boolean');
  });

  it('oidcc-discovery-endpoint-verification (FetchServerKeys, ValidateJwksSequence): the jwks_uri serves public keys with kid and the ID token alg', async () => {
    const as = await discover();
    const jwks = (await (await call(new URL(as.jwks_uri!).pathname)).json()) as { keys: Record<string, unknown>[] };
    const rsa = jwks.keys.filter((k) => k.kty === 'RSA');
    expect(rsa.length).toBeGreaterThan(0);
    const kids = jwks.keys.map((key) => key.kid);
    expect(new Set(kids).size).toBe(kids.length);
    for (const key of jwks.keys) {
      expect(key.kid).toEqual(expect.any(String));
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
    }
  });
});

basicOpPlan(QUERY);
