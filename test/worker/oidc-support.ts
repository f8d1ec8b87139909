/**
 * Shared steps for the OIDC tests: oauth4webapi as the relying service with a fetch that routes
 * to the worker, test clients and identities in D1, and approval of a login by a test device.
 */
import { env, exports } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { expect } from 'vitest';
import { createIdentity, type IdentityClaims } from '../../src/identity/identities.ts';
import { parseLoginUrl } from '../../src/mobile/protocol.ts';
import { registerClient, type GrantType, type IdTokenAlg } from '../../src/oidc/clients.ts';
import { randomToken } from '../../src/session/crypto.ts';
import { loginStub } from '../../src/session/stub.ts';
import type { LoginSnapshot } from '../../src/session/types.ts';
import { answerAs, call, scanAs, testDevice, type TestLogin } from './helpers.ts';
import { NAVIGATION_HEADERS } from '../navigation.ts';

export const ISSUER = new URL(env.ISSUER);

/** oauth4webapi options: every request goes to the exported worker; http is fine for localhost. */
export const rp = {
  [oauth.customFetch]: ((input: RequestInfo | URL, init?: RequestInit) =>
    exports.default.fetch(new Request(input, init))) as typeof fetch,
  [oauth.allowInsecureRequests]: true,
};

export function discover(): Promise<oauth.AuthorizationServer> {
  return oauth.discoveryRequest(ISSUER, rp).then((res) => oauth.processDiscoveryResponse(ISSUER, res));
}

export interface TestClient {
  client: oauth.Client;
  secret?: string;
  redirectUri: string;
  name: string;
}

/** Registers a client with a unique redirect_uri. */
export async function newClient(options: { public?: boolean; alg?: IdTokenAlg; grantTypes?: GrantType[] } = {}): Promise<TestClient> {
  const redirectUri = `https://rp.example/cb/${randomToken(6)}`;
  const name = `Test RP ${randomToken(3)}`;
  const { client, clientSecret } = await registerClient(env.DB, {
    name,
    redirectUris: [redirectUri, 'https://rp.example/other'],
    public: options.public ?? false,
    idTokenAlg: options.alg ?? 'RS256',
    ...(options.grantTypes ? { grantTypes: options.grantTypes } : {}),
  });
  return {
    client: { client_id: client.clientId, id_token_signed_response_alg: client.idTokenAlg },
    redirectUri,
    name,
    ...(clientSecret ? { secret: clientSecret } : {}),
  };
}

export const PERSON: IdentityClaims = {
  given_name: 'Jana',
  family_name: 'Nováková',
  birthdate: '1990-04-01',
  email: 'jana@example.cz',
  email_verified: true,
  phone_number: '+420777123456',
  phone_number_verified: true,
  address: { formatted: 'Náměstí 1, 602 00 Brno', locality: 'Brno', country: 'CZ' },
  national_id: 'never-released',
};

export function newPerson(claims: IdentityClaims = PERSON) {
  return createIdentity(env.DB, claims);
}

/** GET (or HEAD) /authorize with these parameters and headers; redirects are not followed. */
export function authorize(params: Record<string, string>, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<Response> {
  return call(`/authorize?${new URLSearchParams(params)}`, { method, headers, redirect: 'manual' });
}

/** A complete, valid authorization request for a client, plus the RP-side secrets. */
export async function codeRequest(tc: TestClient, extra: Record<string, string> = {}) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const params: Record<string, string> = {
    client_id: tc.client.client_id,
    redirect_uri: tc.redirectUri,
    response_type: 'code',
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...extra,
  };
  return { params, codeVerifier, state, nonce };
}

/**
 * The login started by an /authorize response, as a TestLogin: a 303 to /login/<id>, or to a
 * browser's navigation ({@link NAVIGATION_HEADERS}) the page itself, naming /login/<id> in Content-Location.
 */
export async function loginFrom(res: Response): Promise<TestLogin> {
  expect(res.status).toBe(res.headers.has('Content-Location') ? 200 : 303);
  const address = res.headers.get('Location') ?? res.headers.get('Content-Location') ?? '';
  const id = /^\/login\/([0-9a-f]{64})$/.exec(address)?.[1];
  expect(id).toBeDefined();
  const cookie = (res.headers.get('Set-Cookie') ?? '').split(';')[0]!;
  const state = await call(`/login/${id}/state`, { headers: { Cookie: cookie } });
  expect(state.status).toBe(200);
  const snapshot = (await state.json()) as LoginSnapshot;
  const frame = parseLoginUrl(snapshot.loginUrl!)!.frame;
  const launch = parseLoginUrl(snapshot.launchUrl!)!.frame;
  return { id: id!, frame, launch, cookie, stub: loginStub(env, id!), snapshot };
}

/**
 * Scans and answers a login with a fresh device of `sub`, enrolled in D1 (UserInfo checks the
 * approving key there).
 * @returns the device.
 */
export async function decide(login: TestLogin, sub: string, decision: 'approve' | 'deny' = 'approve') {
  const device = await testDevice('Jana’s phone', sub);
  await env.DB.prepare('INSERT INTO devices (id, sub, public_jwk, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)')
    .bind(device.id, sub, JSON.stringify(device.publicJwk), device.name, Date.now())
    .run();
  const nonce = await scanAs(login, device);
  const answer = await answerAs(login, device, decision, nonce);
  expect(answer.ok).toBe(true);
  return device;
}

/** GET /login/<id>/continue from the browser that started the login. */
export function continueLogin(login: TestLogin): Promise<Response> {
  return call(`/login/${login.id}/continue`, { headers: { Cookie: login.cookie }, redirect: 'manual' });
}

/**
 * The browser's whole trip: /authorize, approval on the phone by `sub`, /continue.
 * @returns the callback URL the browser lands on at the relying service.
 */
export async function approvedCallback(params: Record<string, string>, sub: string): Promise<URL> {
  const login = await loginFrom(await authorize(params));
  await decide(login, sub);
  const res = await continueLogin(login);
  expect(res.status).toBe(303);
  return new URL(res.headers.get('Location')!);
}

/** A code for a client, ready to redeem: returns the callback URL and the request's secrets. */
export async function issuedCode(tc: TestClient, sub: string, extra: Record<string, string> = {}) {
  const request = await codeRequest(tc, extra);
  const callback = await approvedCallback(request.params, sub);
  return { ...request, callback, code: callback.searchParams.get('code')! };
}

/** POST /token with a form body and optional headers; returns status, headers and JSON. */
export async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await call('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${btoa(`${enc(id)}:${enc(secret)}`)}`;
}
