/**
 * What every request to a first-party page (the operator console, the account) does before its
 * route: the page language, and for a POST the form checked against the session's CSRF token.
 */
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { chooseLocale, type Locale } from '../../client/shared/i18n.ts';
import { isLocalhost } from '../session/binding.ts';
import { timingSafeEqual } from '../session/crypto.ts';

/** The cookie remembering a language chosen with `?lang=` (a year). */
const LANG_COOKIE = 'lang';

/**
 * The page language: `?lang=`, then the `lang` cookie, then `Accept-Language`; a `?lang=` we
 * accept is remembered in the cookie.
 */
export function pageLocale<E extends { Bindings: Env }>(c: Context<E>): Locale {
  const query = c.req.query('lang');
  const locale: Locale = chooseLocale({ query, cookie: getCookie(c, LANG_COOKIE), acceptLanguage: c.req.header('Accept-Language') });
  if (query === locale) setCookie(c, LANG_COOKIE, locale, { path: '/', httpOnly: true, sameSite: 'Lax', secure: !isLocalhost(c.env.ISSUER), maxAge: 365 * 86400 });
  return locale;
}

/**
 * A POST's form fields (strings only; a body that is no form reads as empty), or null when there
 * is no session or the form's `csrf` is not the session's token (compared in constant time).
 */
export async function csrfCheckedForm(c: Context, session: { csrf: string } | null): Promise<Record<string, string> | null> {
  const body = await c.req.parseBody().catch(() => ({}));
  const form: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string') form[name] = value;
  return session && form.csrf && timingSafeEqual(form.csrf, session.csrf) ? form : null;
}
