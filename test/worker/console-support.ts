/**
 * Console test steps: the console's client registered as `npm start` seeds it, operators with a
 * role, and a console login carried through /authorize, the phone's approval and the callback,
 * the way a browser does it.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { grantRole, type Role } from '../../src/console/operators.ts';
import { registerClient, getClient } from '../../src/oidc/clients.ts';
import { call } from './helpers.ts';
import { continueLogin, decide, loginFrom, newPerson } from './oidc-support.ts';

/** Registers the console's public client once per test file's database. */
export async function seedConsoleClient(): Promise<void> {
  if (await getClient(env.DB, 'console')) return;
  await registerClient(env.DB, { clientId: 'console', name: 'Operator console', public: true, redirectUris: [`${env.ISSUER}/console/callback`] });
}

/** Cookies of a response as `name=value` pairs by name. */
export function cookiesOf(res: Response): Map<string, string> {
  const map = new Map<string, string>();
  for (const header of res.headers.getSetCookie()) {
    const pair = header.split(';')[0]!;
    map.set(pair.slice(0, pair.indexOf('=')), pair);
  }
  return map;
}

/** A fresh person with a console role (or none). */
export async function newOperator(role: Role | null): Promise<string> {
  const person = await newPerson({ given_name: 'Olga', family_name: 'Operátorová' });
  if (role) expect(await grantRole(env.DB, person.sub, role)).toBe(true);
  return person.sub;
}

/**
 * Logs `sub` in to the console: /console/login → /authorize → phone approval → /continue →
 * /console/callback. @returns the callback's response and the authorize URL the console built.
 */
export async function consoleLogin(sub: string): Promise<{ res: Response; authorizeUrl: URL }> {
  await seedConsoleClient();
  const start = await call('/console/login', { redirect: 'manual' });
  expect(start.status).toBe(303);
  const flowCookie = cookiesOf(start).get('__Host-mk_console_flow')!;
  const authorizeUrl = new URL(start.headers.get('Location')!);
  const login = await loginFrom(await call(`${authorizeUrl.pathname}${authorizeUrl.search}`, { redirect: 'manual' }));
  await decide(login, sub);
  const back = await continueLogin(login);
  expect(back.status).toBe(303);
  const callback = new URL(back.headers.get('Location')!);
  const res = await call(`${callback.pathname}${callback.search}`, { headers: { Cookie: flowCookie }, redirect: 'manual' });
  return { res, authorizeUrl };
}

/** A logged-in console browser: its session cookie and the CSRF token from a page's forms. */
export async function consoleBrowser(role: Role): Promise<{ sub: string; cookie: string; csrf: string; get(path: string): Promise<Response>; post(path: string, form: Record<string, string>): Promise<Response> }> {
  const sub = await newOperator(role);
  const { res } = await consoleLogin(sub);
  expect(res.status).toBe(303);
  const cookie = cookiesOf(res).get('__Host-mk_console')!;
  const get = (path: string) => call(path, { headers: { Cookie: cookie }, redirect: 'manual' });
  const page = await (await get('/console/counter')).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  const post = (path: string, form: Record<string, string>) =>
    call(path, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form), redirect: 'manual' });
  return { sub, cookie, csrf, get, post };
}
