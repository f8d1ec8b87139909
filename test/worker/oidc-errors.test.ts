import { runInDurableObject } from 'cloudflare:test';
import * as oauth from 'oauth4webapi';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, startTestLogin } from './helpers.ts';
import {
  approvedCallback,
  authorize,
  basic,
  codeRequest,
  continueLogin,
  decide,
  issuedCode,
  loginFrom,
  newClient,
  newPerson,
  token,
} from './oidc-support.ts';

/** The error response parameters of a redirect back to the client. */
function redirectedError(res: Response, redirectUri: string) {
  expect(res.status).toBe(303);
  const location = new URL(res.headers.get('Location')!);
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  expect(location.searchParams.get('iss')).toBe(env.ISSUER);
  expect(location.searchParams.has('code')).toBe(false);
  return Object.fromEntries(location.searchParams);
}

async function localError(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.get('Location')).toBeNull();
  expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
  const html = await res.text();
  return /<code id="error">([^<]*)<\/code>/.exec(html)?.[1];
}

describe('authorization endpoint: errors shown locally, never redirected', () => {
  it('unknown client', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc, { client_id: 'no-such-client' });
    expect(await localError(await authorize(params))).toBe('invalid_client');
  });

  it('speaks Czech by default and English when asked', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc, { client_id: 'no-such-client' });
    expect(await (await authorize(params)).text()).toContain('Tento požadavek na přihlášení nelze zpracovat');
    const english = await authorize({ ...params, ui_locales: 'en' });
    expect(await english.text()).toContain('This login request cannot be processed');
  });

  it('missing client_id', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc);
    delete params.client_id;
    expect(await localError(await authorize(params))).toBe('invalid_client');
  });

  it('unregistered redirect_uri, including near misses of a registered one', async () => {
    const tc = await newClient();
    for (const redirectUri of ['https://evil.example/cb', `${tc.redirectUri}/`, `${tc.redirectUri}?x=1`, tc.redirectUri.toUpperCase()]) {
      const { params } = await codeRequest(tc, { redirect_uri: redirectUri });
      expect(await localError(await authorize(params))).toBe('invalid_redirect_uri');
    }
    const { params } = await codeRequest(tc);
    delete params.redirect_uri;
    expect(await localError(await authorize(params))).toBe('invalid_redirect_uri');
  });

  it('a repeated redirect_uri, even with a registered one first', async () => {
    const tc = await newClient();
    const query = new URLSearchParams((await codeRequest(tc)).params);
    query.append('redirect_uri', 'https://evil.example/cb');
    const res = await call(`/authorize?${query}`, { redirect: 'manual' });
    expect(await localError(res)).toBe('invalid_redirect_uri');
  });
});

describe('authorization endpoint: errors redirected with state and iss (RFC 6749 §4.1.2.1, RFC 9207)', () => {
  it('missing response_type', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    delete params.response_type;
    expect(redirectedError(await authorize(params), tc.redirectUri)).toMatchObject({ error: 'invalid_request', state });
  });

  it('unsupported response_type', async () => {
    const tc = await newClient();
    for (const type of ['token', 'id_token', 'code id_token']) {
      const { params, state } = await codeRequest(tc, { response_type: type });
      expect(redirectedError(await authorize(params), tc.redirectUri)).toMatchObject({ error: 'unsupported_response_type', state });
    }
  });

  it('scope without openid', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc, { scope: 'profile email' });
    expect(redirectedError(await authorize(params), tc.redirectUri)).toMatchObject({ error: 'invalid_scope', state });
  });

  it('PKCE is required for a public client', async () => {
    const tc = await newClient({ public: true });
    const { params, state } = await codeRequest(tc);
    delete params.code_challenge;
    delete params.code_challenge_method;
    expect(redirectedError(await authorize(params), tc.redirectUri)).toMatchObject({ error: 'invalid_request', state });
  });

  it('PKCE method plain (explicit or by default) is refused', async () => {
    const tc = await newClient();
    const explicit = await codeRequest(tc, { code_challenge_method: 'plain' });
    expect(redirectedError(await authorize(explicit.params), tc.redirectUri).error).toBe('invalid_request');
    const byDefault = await codeRequest(tc);
    delete byDefault.params.code_challenge_method;
    expect(redirectedError(await authorize(byDefault.params), tc.redirectUri).error).toBe('invalid_request');
  });

  it('prompt=none without a browser session gives login_required', async () => {
    const tc = await newClient();
    const { params, state } = await codeRequest(tc, { prompt: 'none' });
    expect(redirectedError(await authorize(params), tc.redirectUri)).toMatchObject({ error: 'login_required', state });
  });

  it('request objects are not supported; repeated parameters are invalid', async () => {
    const tc = await newClient();
    const { params } = await codeRequest(tc, { request: 'eyJ.x.y' });
    expect(redirectedError(await authorize(params), tc.redirectUri).error).toBe('request_not_supported');
    const query = new URLSearchParams((await codeRequest(tc)).params);
    query.append('scope', 'openid');
    const res = await call(`/authorize?${query}`, { redirect: 'manual' });
    expect(redirectedError(res, tc.redirectUri).error).toBe('invalid_request');
  });

  it('a denial on the phone returns access_denied', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const login = await loginFrom(await authorize(params));
    await decide(login, person.sub, 'deny');
    expect(redirectedError(await continueLogin(login), tc.redirectUri)).toMatchObject({ error: 'access_denied', state });
  });
});

