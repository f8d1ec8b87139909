import { getCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import { randomToken, sha256Hex } from './crypto.ts';

/**
 * The binding cookie ties a login to the browser that started it: only a request carrying it
 * may watch the login or receive its result. One cookie per login, scoped to the login's path.
 */
export function bindingCookieName(loginId: string): string {
  return `mk_login_${loginId.slice(0, 16)}`;
}

/** True when the issuer is a loopback origin, where browsers refuse nothing for lack of TLS. */
export function isLocalhost(issuer: string): boolean {
  const host = new URL(issuer).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/**
 * Sets a fresh binding cookie for a login (HttpOnly, SameSite=Lax, Path=/login/<id>, Secure
 * except on localhost) and returns the SHA-256 hex of its value, which the object keeps.
 * @param maxAgeSeconds cookie lifetime in seconds.
 */
export async function issueBindingCookie(c: Context, loginId: string, maxAgeSeconds: number): Promise<string> {
  const value = randomToken(32);
  const issuer = (c.env as Env).ISSUER;
  setCookie(c, bindingCookieName(loginId), value, {
    path: `/login/${loginId}`,
    httpOnly: true,
    secure: !isLocalhost(issuer),
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
