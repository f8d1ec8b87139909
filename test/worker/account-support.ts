/**
 * Account test steps: the account's client registered as `npm start` seeds it, a browser (a
 * cookie jar sending a real User-Agent) and the phone answering over the mobile API, so the
 * login history and consents are recorded exactly as in production.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { getClient, registerClient } from '../../src/oidc/clients.ts';
import { parseLoginUrl } from '../../src/mobile/protocol.ts';
import { call, sign, type TestDevice } from './helpers.ts';
import { post as postJson } from './identity-helpers.ts';

export const CHROME_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** Registers the account's public client once per test file's database. */
export async function seedAccountClient(): Promise<void> {
  if (await getClient(env.DB, 'account')) return;
  await registerClient(env.DB, { clientId: 'account', name: 'Můj účet', public: true, redirectUris: [`${env.ISSUER}/account/callback`] });
}

/** A browser: cookies kept from every response, one User-Agent, no redirects followed. */
export class Jar {
  readonly cookies = new Map<string, string>();
  constructor(readonly userAgent = CHROME_ON_WINDOWS) {}

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('Cookie', this.header());
    headers.set('User-Agent', this.userAgent);
    const res = await call(path, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || pair.slice(eq + 1) === '') this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return res;
  }

  get(path: string): Promise<Response> {
    return this.fetch(path);
  }

  post(path: string, form: Record<string, string>): Promise<Response> {
    return this.fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  }
}

/** The login id and QR frame of the login page a 303 leads to, read as the page's script would. */
export async function loginOf(jar: Jar, res: Response): Promise<{ id: string; frame: string }> {
  expect(res.status).toBe(303);
  const id = /^\/login\/([0-9a-f]{64})$/.exec(res.headers.get('Location') ?? '')![1]!;
  const state = (await (await jar.get(`/login/${id}/state`)).json()) as { loginUrl: string };
  return { id, frame: parseLoginUrl(state.loginUrl)!.frame };
}

/**
 * The phone scans and answers over the mobile API (as the web app and the key CLI do), signing
 * the consent with the decision as they do.
 * @param consent the choice sent with an approval ("for this login only" when absent).
 */
export async function phoneAnswers(login: { id: string; frame: string }, device: TestDevice, decision: 'approve' | 'deny', consent?: 'once' | 'always'): Promise<void> {
  const scan = await postJson(`/api/mobile/logins/${login.id}/scan`, { version: 2, frame: login.frame, device_id: device.id, signature: await sign(device, 'scan', login.id) });
  expect(scan.status).toBe(200);
  const { nonce } = (await scan.json()) as { nonce: string };
  const extra = consent ? { consent } : {};
  const answer = await postJson(`/api/mobile/logins/${login.id}/answer`, {
    version: 2, device_id: device.id, decision, nonce, signature: await sign(device, decision, login.id, nonce, extra), ...extra,
  });
  expect(answer.status).toBe(200);
}

/** Follows the browser through /account/login, /authorize, the phone's approval, /continue and /account/callback. */
export async function accountLogin(jar: Jar, device: TestDevice): Promise<{ authorizeUrl: URL; callback: Response }> {
  await seedAccountClient();
  const start = await jar.get('/account/login');
  expect(start.status).toBe(303);
  const authorizeUrl = new URL(start.headers.get('Location')!);
  const authorized = await jar.get(`${authorizeUrl.pathname}${authorizeUrl.search}`);
  const login = await loginOf(jar, authorized);
  await phoneAnswers(login, device, 'approve');
  const back = await jar.get(`/login/${login.id}/continue`);
  expect(back.status).toBe(303);
  const to = new URL(back.headers.get('Location')!);
  return { authorizeUrl, callback: await jar.get(`${to.pathname}${to.search}`) };
}

/** A browser logged in to the account with `device`; `csrf` read from the keys page's forms. */
export async function accountBrowser(device: TestDevice): Promise<{ jar: Jar; csrf: string; page(path?: string): Promise<string> }> {
  const jar = new Jar();
  const { callback } = await accountLogin(jar, device);
  expect(callback.status).toBe(303);
  expect(callback.headers.get('Location')).toBe('/account');
  const html = await (await jar.get('/account')).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  return { jar, csrf, page: async (path = '/account') => (await jar.get(path)).text() };
}

/**
 * A second key enrolled to the same identity (an activation code from the operator API).
 * @param headers extra request headers of the enrolment, e.g. a `User-Agent`.
 */
export async function secondKey(sub: string, name: string, headers: Record<string, string> = {}): Promise<TestDevice> {
  const { ADMIN, newKeyPair, address } = await import('./identity-helpers.ts');
  const issued = await postJson(`/admin/identities/${sub}/activation-codes`, {}, ADMIN);
  expect(issued.status).toBeLessThan(300);
  const { activation_code } = (await issued.json()) as { activation_code: string };
  const keys = await newKeyPair();
  const res = await postJson('/api/mobile/enrol', { activation_code, public_jwk: keys.publicJwk, name }, { ...address(), ...headers });
  expect(res.status).toBe(201);
  const { device_id } = (await res.json()) as { device_id: string };
  return { id: device_id, sub, name, publicJwk: keys.publicJwk, privateKey: keys.privateKey } as TestDevice;
}
