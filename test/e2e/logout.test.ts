/**
 * Logout against a real `wrangler dev`: the operator CLI registers a service with logout URIs,
 * a person logs in with an enrolled key, RP-initiated logout (openid-client builds the URL) ends
 * the session, and a real HTTP back-channel receiver — failing at first — validates the logout
 * tokens with jose against /jwks and receives the retry from the session object's alarm.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-run.ts';
import { approveOnPhone, enrolPhone, startLogin, type RpClient } from './flow.ts';
import { sharedTestServer, type RunningServer } from './server.ts';

describe('logout under wrangler dev', () => {
  let server: RunningServer;
  let receiver: Server;
  let receiverUrl: string;
  const attempts: { status: number; claims?: JWTPayload; error?: string }[] = [];
  let statuses = [503, 200];
  const admin = (args: string[]) => runCli('admin', [...args, '--server', server.url, '--json'], { ADMIN_TOKEN: server.secrets.ADMIN_TOKEN });

  beforeAll(async () => {
    server = await sharedTestServer();
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', async () => {
        const status = statuses[Math.min(attempts.length, statuses.length - 1)]!;
        try {
          expect(req.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
          const token = new URLSearchParams(body).get('logout_token') ?? '';
          const { payload } = await jwtVerify(token, jwks, { issuer: server.url, typ: 'logout+jwt', requiredClaims: ['jti', 'sid', 'events'] });
          attempts.push({ status, claims: payload });
          res.writeHead(status).end();
        } catch (error) {
          attempts.push({ status: 400, error: String(error) });
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`;
  });
  afterAll(async () => {
    receiver?.close();
    await server?.stop();
  });

  it('the CLI registers and updates logout URIs, and refuses bad ones', async () => {
    const created = await admin(['client', 'create', '--name', 'Portál', '--redirect-uri', 'https://rp.example/cb', '--public',
      '--post-logout-redirect-uri', 'https://rp.example/bye', '--backchannel-logout-uri', 'https://rp.example/bc']);
    expect(created.code, created.stderr).toBe(0);
    const clientId = String(created.json.client_id);
    const updated = await admin(['client', 'update', clientId, '--frontchannel-logout-uri', 'https://rp.example/fc', '--backchannel-logout-uri', '']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.json).toMatchObject({
      client_id: clientId,
      post_logout_redirect_uris: ['https://rp.example/bye'],
      backchannel_logout_uri: null,
      frontchannel_logout_uri: 'https://rp.example/fc',
    });
    const bad = await admin(['client', 'update', clientId, '--post-logout-redirect-uri', 'http://rp.example/bye']);
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ error: 'invalid-input' });
  });

  it('RP-initiated logout ends the session; the back-channel receiver gets a valid token, first refused with 503, then the retry', async () => {
    const created = await admin(['client', 'create', '--name', 'Portál', '--redirect-uri', 'http://127.0.0.1:9/cb', '--public',
      '--post-logout-redirect-uri', 'http://127.0.0.1:9/bye', '--backchannel-logout-uri', receiverUrl]);
    expect(created.code, created.stderr).toBe(0);
    const clientId = String(created.json.client_id);
    const config = await oidc.discovery(new URL(server.url), clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const rp: RpClient = { clientId, redirectUri: 'http://127.0.0.1:9/cb', name: 'Portál', config };
    const key = await enrolPhone({ url: server.url, adminToken: server.secrets.ADMIN_TOKEN });

    const login = await startLogin(server, rp);
    await approveOnPhone(key, login.loginUrl);
    const done = await fetch(`${server.url}/login/${login.loginId}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' });
    const session = done.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.includes('mk_session='));
    expect(session).toBeDefined();
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.headers.get('Location')!), {
      pkceCodeVerifier: login.codeVerifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims.sid).toEqual(expect.any(String));

    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/bye', state: 'bye-1' });
    const out = await fetch(endSession, { headers: { Cookie: session! }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(out.headers.get('Location')).toBe('http://127.0.0.1:9/bye?state=bye-1');

    // The first try at once (503), the retry from the alarm a minute later (200).
    const deadline = Date.now() + 100_000;
    while (attempts.filter((a) => a.status === 200).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(attempts.map((a) => a.error ?? a.status)).toEqual([503, 200]);
    for (const attempt of attempts) {
      expect(attempt.claims).toMatchObject({ iss: server.url, aud: clientId, sub: claims.sub, sid: claims.sid });
      expect(attempt.claims!.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(attempt.claims).not.toHaveProperty('nonce');
    }
    expect(attempts[0]!.claims!.jti).not.toBe(attempts[1]!.claims!.jti);

    // After the logout, prompt=none is login_required even with the old cookie.
    const silent = oidc.buildAuthorizationUrl(config, {
      redirect_uri: rp.redirectUri, scope: 'openid', state: 's2', prompt: 'none',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const after = await fetch(silent, { headers: { Cookie: session! }, redirect: 'manual' });
    expect(new URL(after.headers.get('Location')!).searchParams.get('error')).toBe('login_required');
  }, 150_000);
});