describe('authorization endpoint: accepted requests', () => {
  it('POST with a form body starts a login like GET', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { params, state } = await codeRequest(tc);
    const res = await call('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
      redirect: 'manual',
    });
    const login = await loginFrom(res);
    expect(login.snapshot.client.name).toBe(tc.name);
    await decide(login, person.sub);
    const back = new URL((await continueLogin(login)).headers.get('Location')!);
    expect(back.searchParams.get('state')).toBe(state);
    expect(back.searchParams.get('code')).toMatch(new RegExp(`^${login.id}\\.`));
  });

  it('picks the page language from ui_locales, then Accept-Language, else Czech', async () => {
    const tc = await newClient();
    const cases: [Record<string, string>, Record<string, string>, string][] = [
      [{ ui_locales: 'en-GB cs' }, { 'Accept-Language': 'cs' }, 'en'],
      [{ ui_locales: 'de' }, { 'Accept-Language': 'de;q=1, en;q=0.8, cs;q=0.5' }, 'en'],
      [{}, { 'Accept-Language': 'fr' }, 'cs'],
      [{}, {}, 'cs'],
    ];
    for (const [extra, headers, locale] of cases) {
      const { params } = await codeRequest(tc, extra);
      expect((await loginFrom(await authorize(params, headers))).snapshot.locale).toBe(locale);
    }
  });

  it('continue after the code was redeemed, or for a login without an authorization request, is a 409 problem', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc);
    const login = await loginFrom(await authorize(request.params));
    await decide(login, person.sub);
    const code = new URL((await continueLogin(login)).headers.get('Location')!).searchParams.get('code')!;
    const redeemed = await token(
      { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: request.codeVerifier },
      { Authorization: basic(tc.client.client_id, tc.secret!) },
    );
    expect(redeemed.res.status).toBe(200);
    const again = await continueLogin(login);
    expect(again.status).toBe(409);
    expect(again.headers.get('Content-Type')).toBe('application/problem+json');

    const bare = await startTestLogin({ authorization: {} });
    await decide(bare, person.sub);
    const res = await continueLogin(bare);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { title: string }).title).toBe('No authorization request');
  });

  it('continue before approval goes back to the page; without the binding cookie it is refused', async () => {
    const tc = await newClient();
    const login = await loginFrom(await authorize((await codeRequest(tc)).params));
    const pending = await continueLogin(login);
    expect(pending.status).toBe(303);
    expect(pending.headers.get('Location')).toBe(`/login/${login.id}`);
    const stranger = await call(`/login/${login.id}/continue`, { redirect: 'manual' });
    expect(stranger.status).toBe(403);
    expect(((await stranger.json()) as { type: string }).type).toBe('urn:mobile-key:problem:login-binding');
  });
});

