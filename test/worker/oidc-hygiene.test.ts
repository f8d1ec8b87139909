/**
 * Error hygiene (RFC 6749 §4.1.2.1, §5.2): every description is fixed, uses only the allowed
 * characters and never echoes request input.
 */
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION_CHARS, DESCRIPTIONS } from '../../src/oidc/descriptions.ts';
import { call } from './helpers.ts';
import { approvedCallback, basic, codeRequest, discover, newClient, newPerson, rp, token } from './oidc-support.ts';

/** A parameter name no fixed description could contain, with the characters §4.1.2.1 forbids. */
const HOSTILE = 'zqx"y\\z<b>';

describe('error_description', () => {
  it('every description we can send uses only %x20-21 / %x23-5B / %x5D-7E', () => {
    const all = Object.values(DESCRIPTIONS);
    expect(all.length).toBeGreaterThan(40);
    for (const description of all) expect(description, description).toMatch(DESCRIPTION_CHARS);
    expect('say "hi"').not.toMatch(DESCRIPTION_CHARS);
    expect('back\\slash').not.toMatch(DESCRIPTION_CHARS);
    expect('Příliš').not.toMatch(DESCRIPTION_CHARS);
  });

  it('a repeated parameter at /authorize is named nowhere in the redirect', async () => {
    const tc = await newClient();
    const query = new URLSearchParams((await codeRequest(tc)).params);
    query.append(HOSTILE, '1');
    query.append(HOSTILE, '2');
    const res = await call(`/authorize?${query}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const location = res.headers.get('Location')!;
    const back = new URL(location);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toBe(DESCRIPTIONS.parameterRepeated);
    expect(back.searchParams.get('iss')).toBe(env.ISSUER);
    expect(decodeURIComponent(location)).not.toContain('zqx');
  });

  it('an over-long parameter is refused without its name or the limit', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc, { login_hint: 'a'.repeat(600) });
    const res = await call(`/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
    const back = new URL(res.headers.get('Location')!);
    expect(back.searchParams.get('error_description')).toBe(DESCRIPTIONS.parameterTooLong);
  });

  it('a repeated parameter at /token is named nowhere in the JSON', async () => {
    const tc = await newClient();
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: tc.redirectUri });
    body.append(HOSTILE, '1');
    body.append(HOSTILE, '2');
    const res = await call('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(tc.client.client_id, tc.secret!) },
      body,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const text = await res.text();
    expect(text).not.toContain('zqx');
    expect(JSON.parse(text)).toEqual({ error: 'invalid_request', error_description: DESCRIPTIONS.parameterRepeated });
  });

  it('every token endpoint error carries a description from the fixed set', async () => {
    const tc = await newClient();
    const known = new Set<string>(Object.values(DESCRIPTIONS));
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ grant_type: 'password' }, { Authorization: basic(tc.client.client_id, tc.secret!) }],
      [{ grant_type: 'authorization_code', code: `${'a'.repeat(64)}.${'b'.repeat(43)}`, redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, tc.secret!) }],
      [{ grant_type: 'authorization_code', code: 'c', redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, 'wrong') }],
      [{ grant_type: 'authorization_code', code: 'c', code_verifier: '"', redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, tc.secret!) }],
    ];
    for (const [form, headers] of cases) {
      const { body } = await token(form, headers);
      expect(known.has(String(body.error_description)), String(body.error_description)).toBe(true);
    }
  });
});

describe('token endpoint: the client is authenticated before anything about the code is decided', () => {
  /** A confidential client's redeemed code and the access token it gave, through oauth4webapi. */
  async function redeemed() {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc);
    const callback = await approvedCallback(request.params, person.sub);
    const as = await discover();
    const params = oauth.validateAuthResponse(as, tc.client, callback, request.state);
    const response = await oauth.authorizationCodeGrantRequest(as, tc.client, oauth.ClientSecretBasic(tc.secret!), params, tc.redirectUri, request.codeVerifier, rp);
    const tokens = await oauth.processAuthorizationCodeResponse(as, tc.client, response, { expectedNonce: request.nonce });
    const code = callback.searchParams.get('code')!;
    const form = { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: request.codeVerifier };
    const userinfo = async () =>
      oauth.processUserInfoResponse(as, tc.client, person.sub, await oauth.userInfoRequest(as, tc.client, tokens.access_token, rp));
    return { tc, form, userinfo, person };
  }

  it('a stranger (the public demo-like client) replaying the code gets invalid_grant and revokes nothing', async () => {
    const { tc, form, userinfo, person } = await redeemed();
    const stranger = await newClient({ public: true });
    const replay = await token({ ...form, client_id: stranger.client.client_id });
    expect(replay.res.status).toBe(400);
    expect(replay.body).toEqual({ error: 'invalid_grant', error_description: DESCRIPTIONS.codeInvalid });
    // Another confidential client, properly authenticated, fares no better.
    const other = await newClient();
    const second = await token(form, { Authorization: basic(other.client.client_id, other.secret!) });
    expect(second.body.error).toBe('invalid_grant');
    expect((await userinfo()).sub).toBe(person.sub);
    expect(tc.client.client_id).not.toBe(stranger.client.client_id);
  });

  it("the code's own client with a wrong secret gets invalid_client and revokes nothing", async () => {
    const { tc, form, userinfo, person } = await redeemed();
    const wrong = await token(form, { Authorization: basic(tc.client.client_id, 'not-the-secret') });
    expect(wrong.res.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const none = await token({ ...form, client_id: tc.client.client_id });
    expect(none.body.error).toBe('invalid_client');
    expect((await userinfo()).sub).toBe(person.sub);
  });

  it("the code's own client replaying it still revokes the first access token (RFC 6749 §4.1.2)", async () => {
    const { tc, form, userinfo } = await redeemed();
    const replay = await token(form, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(replay.body).toEqual({ error: 'invalid_grant', error_description: DESCRIPTIONS.codeUsed });
    await expect(userinfo()).rejects.toThrow();
  });
});
