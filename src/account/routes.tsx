/**
 * The person's account at `/account`: a first-party relying service of our own OpenID Provider
 * (DESIGN.md). It logs in through `/authorize` like any client (src/first-party/rp.ts: public
 * client `account`, PKCE, `max_age=300`), then keeps its own session (src/account/session.ts).
 * Every POST carries the session's CSRF token (403 without it); every change needs an approval
 * within the last 5 minutes, else the person is asked to confirm with the key again.
 */
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrfCheckedForm, pageLocale } from '../first-party/request.ts';
import { completeFirstPartyLogin, startFirstPartyLogin } from '../first-party/rp.ts';
import type { FirstPartySession } from '../first-party/sessions.ts';
import { getIdentity } from '../identity/identities.ts';
import { accountMessages } from './i18n.ts';
import { messagePage, sendPage, type AccountPage } from './pages.tsx';
import { ACCOUNT_CLIENT, ACCOUNT_COOKIE, ACCOUNT_SESSION_TTL_SECONDS, accountSessions, isFresh } from './session.ts';

/** The Hono environment of every account route. */
export type AccountEnv = { Bindings: Env; Variables: { page: AccountPage; form: Record<string, string> } };
export type AccountCtx = Context<AccountEnv>;


export const accountRoutes = new Hono<AccountEnv>();

// Language, session and (for every POST) the CSRF token, before any route.
accountRoutes.use('*', async (c, next) => {
  const locale = pageLocale(c);
  const session = await accountSessions.load(c.env.DB, getCookie(c, ACCOUNT_COOKIE, 'host'));
  const page: AccountPage = { locale, t: accountMessages(locale), session, path: c.req.path };
  if (session) {
    const identity = await getIdentity(c.env.DB, session.sub);
    const name = identity ? [identity.claims.given_name, identity.claims.family_name].filter(Boolean).join(' ') : '';
    if (name) page.name = name;
  }
  c.set('page', page);
  if (c.req.method === 'POST') {
    const form = await csrfCheckedForm(c, session);
    if (!form) return messagePage(c, page, 403, page.t.csrf);
    c.set('form', form);
  }
  await next();
});

/** The session of a page that needs one (the routes below redirect to /account without it). */
export function sessionOf(c: AccountCtx): FirstPartySession | null {
  return c.get('page').session;
}

/**
 * For a change: null when the session's approval is recent enough, else the page asking the
 * person to confirm with their key (403).
 */
export function needsFreshApproval(c: AccountCtx): Response | null {
  const page = c.get('page');
  if (page.session && isFresh(page.session.authTime)) return null;
  return sendPage(c, page, page.t.freshTitle, (
    <section class="card" id="fresh">
      <h1>{page.t.freshTitle}</h1>
      <p>{page.t.freshText}</p>
      <a class="button" href="/account/login" id="fresh-login">{page.t.freshButton}</a>
    </section>
  ), 403);
}

accountRoutes.get('/login', (c) => startFirstPartyLogin(c, ACCOUNT_CLIENT, c.get('page').locale));

accountRoutes.get('/callback', async (c) => {
  const page = c.get('page');
  const login = await completeFirstPartyLogin(c, ACCOUNT_CLIENT);
  if (!login) return messagePage(c, page, 400, page.t.loginFailed);
  const old = getCookie(c, ACCOUNT_COOKIE, 'host');
  if (old) await accountSessions.end(c.env.DB, old);
  const { token } = await accountSessions.create(c.env.DB, login.sub, login.authTime);
  setCookie(c, ACCOUNT_COOKIE, token, { prefix: 'host', httpOnly: true, sameSite: 'Lax', maxAge: ACCOUNT_SESSION_TTL_SECONDS });
  c.header('Cache-Control', 'no-store');
  return c.redirect('/account', 303);
});

accountRoutes.post('/logout', async (c) => {
  await endAccountSession(c);
  return c.redirect('/account', 303);
});

/** Ends this browser's account session (logout, or its key was disconnected). */
export async function endAccountSession(c: AccountCtx): Promise<void> {
  const token = getCookie(c, ACCOUNT_COOKIE, 'host');
  if (token) await accountSessions.end(c.env.DB, token);
  deleteCookie(c, ACCOUNT_COOKIE, { prefix: 'host' });
}
