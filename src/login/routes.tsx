import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { chooseLocale, isLocale, messages, type Locale } from '../../client/shared/i18n.ts';
import { ProblemError } from '../http/problem.ts';
import { bindingCookieName, bindingHashFrom, isLocalhost } from '../session/binding.ts';
import { STATIC_REFRESH_SECONDS } from '../session/rotation.ts';
import { startLogin } from '../session/start.ts';
import { loginStub, unwrap } from '../session/stub.ts';
import type { LoginSnapshot, Result, StartLogin } from '../session/types.ts';
import { sendHtml } from './html.tsx';
import { ErrorBody, HELP_PATH, HelpBody, LoginDocumentBody, loginTitle } from './pages.tsx';

type Ctx = Context<{ Bindings: Env }>;
type RestartRequest = Omit<StartLogin, 'bindingHash' | 'validitySeconds'>;

/** Name of the cookie that remembers the language picked with the switch on a page. */
export const LANG_COOKIE = 'lang';
/** How long the language choice is remembered, in seconds (one year). */
const LANG_COOKIE_MAX_AGE = 365 * 24 * 60 * 60;
/** Without scripts the page reloads itself this often (seconds) to follow the login once scanned. */
const NOSCRIPT_REFRESH_SECONDS = 10;

/**
 * The hosted pages, mounted at `/`:
 *
 * - `GET /login/:id` — the hosted login page, server-rendered with its QR (binding cookie
 *   required; a friendly 403 page without it, 404 for an unknown login).
 * - `POST /login/:id/restart` — "Start again": a fresh login for the same authorization
 *   request, then 303 to its page. Same-origin form posts only; refused once approved.
 * - `GET /create-mobile-key` — how to create (enrol) a mobile key.
 *
 * Every page takes `?lang=cs|en`, which is also remembered in the `lang` cookie.
 */
export const loginPages = new Hono<{ Bindings: Env }>();

loginPages.get('/login/:id', async (c) => {
  const id = c.req.param('id');
  const explicit = rememberLanguage(c);
  let snapshot: LoginSnapshot;
  try {
    snapshot = unwrap(await loginStub(c.env, id).read(await bindingHashFrom(c, id)));
  } catch (error) {
    return refusalPage(c, error, pageLocale(c, explicit), id);
  }
  return loginPage(c, snapshot, explicit);
});

loginPages.post('/login/:id/restart', async (c) => {
  const id = c.req.param('id');
  const locale = pageLocale(c, undefined);
  if (!isSameOriginPost(c)) {
    const t = messages(locale);
    return errorPage(c, 403, locale, t.errors.crossSiteTitle, t.errors.crossSiteBody, id, true);
  }
  const bindingHash = await bindingHashFrom(c, id);
  try {
    const stub = loginStub(c.env, id);
    const current = unwrap(await stub.read(bindingHash));
    if (current.state === 'approved') return alreadyApproved(c, pageLocale(c, undefined, current.locale), id);
    // A login still open is cancelled first, so only one QR is ever live for the request.
    if (current.state === 'pending' || current.state === 'scanned') await stub.cancel(bindingHash);
    const request: Result<RestartRequest> = await stub.restartRequest(bindingHash);
    if (!request.ok && request.problem.code === 'login-decided') {
      return alreadyApproved(c, pageLocale(c, undefined, current.locale), id);
    }
    const { client, claims, locale: loginLocale, authorization } = unwrap<RestartRequest>(request);
    const next = await startLogin(c, { client, claims, locale: loginLocale, authorization });
    // "Start again" pressed twice on this page (two tabs, the back button): end the earlier successor.
    const previous = await stub.recordSuccessor(bindingHash, next.id);
    if (previous.ok && previous.value && previous.value !== next.id) await loginStub(c.env, previous.value).supersede();
    // Binding cookies are Path=/ (`__Host-`), so a spent one is dropped rather than left to pile up.
    deleteCookie(c, bindingCookieName(id), { path: '/', secure: true });
    c.header('Cache-Control', 'no-store');
    c.header('Referrer-Policy', 'no-referrer');
    return c.redirect(`/login/${next.id}`, 303);
  } catch (error) {
    return refusalPage(c, error, locale, id);
  }
});

loginPages.get(HELP_PATH, (c) => {
  const locale = pageLocale(c, rememberLanguage(c));
  return sendHtml(c, {
    lang: locale,
    title: messages(locale).help.title,
    body: <HelpBody locale={locale} from={c.req.query('from')} />,
  });
});

/**
 * The login page of a snapshot, in the language of `?lang=`, the `lang` cookie, the login or
 * the browser (in that order). Served at `/login/<id>`, and by `GET /authorize` itself to a
 * browser's navigation (the page is then also the login's first answer, and names its own
 * address in `Content-Location`, RFC 9110 §8.7: the script moves the address bar there).
 * @param explicit a valid `?lang=` of this request, if any.
 */
