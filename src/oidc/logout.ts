/**
 * The end-session endpoint `GET|POST /logout` (RP-Initiated Logout 1.0 §2–§4), with
 * Front-Channel Logout 1.0 on its logged-out page. Ending the session itself (and starting
 * back-channel delivery) is the browser session's job: `endBrowserSession`.
 *
 * - A valid `id_token_hint` naming the current session (or no session left) and either no
 *   `post_logout_redirect_uri` or one registered for the hint's client: the session ends at
 *   once; then 303 to that URI with `state` (nothing else added), or — when clients of the session
 *   registered front-channel logout — the logged-out page with their iframes, which then
 *   continues there.
 * - Anything else (no hint, a hint for another session, an unregistered URI): the confirmation
 *   page; the person's POST (CSRF token: a double-submit cookie) ends the session and shows the
 *   logged-out page. An unregistered URI is never redirected to.
 * - Bad input (a forged, foreign or malformed hint, a client_id that does not match, repeats):
 *   an HTML error page, 400, nothing changed.
 */
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { currentBrowserSession, endBrowserSession } from '../browser-session/api.ts';
import { isLocalhost } from '../session/binding.ts';
import { randomToken, timingSafeEqual } from '../session/crypto.ts';
import { pickLocale } from './authorize.ts';
import { getClient, type Client } from './clients.ts';
import { DESCRIPTIONS } from './descriptions.ts';
import { OAuthError } from './errors.ts';
import { readForm } from './form.ts';
import { frontchannelFrames } from './frontchannel.ts';
import { subjectFor } from './subject.ts';
import { confirmPage, loggedOutPage, logoutErrorPage, type SwitchHref } from './logout-pages.tsx';
import {
  checkClientMatchesHint,
  decideLogout,
  postLogoutUrl,
  readLogoutParams,
  verifyIdTokenHint,
  type LogoutParams,
  type VerifiedHint,
} from './logout-request.ts';

type Ctx = Context<{ Bindings: Env }>;

/** The confirmation form's field carrying the CSRF token; its presence marks a confirmation. */
export const CSRF_FIELD = 'logout_csrf';
/** How long a confirmation page stays usable, in seconds. */
const CSRF_MAX_AGE_SECONDS = 600;

/** The CSRF cookie: `__Host-` (Secure, Path=/) except on a loopback http issuer. */
export function csrfCookieName(issuer: string): string {
  return isLocalhost(issuer) ? 'mk_logout_csrf' : '__Host-mk_logout_csrf';
}

function switchHrefFor(c: Ctx, params: LogoutParams | undefined): SwitchHref {
  return (locale) => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params ?? {})) if (name !== 'ui_locales' && value !== undefined) query.set(name, value);
    query.set('ui_locales', locale);
    return c.req.method === 'GET' && params ? `/logout?${query}` : `/?lang=${locale}`;
  };
}

function refused(c: Ctx, error: OAuthError, params?: LogoutParams): Response {
  console.warn(`logout request refused: ${error.code}: ${error.description}`);
  const locale = pickLocale(params?.ui_locales, c.req.header('Accept-Language'));
  return logoutErrorPage(c, {
    locale,
    code: error.code,
    description: error.description,
    status: error.status === 413 ? 413 : 400,
    switchHref: switchHrefFor(c, undefined),
  });
}

/** Ends the session and answers: 303 to the post-logout URL, or the logged-out page (iframes). */
async function endAndAnswer(c: Ctx, locale: 'cs' | 'en', continueTo: string | undefined, alwaysPage: boolean): Promise<Response> {
  const ended = await endBrowserSession(c, 'logout');
  const frames = ended
    ? frontchannelFrames(await Promise.all(ended.clients.map((id) => getClient(c.env.DB, id))), c.env.ISSUER, ended.sid)
    : [];
  if (continueTo && frames.length === 0 && !alwaysPage) {
    c.header('Cache-Control', 'no-store');
    return c.redirect(continueTo, 303);
  }
  return loggedOutPage(c, { locale, frames, continueTo, switchHref: switchHrefFor(c, undefined) });
}

/** The end-session endpoint, mounted at the root (see the module comment). */
export const logoutRoutes = new Hono<{ Bindings: Env }>();

