import { getCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import { randomToken, sha256Hex } from './crypto.ts';

/**
 * The binding cookie ties a login to the browser that started it: only a request carrying it
 * may watch the login or receive its result. One cookie per login; its name carries the login
 * id (the `__Host-` prefix forces `Path=/`, so the path can no longer tell logins apart).
 *
 * `__Host-` (RFC 6265bis §4.1.3.2): the browser accepts it only with `Secure`, `Path=/` and no
 * `Domain`, from a secure origin — so a sibling subdomain or a plain-http response cannot plant
 * one to fix a victim's browser to an attacker's login (issue 14, review 2).
 */
export function bindingCookieName(loginId: string): string {
  return `__Host-mk_login_${loginId.slice(0, 16)}`;
}

/** True when the issuer is a loopback origin, where browsers refuse nothing for lack of TLS. */
export function isLocalhost(issuer: string): boolean {
  const host = new URL(issuer).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/**
 * Sets a fresh binding cookie for a login (`__Host-`, HttpOnly, SameSite=Lax, Path=/, Secure —
 * browsers accept Secure cookies from http://localhost, a secure context) and returns the
 * SHA-256 hex of its value, which the object keeps.
 * @param maxAgeSeconds cookie lifetime in seconds.
 */
export async function issueBindingCookie(c: Context, loginId: string, maxAgeSeconds: number): Promise<string> {
  const value = randomToken(32);
  setCookie(c, bindingCookieName(loginId), value, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    maxAge: Math.ceil(maxAgeSeconds),
  });
  return sha256Hex(value);
}

/** SHA-256 hex of the request's binding cookie for a login, or '' when it has none. */
export async function bindingHashFrom(c: Context, loginId: string): Promise<string> {
  const value = getCookie(c, bindingCookieName(loginId));
  return value ? sha256Hex(value) : '';
}