export function loginPage(c: Ctx, snapshot: LoginSnapshot, explicit?: Locale): Response {
  const locale = pageLocale(c, explicit, snapshot.locale);
  const t = messages(locale);
  return sendHtml(c, {
    lang: locale,
    title: loginTitle(t, snapshot),
    head: noscriptRefresh(snapshot),
    body: <LoginDocumentBody snapshot={snapshot} locale={locale} />,
  });
}

/**
 * True for a browser navigating to a document (Fetch Metadata `Sec-Fetch-Dest: document`, with
 * an `Accept` that asks for HTML): the only requester that shows a page rather than follows an
 * address. Browsers without Fetch Metadata, and API clients, get the page's address instead.
 * A HEAD counts as its GET would, so its headers are the GET's (RFC 9110 §9.3.2).
 */
export function isDocumentNavigation(c: Ctx): boolean {
  return (c.req.method === 'GET' || c.req.method === 'HEAD') && c.req.header('Sec-Fetch-Dest') === 'document' && (c.req.header('Accept') ?? '').includes('text/html');
}

/**
 * Whether a POST comes from one of our own pages (CSRF defence in depth on top of the
 * SameSite=Lax binding cookie): `Sec-Fetch-Site: same-origin` (Fetch Metadata) where the
 * browser sends it, else an `Origin` equal to ours (RFC 6454). A POST with neither is refused.
 */
export function isSameOriginPost(c: Ctx): boolean {
  const site = c.req.header('Sec-Fetch-Site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('Origin');
  if (origin === undefined || origin === 'null') return false;
  return origin === new URL(c.req.url).origin || origin === new URL(c.env.ISSUER).origin;
}

/** `?lang=` when valid, remembered in the `lang` cookie; undefined otherwise. */
function rememberLanguage(c: Ctx): Locale | undefined {
  const lang = c.req.query('lang');
  if (!isLocale(lang)) return undefined;
  if (getCookie(c, LANG_COOKIE) !== lang) {
    setCookie(c, LANG_COOKIE, lang, {
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      secure: !isLocalhost(c.env.ISSUER),
      maxAge: LANG_COOKIE_MAX_AGE,
    });
  }
  return lang;
}

function pageLocale(c: Ctx, explicit: Locale | undefined, login?: string): Locale {
  return chooseLocale({
    query: explicit,
    cookie: getCookie(c, LANG_COOKIE),
    login,
    acceptLanguage: c.req.header('Accept-Language'),
  });
}

/**
 * Without scripts, the page follows the login by reloading `/login/<id>` (never the address it
 * was served at: a reload of `/authorize` would start another login), and leaves once approved.
 */
function noscriptRefresh(snapshot: LoginSnapshot) {
  if (snapshot.state === 'approved' && snapshot.continueUrl) {
    return (
      <noscript>
        <meta http-equiv="refresh" content={`0;url=${snapshot.continueUrl}`} />
      </noscript>
    );
  }
  if (snapshot.state === 'pending' || snapshot.state === 'scanned') {
    // While pending, often enough that the rendered QR frame (valid 8 s) is never stale on screen.
    const seconds = snapshot.state === 'pending' ? STATIC_REFRESH_SECONDS : NOSCRIPT_REFRESH_SECONDS;
    return (
      <noscript>
        <meta http-equiv="refresh" content={`${seconds};url=/login/${snapshot.id}`} />
      </noscript>
    );
  }
  return null;
}

/** Turns a refused read (wrong browser, unknown login) into a page; anything else is rethrown. */
function refusalPage(c: Ctx, error: unknown, locale: Locale, id: string): Response {
  if (!(error instanceof ProblemError)) throw error;
  const t = messages(locale);
  if (error.status === 403) return errorPage(c, 403, locale, t.errors.forbiddenTitle, t.errors.forbiddenBody, id);
  if (error.status === 404) return errorPage(c, 404, locale, t.errors.notFoundTitle, t.errors.notFoundBody, id);
  if (error.code === 'login-decided') return alreadyApproved(c, locale, id);
  throw error;
}

function alreadyApproved(c: Ctx, locale: Locale, id: string): Response {
  const t = messages(locale);
  return errorPage(c, 409, locale, t.errors.approvedTitle, t.errors.approvedBody, id, true);
}

function errorPage(
  c: Ctx,
  status: 403 | 404 | 409,
  locale: Locale,
  title: string,
  body: string,
  id: string,
  backToLogin = false,
): Response {
  const page = `/login/${encodeURIComponent(id)}`;
  const back = backToLogin ? { href: page, label: messages(locale).errors.toLogin } : undefined;
  return sendHtml(
    c,
    {
      lang: locale,
      title,
      body: <ErrorBody locale={locale} title={title} body={body} back={back} switchHref={(l) => `${page}?lang=${l}`} />,
    },
    status,
  );
}