logoutRoutes.on(['GET', 'POST'], '/logout', async (c) => {
  // Ending a session must not happen on a HEAD (link prefetchers, checkers).
  if (c.req.method === 'HEAD') return new Response(null, { status: 405, headers: { Allow: 'GET, POST' } });
  let form: URLSearchParams;
  let params: LogoutParams | undefined;
  try {
    form = c.req.method === 'POST' ? await readForm(c.req.raw) : new URL(c.req.url).searchParams;
    params = readLogoutParams(form);
  } catch (error) {
    if (error instanceof OAuthError) return refused(c, error);
    throw error;
  }
  const locale = pickLocale(params.ui_locales, c.req.header('Accept-Language'));
  if (c.req.method === 'POST' && form.has(CSRF_FIELD)) return confirmed(c, form, params, locale);

  let hint: VerifiedHint | undefined;
  let hintClient: Client | undefined;
  let namedClient: Client | null = null;
  try {
    if (params.id_token_hint) ({ hint, client: hintClient } = await verifyIdTokenHint(c.env, params.id_token_hint, (id) => getClient(c.env.DB, id)));
    checkClientMatchesHint(params.client_id, hint);
    if (params.client_id && !hintClient) {
      namedClient = await getClient(c.env.DB, params.client_id);
      if (!namedClient) throw new OAuthError('invalid_client', 'This service is not registered.', { local: true });
    }
  } catch (error) {
    if (error instanceof OAuthError) return refused(c, error, params);
    throw error;
  }
  const session = await currentBrowserSession(c);
  const decision = decideLogout({
    ...(hint ? { hint } : {}),
    ...(hintClient ? { hintClient } : {}),
    ...(params.post_logout_redirect_uri ? { postLogoutRedirectUri: params.post_logout_redirect_uri } : {}),
    ...(params.state !== undefined ? { state: params.state } : {}),
    // Compared in the hint's client's terms: a pairwise client's hint carries its own `sub`.
    session: session ? { sub: hintClient ? await subjectFor(c.env, hintClient, session.sub) : session.sub, sid: session.sid } : null,
  });
  if (decision.kind === 'end') return endAndAnswer(c, locale, decision.redirect, false);

  const csrf = randomToken(32);
  setCookie(c, csrfCookieName(c.env.ISSUER), csrf, {
    path: '/',
    httpOnly: true,
    secure: !isLocalhost(c.env.ISSUER),
    sameSite: 'Strict',
    maxAge: CSRF_MAX_AGE_SECONDS,
  });
  const hidden: Record<string, string> = { [CSRF_FIELD]: csrf, ui_locales: locale };
  if (decision.redirect) {
    hidden.client_id = decision.redirect.clientId;
    hidden.post_logout_redirect_uri = decision.redirect.uri;
    if (params.state !== undefined) hidden.state = params.state;
  }
  const clientName = (hintClient ?? namedClient)?.name;
  return confirmPage(c, {
    locale,
    ...(clientName ? { clientName } : {}),
    unregisteredUri: decision.unregisteredUri,
    hidden,
    switchHref: switchHrefFor(c, params),
  });
});

/**
 * The person confirmed on our page: check the CSRF token against its cookie, end the session,
 * show the logged-out page (continuing to the post-logout URI only when it is registered for
 * the client the form names — the form only names one after a valid hint).
 */
async function confirmed(c: Ctx, form: URLSearchParams, params: LogoutParams, locale: 'cs' | 'en'): Promise<Response> {
  const cookieName = csrfCookieName(c.env.ISSUER);
  const expected = getCookie(c, cookieName);
  const sent = form.getAll(CSRF_FIELD);
  if (!expected || sent.length !== 1 || !timingSafeEqual(sent[0]!, expected)) {
    return refused(c, new OAuthError('invalid_request', DESCRIPTIONS.logoutConfirmationExpired, { local: true }), params);
  }
  deleteCookie(c, cookieName, { path: '/', secure: !isLocalhost(c.env.ISSUER) });
  let continueTo: string | undefined;
  if (params.client_id && params.post_logout_redirect_uri) {
    const client = await getClient(c.env.DB, params.client_id);
    if (client?.postLogoutRedirectUris.includes(params.post_logout_redirect_uri)) {
      continueTo = postLogoutUrl(params.post_logout_redirect_uri, params.state);
    }
  }
  // After a form POST, a redirect to another origin would meet our own `form-action 'self'`:
  // the page continues by itself instead.
  return endAndAnswer(c, locale, continueTo, true);
}
