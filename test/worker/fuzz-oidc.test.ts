/**
 * Property-based fuzzing (fast-check) of the OpenID Provider's public endpoints: `/authorize`
 * (GET and POST), `/token`, `/userinfo`, discovery, `/jwks`, `/login/:id/continue` and the demo
 * relying service. For every input: never a 5xx; errors in the endpoint's own format (the
 * authorization endpoint's local error page or a redirect with `error` to the registered
 * redirect_uri; `{error, error_description}` with no-store at the token and UserInfo endpoints;
 * problem+json elsewhere); and nothing changes — no login is started, no code issued, redeemed
 * or revoked, no D1 row written. At the end the real code still redeems and the real access
 * token still works: the strongest evidence that the fuzzing changed nothing.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindingCookieName } from '../../src/session/binding.ts';
import type { TestLogin } from './helpers.ts';
import { call, world } from './helpers.ts';
import {
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
  type TestClient,
} from './oidc-support.ts';

const RUNS = { numRuns: 80 };
const ISSUER = env.ISSUER;

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '0', '-1', 'null', '%', '%zz', '\u0000', '💥', 'a'.repeat(600), '<script>', 'openid'),
  hex64,
);
const nonEmptyJunk = junk.filter((s) => s !== '');
const headerValue = junk.filter((s) => /^[\x20-\x7e]*$/.test(s));
const verifierShaped = fc.stringMatching(/^[A-Za-z0-9._~-]{43,128}$/);

/** An OAuth error response (RFC 6749 §5.2): JSON `{error, error_description}`, never cached. */
async function expectOAuthError(res: Response, codes: string[], what: string): Promise<void> {
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(res.headers.get('Content-Type'), what).toMatch(/^application\/json/);
  expect(res.headers.get('Cache-Control'), what).toBe('no-store');
  const body = (await res.json()) as { error: string; error_description: string };
  expect(codes, what).toContain(body.error);
  expect(typeof body.error_description, what).toBe('string');
}

async function expectProblem(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(res.headers.get('Content-Type'), what).toBe('application/problem+json');
  const problem = (await res.json()) as { type: string; status: number };
  expect(problem.type, what).toMatch(/^urn:mobile-key:problem:[a-z-]+$/);
  expect(problem.status, what).toBe(res.status);
}

let pub: TestClient;
let confidential: TestClient;
/** Approved, with an issued and unredeemed code. */
let approved: { login: TestLogin; code: string; codeVerifier: string };
/** Approved and redeemed: its access token. */
let redeemed: { code: string; accessToken: string; sub: string };
let pending: TestLogin;
let before: string;
let watched: TestLogin[];

beforeAll(async () => {
  pub = await newClient({ public: true });
  confidential = await newClient();
  const person = await newPerson();
  const request = await codeRequest(pub);
  const login = await loginFrom(await authorize(request.params));
  await decide(login, person.sub);
  const back = await continueLogin(login);
  approved = { login, code: new URL(back.headers.get('Location')!).searchParams.get('code')!, codeVerifier: request.codeVerifier };
  const issued = await issuedCode(confidential, person.sub);
  const tokens = await token(
    { grant_type: 'authorization_code', code: issued.code, redirect_uri: confidential.redirectUri, code_verifier: issued.codeVerifier },
    { Authorization: basic(confidential.client.client_id, confidential.secret!) },
  );
  expect(tokens.res.status).toBe(200);
  redeemed = { code: issued.code, accessToken: String(tokens.body.access_token), sub: person.sub };
  pending = await loginFrom(await authorize((await codeRequest(pub)).params));
  watched = [approved.login, pending];
});

