/**
 * `prompt=select_account` (OIDC Core §3.1.2.1): with a valid browser session, the person
 * chooses between continuing as the identity logged in ("Continue as Jana N.": a silent answer,
 * `auth_time` unchanged) and logging in with another key (a fresh approval on the phone).
 *
 * The page is one plain form (no script) that POSTs the original authorization request back to
 * `/authorize` with the choice and a CSRF token: a double-submit cookie (`SameSite=Strict`,
 * HttpOnly) that only this browser holds, as on the logout confirmation (src/oidc/logout.ts).
 * Czech and English.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Locale } from '../../client/shared/i18n.ts';
import { contentSecurityPolicy } from '../http/headers.ts';
import type { IdentityClaims } from '../identity/identities.ts';
import { htmlSecurityHeaders, renderDocument } from '../login/html.tsx';
import { Shell } from '../login/pages.tsx';
import { isLocalhost } from '../session/binding.ts';
import { randomToken, timingSafeEqual } from '../session/crypto.ts';
import type { AccountChoice } from './session-step.ts';

/** The form field carrying the choice (`continue` or `another`); its presence marks an answer. */
export const CHOICE_FIELD = 'mk_account';
/** The form field carrying the CSRF token. */
export const CHOICE_CSRF_FIELD = 'mk_account_csrf';
/** How long the choice page stays usable, in SECONDS. */
export const CHOICE_MAX_AGE_SECONDS = 600;

const TEXT = {
  cs: {
    title: 'Vyberte účet',
    asks: (name: string) => `Služba ${name} žádá o přihlášení a nechává vás vybrat účet.`,
    loggedIn: 'Na tomto zařízení jste přihlášeni mobilním klíčem.',
    continueAs: (name: string) => `Pokračovat jako ${name}`,
    another: 'Přihlásit se jiným klíčem',
    anotherHelp: 'Přihlásíte se znovu na telefonu, třeba klíčem jiné osoby.',
    unnamed: 'přihlášená osoba',
  },
  en: {
    title: 'Choose an account',
    asks: (name: string) => `The service ${name} asks you to log in and lets you choose the account.`,
    loggedIn: 'You are logged in on this device with a mobile key.',
    continueAs: (name: string) => `Continue as ${name}`,
    another: 'Log in with another key',
    anotherHelp: 'You log in again on your phone, for example with another person’s key.',
    unnamed: 'the person logged in',
  },
} as const;

/** The CSRF cookie: `__Host-` (Secure, Path=/) except on a loopback http issuer. */
export function choiceCookieName(issuer: string): string {
  return isLocalhost(issuer) ? 'mk_account_csrf' : '__Host-mk_account_csrf';
}

/**
 * How the choice page names the person: the given name and the family name's initial
 * ("Jana N."), enough to recognise oneself on a shared computer without showing the whole name.
 * @returns undefined when the identity has no given name.
 */
export function shortName(claims: IdentityClaims | undefined): string | undefined {
  const given = typeof claims?.given_name === 'string' ? claims.given_name.trim() : '';
  if (!given) return undefined;
  const family = typeof claims?.family_name === 'string' ? claims.family_name.trim() : '';
  const initial = family ? [...family][0] : undefined;
  return initial ? `${given} ${initial.toLocaleUpperCase('cs')}.` : given;
}

/**
 * The `form-action` sources the choice page needs: its form posts to us, and our answer to
 * "continue" redirects to the client's redirect_uri, which Chromium checks against
 * `form-action` too.
 */
function formActionSources(redirectUri: string): string {
  const url = new URL(redirectUri);
  return `'self' ${url.origin === 'null' ? url.protocol : url.origin}`;
}

/**
 * Reads the person's answer from a POSTed authorization request.
 * @returns null when the form carries no answer; `invalid` when it does but the CSRF token is
 *   missing, repeated or not this browser's (the caller refuses it locally, nothing changes);
 *   else the choice (the token's cookie is cleared: one answer per page).
 */
export function readChoice(c: Context<{ Bindings: Env }>, form: URLSearchParams): AccountChoice | 'invalid' | null {
  if (!form.has(CHOICE_FIELD)) return null;
  const choices = form.getAll(CHOICE_FIELD);
  const sent = form.getAll(CHOICE_CSRF_FIELD);
  const name = choiceCookieName(c.env.ISSUER);
  const expected = getCookie(c, name);
  if (choices.length !== 1 || (choices[0] !== 'continue' && choices[0] !== 'another')) return 'invalid';
  if (!expected || sent.length !== 1 || !timingSafeEqual(sent[0]!, expected)) return 'invalid';
  deleteCookie(c, name, { path: '/', secure: !isLocalhost(c.env.ISSUER) });
  return choices[0];
}

/** The request's parameters without the choice page's own fields. */
export function withoutChoice(form: URLSearchParams): URLSearchParams {
  const rest = new URLSearchParams();
  for (const [name, value] of form) if (name !== CHOICE_FIELD && name !== CHOICE_CSRF_FIELD) rest.append(name, value);
  return rest;
}

/**
 * The choice page, with a fresh CSRF token in its cookie.
 * @param input.params the validated authorization request's parameters, carried as hidden
 *   fields (each appears once: repeats were refused before).
 * @param input.name the person's short name ({@link shortName}), if known.
 */
export function choicePage(
  c: Context<{ Bindings: Env }>,
  input: { locale: Locale; name: string | undefined; clientName: string; redirectUri: string; params: URLSearchParams },
): Response {
  const t = TEXT[input.locale];
  const csrf = randomToken(32);
  setCookie(c, choiceCookieName(c.env.ISSUER), csrf, {
    path: '/',
    httpOnly: true,
    secure: !isLocalhost(c.env.ISSUER),
    sameSite: 'Strict',
    maxAge: CHOICE_MAX_AGE_SECONDS,
  });
  const switchHref = (locale: Locale) => {
    const query = new URLSearchParams(input.params);
    query.set('ui_locales', locale);
    return `/authorize?${query}`;
  };
  const policy = contentSecurityPolicy().replace("form-action 'self'", `form-action ${formActionSources(input.redirectUri)}`);
  const body = (
    <Shell locale={input.locale} switchHref={switchHref}>
      <div class="card card-narrow" data-select-account="">
        <h1>{t.title}</h1>
        <p data-client="">{t.asks(input.clientName)}</p>
        <p>{t.loggedIn}</p>
        <form method="post" action="/authorize">
          {[...input.params].map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <input type="hidden" name={CHOICE_CSRF_FIELD} value={csrf} />
          <p class="help-actions">
            <button class="button" type="submit" name={CHOICE_FIELD} value="continue" data-continue-as="">
              {t.continueAs(input.name ?? t.unnamed)}
            </button>
          </p>
          <p class="help-actions">
            <button class="button button-secondary" type="submit" name={CHOICE_FIELD} value="another" data-another-key="">
              {t.another}
            </button>
          </p>
          <p class="aside">{t.anotherHelp}</p>
        </form>
      </div>
    </Shell>
  );
  const headers = { ...htmlSecurityHeaders(), 'Content-Security-Policy': policy };
  return c.body(renderDocument({ lang: input.locale, title: t.title, body }), 200, headers);
}
