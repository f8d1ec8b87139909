/** Token revocation (RFC 7009) for access tokens, with oauth4webapi as the relying service. */
import * as oauth from 'oauth4webapi';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { disableClient } from '../../src/console/services.ts';
import { call } from './helpers.ts';
import { approvedCallback, basic, codeRequest, discover, newClient, newPerson, rp, type TestClient } from './oidc-support.ts';

async function tokensFor(tc: TestClient, auth: oauth.ClientAuth) {
  const person = await newPerson();
  const request = await codeRequest(tc);
  const callback = await approvedCallback(request.params, person.sub);
  const as = await discover();
  const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
  const response = await oauth.authorizationCodeGrantRequest(as, tc.client, auth, params, tc.redirectUri, request.codeVerifier, rp);
  const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce });
  const userinfo = async () => (await oauth.userInfoRequest(as, tc.client, tokens.access_token, rp)).status;
  return { as, tokens, userinfo };
}

describe('token revocation (RFC 7009)', () => {
  it('is advertised, and the client that holds an access token can revoke it', async () => {
    const tc = await newClient();
    const { as, tokens, userinfo } = await tokensFor(tc, oauth.ClientSecretBasic(tc.secret!));
    expect(as.revocation_endpoint).toBe(`${env.ISSUER}/revoke`);
    expect(await userinfo()).toBe(200);
    const res = await oauth.revocationRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), tokens.access_token, rp);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    await oauth.processRevocationResponse(res);
    expect(await userinfo()).toBe(401);
    // Revoking again, or an unknown token, is still 200 (RFC 7009 §2.2).
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), tokens.access_token, rp));
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), 'not-a-token', rp));
  });

  it('another client cannot revoke it, and a public client revokes its own', async () => {
    const tc = await newClient({ public: true });
    const { as, tokens, userinfo } = await tokensFor(tc, oauth.None());
    const stranger = await newClient();
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, stranger.client, oauth.ClientSecretBasic(stranger.secret!), tokens.access_token, rp));
    expect(await userinfo()).toBe(200);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, tc.client, oauth.None(), tokens.access_token, rp));
    expect(await userinfo()).toBe(401);
  });

  it('a service disabled in the console: its access token stops working at UserInfo', async () => {
    const tc = await newClient();
    const { tokens, userinfo } = await tokensFor(tc, oauth.ClientSecretBasic(tc.secret!));
    expect(await userinfo()).toBe(200); // the client's record is in this isolate's cache now
    expect(await disableClient(env.DB, tc.client.client_id)).toBe(true);
    const res = await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: 'the access token is invalid' });
  });

  it('needs client authentication and a token', async () => {
    const tc = await newClient();
    const { tokens, userinfo } = await tokensFor(tc, oauth.ClientSecretBasic(tc.secret!));
    const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      call('/revoke', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
    const wrong = await post({ token: tokens.access_token }, { Authorization: basic(tc.client.client_id, 'wrong') });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
    const missing = await post({}, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_request');
    expect(await userinfo()).toBe(200);
  });
});