describe('token endpoint', () => {
  it('PKCE: a wrong code_verifier is invalid_grant', async () => {
    const person = await newPerson();
    const tc = await newClient({ public: true });
    const { code } = await issuedCode(tc, person.sub);
    const { res, body } = await token({
      grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, client_id: tc.client.client_id,
      code_verifier: oauth.generateRandomCodeVerifier(),
    });
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });

  it('PKCE: a missing code_verifier is invalid_grant', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { code } = await issuedCode(tc, person.sub);
    const { body } = await token({ grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri }, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(body.error).toBe('invalid_grant');
  });

  it('PKCE downgrade: a code_verifier for a code issued without code_challenge is invalid_grant', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const request = await codeRequest(tc);
    delete request.params.code_challenge;
    delete request.params.code_challenge_method;
    const code = (await approvedCallback(request.params, person.sub)).searchParams.get('code')!;
    const form = { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: request.codeVerifier };
    const { body } = await token(form, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(body.error).toBe('invalid_grant');
  });

  it('code reuse: the second redemption fails and revokes the first access token', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { code, codeVerifier } = await issuedCode(tc, person.sub);
    const form = { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: codeVerifier };
    const auth = { Authorization: basic(tc.client.client_id, tc.secret!) };
    const first = await token(form, auth);
    expect(first.res.status).toBe(200);
    const accessToken = first.body.access_token as string;
    const before = await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(before.status).toBe(200);

    const second = await token(form, auth);
    expect(second.res.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
    expect(second.res.headers.get('Cache-Control')).toBe('no-store');

    const after = await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: string }).error).toBe('invalid_token');
    expect(after.headers.get('WWW-Authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('an expired code (older than 60 s) is invalid_grant', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { code, codeVerifier } = await issuedCode(tc, person.sub);
    const stub = env.LOGIN_SESSION.get(env.LOGIN_SESSION.idFromString(code.split('.')[0]!));
    await runInDurableObject(stub, async (_instance, state) => {
      const stored = (await state.storage.get<{ issuedAt: number; expiresAt: number }>('code'))!;
      expect(stored.expiresAt - stored.issuedAt).toBe(60_000);
      await state.storage.put('code', { ...stored, expiresAt: Date.now() - 1 });
    });
    const { body } = await token(
      { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: codeVerifier },
      { Authorization: basic(tc.client.client_id, tc.secret!) },
    );
    expect(body.error).toBe('invalid_grant');
  });

  it('a code is bound to its client and redirect_uri (refusals do not burn it)', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const other = await newClient();
    const { code, codeVerifier } = await issuedCode(tc, person.sub);
    const form = { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: codeVerifier };

    const otherClient = await token(form, { Authorization: basic(other.client.client_id, other.secret!) });
    expect(otherClient.body.error).toBe('invalid_grant');
    const otherRedirect = await token({ ...form, redirect_uri: 'https://rp.example/other' }, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(otherRedirect.body.error).toBe('invalid_grant');

    const rightful = await token(form, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(rightful.res.status).toBe(200);
    expect(rightful.body.token_type).toBe('Bearer');
  });

  it('client authentication failures are invalid_client (401, WWW-Authenticate for Basic)', async () => {
    const person = await newPerson();
    const tc = await newClient();
    const { code, codeVerifier } = await issuedCode(tc, person.sub);
    const form = { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: codeVerifier };

    const wrongBasic = await token(form, { Authorization: basic(tc.client.client_id, 'wrong') });
    expect(wrongBasic.res.status).toBe(401);
    expect(wrongBasic.body.error).toBe('invalid_client');
    expect(wrongBasic.res.headers.get('WWW-Authenticate')).toMatch(/^Basic realm=/);

    const wrongPost = await token({ ...form, client_id: tc.client.client_id, client_secret: 'wrong' });
    expect(wrongPost.res.status).toBe(401);
    expect(wrongPost.body.error).toBe('invalid_client');

    const noSecret = await token({ ...form, client_id: tc.client.client_id });
    expect(noSecret.body.error).toBe('invalid_client');

    const unknown = await token({ ...form, client_id: 'nobody', client_secret: 'x' });
    expect(unknown.body.error).toBe('invalid_client');

    const both = await token({ ...form, client_secret: tc.secret! }, { Authorization: basic(tc.client.client_id, tc.secret!) });
    expect(both.body.error).toBe('invalid_request');
  });

  it('request errors: unsupported_grant_type, invalid_request', async () => {
    const tc = await newClient();
    const auth = { Authorization: basic(tc.client.client_id, tc.secret!) };
    for (const grant of ['client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:device_code']) {
      expect((await token({ grant_type: grant }, auth)).body.error).toBe('unsupported_grant_type');
    }
    // RFC 6749 §5.2: a grant type this client is not registered for.
    expect((await token({ grant_type: 'refresh_token' }, auth)).body.error).toBe('unauthorized_client');
    expect((await token({ code: 'x' }, auth)).body.error).toBe('invalid_request');
    expect((await token({ grant_type: 'authorization_code', redirect_uri: tc.redirectUri }, auth)).body.error).toBe('invalid_request');
    const junk = await token({ grant_type: 'authorization_code', code: 'junk', redirect_uri: tc.redirectUri }, auth);
    expect(junk.body.error).toBe('invalid_grant');
    const json = await call('/token', { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth }, body: '{}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
    const huge = await token({ grant_type: 'authorization_code', code: 'x'.repeat(20_000), redirect_uri: tc.redirectUri }, auth);
    expect(huge.res.status).toBe(413);
    expect(huge.body.error).toBe('invalid_request');
    const get = await call('/token');
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('CORS for browser-based relying services', () => {
  it('answers preflights for the token and UserInfo endpoints', async () => {
    for (const path of ['/token', '/userinfo']) {
      const res = await call(path, {
        method: 'OPTIONS',
        headers: { Origin: 'https://spa.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    }
  });
});

describe('UserInfo', () => {
  async function accessTokenFor(scope: string) {
    const person = await newPerson();
    const tc = await newClient();
    const { code, codeVerifier } = await issuedCode(tc, person.sub, { scope });
    const { body } = await token(
      { grant_type: 'authorization_code', code, redirect_uri: tc.redirectUri, code_verifier: codeVerifier },
      { Authorization: basic(tc.client.client_id, tc.secret!) },
    );
    return { person, accessToken: body.access_token as string };
  }

  it('answers GET, POST with the header, and POST with the token in the body alike', async () => {
    const { person, accessToken } = await accessTokenFor('openid profile');
    const expected = { sub: person.sub, name: 'Jana Nováková', given_name: 'Jana', family_name: 'Nováková', birthdate: '1990-04-01' };
    const get = await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });
    const headerPost = await call('/userinfo', { method: 'POST', headers: { Authorization: `Bearer ${accessToken}` } });
    const bodyPost = await call('/userinfo', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: accessToken }),
    });
    for (const res of [get, headerPost, bodyPost]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(await res.json()).toEqual(expected);
    }
  });

  it('releases only the claims of the requested scopes', async () => {
    const email = await accessTokenFor('openid email');
    const res = await call('/userinfo', { headers: { Authorization: `Bearer ${email.accessToken}` } });
    expect(await res.json()).toEqual({ sub: email.person.sub, email: 'jana@example.cz', email_verified: true });
    const bare = await accessTokenFor('openid');
    const onlySub = await call('/userinfo', { headers: { Authorization: `Bearer ${bare.accessToken}` } });
    expect(await onlySub.json()).toEqual({ sub: bare.person.sub });
  });

  it('errors carry WWW-Authenticate: no token, an unknown token, two tokens', async () => {
    const none = await call('/userinfo');
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toBe(`Bearer realm="${env.ISSUER}"`);

    const unknown = await call('/userinfo', { headers: { Authorization: `Bearer ${'a'.repeat(64)}.${'b'.repeat(43)}` } });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe('invalid_token');
    expect(unknown.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/);

    const junk = await call('/userinfo', { headers: { Authorization: 'Bearer junk' } });
    expect(((await junk.json()) as { error: string }).error).toBe('invalid_token');

    const { accessToken } = await accessTokenFor('openid');
    const twice = await call('/userinfo', {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: accessToken }),
    });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe('invalid_request');
    expect(twice.headers.get('WWW-Authenticate')).toMatch(/error="invalid_request"/);
  });
});