describe('fuzzing the OpenID Provider changes nothing and never fails with a 5xx', () => {
  beforeAll(async () => {
    before = await world(watched);
  });
  afterEach(async () => {
    expect(await world(watched)).toBe(before);
  });

  it('/authorize (GET and POST): a local error page or an error redirect, never a login', async () => {
    type Pairs = [string, string][];
    const set = (name: string, value: string) => (p: Pairs): Pairs => [...p.filter(([k]) => k !== name), [name, value]];
    const drop = (name: string) => (p: Pairs): Pairs => p.filter(([k]) => k !== name);
    const repeat = (name: string, value: string) => (p: Pairs): Pairs => [...p, [name, value]];
    const registered = [pub.redirectUri, 'https://rp.example/other'];
    // Each mutation makes the request invalid; `local` ones concern the client or redirect_uri.
    const local = fc.oneof(
      fc.constant(drop('client_id')),
      junk.filter((s) => s !== pub.client.client_id).map((v) => set('client_id', v)),
      fc.constant(set('client_id', confidential.client.client_id)), // another client's id with our redirect_uri
      fc.constant(drop('redirect_uri')),
      junk.filter((s) => !registered.includes(s)).map((v) => set('redirect_uri', v)),
      fc.constant(set('redirect_uri', confidential.redirectUri)),
      fc.constant(set('redirect_uri', `${pub.redirectUri}/`)),
      fc.constant(repeat('client_id', pub.client.client_id)),
      fc.constant(repeat('redirect_uri', pub.redirectUri)),
    );
    const redirected = fc.oneof(
      fc.constant(drop('response_type')),
      junk.filter((s) => s !== 'code' && s !== '').map((v) => set('response_type', v)),
      fc.constantFrom('token', 'code id_token', 'id_token').map((v) => set('response_type', v)),
      nonEmptyJunk.filter((s) => s !== 'query').map((v) => set('response_mode', v)),
      fc.constant(drop('scope')),
      fc.array(nonEmptyJunk.filter((s) => !s.split(' ').includes('openid')), { maxLength: 3 }).map((w) => set('scope', w.join(' '))),
      fc.constant(drop('code_challenge')),
      nonEmptyJunk.filter((s) => !/^[A-Za-z0-9_-]{43}$/.test(s)).map((v) => set('code_challenge', v)),
      fc.constantFrom('plain', 's256', '').map((v) => set('code_challenge_method', v)),
      fc.constant(drop('code_challenge_method')),
      fc.constantFrom('none', 'none login', 'bogus', 'login bogus').map((v) => set('prompt', v)),
      nonEmptyJunk.filter((s) => !/^\d{1,10}$/.test(s)).map((v) => set('max_age', v)),
      nonEmptyJunk.filter((s) => !['page', 'popup', 'touch', 'wap'].includes(s)).map((v) => set('display', v)),
      fc.constant(set('state', 's'.repeat(513))),
      junk.map((v) => set('request', v)),
      junk.map((v) => set('request_uri', v)),
      fc.constantFrom('response_type', 'scope', 'state', 'nonce', 'code_challenge').map((name) => repeat(name, 'again')),
    );
    const known = new Set(['client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge',
      'code_challenge_method', 'prompt', 'max_age', 'display', 'request', 'request_uri', 'ui_locales', 'login_hint', 'acr_values']);
    const extras = fc.array(fc.tuple(junk.filter((k) => !known.has(k)), junk), { maxLength: 3 });
    const input = fc.record({
      locals: fc.array(local, { maxLength: 1 }), // two could undo each other (drop, then re-add)
      redirects: fc.array(redirected, { maxLength: 2 }),
      extras,
      method: fc.constantFrom('GET', 'POST'),
      type: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'application/json', 'text/plain'),
    }).filter((r) => r.locals.length + r.redirects.length > 0);
    const { params: valid } = await codeRequest(pub);

    await fc.assert(
      fc.asyncProperty(input, async ({ locals, redirects, extras: more, method, type }) => {
        let pairs: Pairs = Object.entries(valid);
        for (const mutate of [...redirects, ...locals]) pairs = mutate(pairs);
        pairs = [...pairs, ...more];
        const query = new URLSearchParams(pairs).toString();
        const res =
          method === 'GET'
            ? await call(`/authorize?${query}`, { redirect: 'manual' })
            : await call('/authorize', { method: 'POST', headers: { 'Content-Type': type }, body: query, redirect: 'manual' });
        const what = `${method} /authorize?${query.slice(0, 300)}`;
        expect(res.status, what).toBeLessThan(500);
        const expectLocal = locals.length > 0 || (method === 'POST' && !type.startsWith('application/x-www-form-urlencoded'));
        if (expectLocal) {
          expect(res.status, what).toBe(400);
          expect(res.headers.get('Content-Type'), what).toMatch(/^text\/html/);
          expect(await res.text(), what).toMatch(/<code id="error">(invalid_client|invalid_redirect_uri|invalid_request)<\/code>/);
          return;
        }
        expect(res.status, what).toBe(303);
        const location = new URL(res.headers.get('Location')!);
        expect(`${location.origin}${location.pathname}`, what).toBe(pub.redirectUri);
        expect(['invalid_request', 'unsupported_response_type', 'invalid_scope', 'login_required', 'request_not_supported', 'request_uri_not_supported'], what)
          .toContain(location.searchParams.get('error'));
        expect(location.searchParams.get('iss'), what).toBe(ISSUER);
        expect(location.searchParams.has('code'), what).toBe(false);
        const states = pairs.filter(([k]) => k === 'state');
        // One state of an acceptable length is echoed; an oversized one is not carried back.
        if (states.length === 1) {
          const sent = states[0]![1];
          expect(location.searchParams.get('state'), what).toBe(sent && sent.length <= 512 ? sent : null);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('/authorize with an arbitrary query: the local error page', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(junk, junk), { maxLength: 6 }), async (pairs) => {
        const res = await call(`/authorize?${new URLSearchParams(pairs)}`, { redirect: 'manual' });
        expect(res.status).toBe(400);
        expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
      }),
      { numRuns: 50 },
    );
  });

  it('/token: every refusal is an OAuth error; the real code is never redeemed', async () => {
    const field = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const form = fc.record({
      grant_type: field(fc.oneof({ weight: 3, arbitrary: fc.constant('authorization_code') }, junk, fc.constantFrom('refresh_token', 'client_credentials'))),
      code: field(fc.oneof({ weight: 3, arbitrary: fc.constant(approved.code) }, junk, junk.map((j) => `${approved.login.id}.${j}`))),
      redirect_uri: field(fc.oneof({ weight: 3, arbitrary: fc.constant(pub.redirectUri) }, junk)),
      client_id: field(fc.oneof({ weight: 3, arbitrary: fc.constant(pub.client.client_id) }, fc.constant(confidential.client.client_id), junk)),
      client_secret: field(junk),
      code_verifier: field(fc.oneof(verifierShaped, junk)),
    });
    const authorization = fc.oneof(
      fc.constant(undefined),
      headerValue.map((s) => basic(confidential.client.client_id, s)),
      fc.constant(basic(pub.client.client_id, '')),
      headerValue.map((s) => `Basic ${s}`),
      headerValue.map((s) => `Bearer ${s}`),
    );
    const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE');
    const type = fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', undefined);
    const duplicate = fc.boolean();
    await fc.assert(
      fc.asyncProperty(form, authorization, method, type, duplicate, async (f, auth, m, t, dup) => {
        const pairs = Object.entries(f).filter((e): e is [string, string] => e[1] !== undefined);
        if (dup && pairs[0]) pairs.push(pairs[0]);
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.Authorization = auth;
        if (t !== undefined) headers['Content-Type'] = t;
        const res = await call('/token', { method: m, headers, ...(m === 'GET' ? {} : { body: new URLSearchParams(pairs).toString() }) });
        await expectOAuthError(res, ['invalid_request', 'invalid_client', 'invalid_grant', 'unsupported_grant_type', 'unauthorized_client'], `${m} /token ${JSON.stringify(f)}`);
      }),
      RUNS,
    );
  });

  it('/userinfo: no token → a bare 401 challenge; a bad token → an OAuth error', async () => {
    const badToken = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,80}=*$/),
      fc.uint8Array({ minLength: 16, maxLength: 48 }).map((b) => `${approved.login.id}.${btoa(String.fromCharCode(...b)).replace(/[+/=]/g, 'A')}`),
      fc.constant(`${redeemed.accessToken}x`),
      fc.constant(redeemed.accessToken.toUpperCase()),
    );
    const authorization = fc.oneof(
      fc.constant(undefined),
      badToken.map((t) => `Bearer ${t}`),
      headerValue.map((s) => `Bearer ${s}`),
      headerValue,
      fc.constant(basic(pub.client.client_id, 'x')),
    );
    const formToken = fc.option(fc.oneof(badToken, junk), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST'), authorization, formToken, async (method, auth, bodyToken) => {
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.Authorization = auth;
        const withBody = method === 'POST' && bodyToken !== undefined;
        if (withBody) headers['Content-Type'] = 'application/x-www-form-urlencoded';
        const res = await call('/userinfo', { method, headers, ...(withBody ? { body: new URLSearchParams({ access_token: bodyToken }).toString() } : {}) });
        const what = `${method} /userinfo ${auth} ${bodyToken}`;
        expect(res.headers.get('WWW-Authenticate'), what).toMatch(/^Bearer realm=/);
        // An empty header value is no header at all once the request is built.
        if ((auth === undefined || auth.trim() === '') && !withBody) {
          expect(res.status, what).toBe(401);
          expect(await res.text(), what).toBe('');
        } else {
          await expectOAuthError(res, ['invalid_request', 'invalid_token'], what);
        }
      }),
      RUNS,
    );
  });

  it('discovery and JWKS: any query and method, never a 5xx', async () => {
    const path = fc.constantFrom('/.well-known/openid-configuration', '/jwks');
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS');
    await fc.assert(
      fc.asyncProperty(path, method, fc.array(fc.tuple(junk, junk), { maxLength: 3 }), async (p, m, query) => {
        const res = await call(`${p}?${new URLSearchParams(query)}`, { method: m });
        if (m === 'GET') {
          expect(res.status).toBe(200);
          const body = (await res.json()) as { issuer?: string; keys?: unknown[] };
          if (p === '/jwks') expect(body.keys?.length).toBeGreaterThan(0);
          else expect(body.issuer).toBe(ISSUER);
        } else if (m === 'HEAD') {
          expect(res.status).toBe(200);
        } else {
          await expectProblem(res, `${m} ${p}`);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('/login/:id/continue: no code without the right browser and an approval', async () => {
    const ids = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(approved.login.id, pending.id) }, hex64, junk.map(encodeURIComponent));
    // The approved login's own cookie would rightly issue a fresh code: that is not fuzz.
    const cookie = (id: string) =>
      fc.oneof(
        fc.constant(undefined),
        fc.constant(id === pending.id ? pending.cookie : approved.login.cookie.replace(/=.*/, '=forged')),
        fc.constant(pending.cookie),
        headerValue.map((v) => `${bindingCookieName(id)}=${v}`),
      );
    await fc.assert(
      fc.asyncProperty(ids.chain((id) => fc.tuple(fc.constant(id), cookie(id))), async ([id, c]) => {
        const res = await call(`/login/${id}/continue`, { headers: c === undefined ? {} : { Cookie: c }, redirect: 'manual' });
        if (id === pending.id && c === pending.cookie) {
          expect(res.status).toBe(303);
          expect(res.headers.get('Location')).toBe(`/login/${id}`);
        } else {
          await expectProblem(res, `continue ${id.slice(0, 12)} ${c}`);
        }
      }),
      RUNS,
    );
  });

  it('the demo relying service: a page or a redirect, a "Login failed" page for any bad callback', async () => {
    const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
    const flowCookie = fc.oneof(
      fc.constant(undefined),
      headerValue.map((v) => `__Host-demo_flow=${v}`),
      fc.jsonValue({ maxDepth: 2 }).map((v) => `__Host-demo_flow=${b64(JSON.stringify(v))}`),
      fc.record({ state: fc.constant('s1'), nonce: junk, codeVerifier: fc.oneof(verifierShaped, junk) }).map((v) => `__Host-demo_flow=${b64(JSON.stringify(v))}`),
    );
    const query = fc.record(
      {
        code: fc.oneof(junk, junk.map((j) => `${approved.login.id}.${j}`)),
        state: fc.oneof(fc.constant('s1'), junk),
        iss: fc.oneof(fc.constant(ISSUER), junk),
        error: fc.oneof(fc.constantFrom('access_denied', 'login_required'), junk),
        error_description: junk,
      },
      { requiredKeys: [] },
    );
    const route = fc.oneof(
      fc.tuple(fc.constant('GET /demo/callback'), query, flowCookie),
      fc.tuple(fc.constantFrom('GET /demo', 'POST /demo/login'), query, fc.constant(undefined)),
    );
    await fc.assert(
      fc.asyncProperty(route, async ([which, q, cookie]) => {
        const [method, path] = which.split(' ') as [string, string];
        const res = await call(`${path}?${new URLSearchParams(q as Record<string, string>)}`, {
          method,
          headers: cookie === undefined ? {} : { Cookie: cookie },
          redirect: 'manual',
        });
        const what = `${which} ${JSON.stringify(q)} ${cookie}`;
        if (which === 'GET /demo') expect(res.status, what).toBe(200);
        else if (which === 'POST /demo/login') {
          expect(res.status, what).toBe(303);
          expect(res.headers.get('Location'), what).toMatch(new RegExp(`^${ISSUER}/authorize\\?`));
        } else {
          expect(res.status, what).toBe(400);
          expect(await res.text(), what).toContain('Login failed');
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('after the fuzzing', () => {
  it('the real code still redeems with its verifier and the real access token still works', async () => {
    const redeemedNow = await token({
      grant_type: 'authorization_code',
      code: approved.code,
      redirect_uri: pub.redirectUri,
      client_id: pub.client.client_id,
      code_verifier: approved.codeVerifier,
    });
    expect(redeemedNow.res.status).toBe(200);
    expect(redeemedNow.body.token_type).toBe('Bearer');
    const userinfo = await call('/userinfo', { headers: { Authorization: `Bearer ${redeemed.accessToken}` } });
    expect(userinfo.status).toBe(200);
    expect(((await userinfo.json()) as { sub: string }).sub).toBe(redeemed.sub);
  });
});
