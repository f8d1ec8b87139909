import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../scripts/lib/seed.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

/** Against a real `wrangler dev`: the demo client `npm start` seeds, and openid-client over HTTP. */
describe('OpenID Provider and demo under wrangler dev', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await sharedTestServer();
    // Twice: seeding is idempotent across restarts.
    await seedDemo(server.url, server.secrets.ADMIN_TOKEN, server.persistTo);
    await seedDemo(server.url, server.secrets.ADMIN_TOKEN, server.persistTo);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the demo starts a PKCE login that the provider accepts for the seeded client', async () => {
    const page = await fetch(`${server.url}/demo`);
    expect(await page.text()).toContain('Log in with the mobile key');
    const start = await fetch(`${server.url}/demo/login`, { method: 'POST', redirect: 'manual' });
    expect(start.status).toBe(303);
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(authorizeUrl.searchParams.get('client_id')).toBe('demo');
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${server.url}/demo/callback`);
    const authorized = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(authorized.status).toBe(303);
    expect(authorized.headers.get('location')).toMatch(/^\/login\/[0-9a-f]{64}$/);
    expect(authorized.headers.get('set-cookie')).toMatch(/HttpOnly/i);
  });

  it('openid-client discovers the provider and gets exact OAuth errors', async () => {
    const config = await client.discovery(new URL(server.url), 'demo', undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(server.url);
    expect(metadata.jwks_uri).toBe(`${server.url}/jwks`);
    const jwks = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: { kid: string }[] };
    const configured = JSON.parse(server.secrets.SIGNING_KEYS) as { kid: string }[];
    expect(jwks.keys.map((k) => k.kid)).toEqual(configured.map((k) => k.kid));

    const callback = new URL(`${server.url}/demo/callback?code=${'a'.repeat(64)}.${'b'.repeat(43)}&state=s&iss=${encodeURIComponent(server.url)}`);
    const error = await client
      .authorizationCodeGrant(config, callback, { expectedState: 's', pkceCodeVerifier: client.randomPKCECodeVerifier() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    expect((error as client.ResponseBodyError).error).toBe('invalid_grant');

    const denied = new URL(`${server.url}/demo/callback?error=login_required&state=s&iss=${encodeURIComponent(server.url)}`);
    const prompt = await client.authorizationCodeGrant(config, denied, { expectedState: 's' }).catch((e: unknown) => e);
    expect((prompt as client.AuthorizationResponseError).error).toBe('login_required');

    const noneUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: `${server.url}/demo/callback`,
      scope: 'openid',
      prompt: 'none',
      state: 's',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(noneUrl, { redirect: 'manual' });
    const back = new URL(res.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(back.searchParams.get('iss')).toBe(server.url);
  });
});
