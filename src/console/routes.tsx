/**
 * The operator console at `/console`: a first-party relying service of our own OpenID Provider.
 * It logs in through `/authorize` like any client (public client `console`, PKCE, `max_age=0`
 * for a fresh approval, ID token checked with oauth4webapi: src/first-party/rp.ts), then keeps
 * its own session (src/console/session.ts). Every route checks the role; every form carries
 * the session's CSRF token; every operator action is audited with the operator's `sub`.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { consoleMessages } from './i18n.ts';
import { allows, roleOf, type Role } from './operators.ts';
import { messagePage, type PageContext } from './pages.tsx';
import { csrfCheckedForm, pageLocale } from '../first-party/request.ts';
import { completeFirstPartyLogin, startFirstPartyLogin } from '../first-party/rp.ts';
import {
  CONSOLE_CLIENT,
  consoleIdleSeconds,
  createSession,
  endSession,
  FLOW_COOKIE,
  loadSession,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  type ConsoleSession,
} from './session.ts';

/** The Hono environment of every console route. */
export type ConsoleEnv = { Bindings: Env; Variables: { page: PageContext; form: Record<string, string> } };
export type ConsoleCtx = Context<ConsoleEnv>;


/** The session of this request, or null. */
export function sessionOf(c: ConsoleCtx): ConsoleSession | null {
  return c.get('page').session;
}

/**
 * Only an operator with `role` (an admin passes for a clerk) gets past; without a session the
 * browser goes to the console's start page, with the wrong role it gets 403.
 */
export function need(role: Role): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const page = c.get('page');
    if (!page.session) return c.redirect(page.ended ? '/console?ended' : '/console', 303);
    if (!allows(page.session.role, role)) return messagePage(c, page, 403, page.t.forbidden);
    await next();
  };
}

export const consoleRoutes = new Hono<ConsoleEnv>();

// Language, session and (for every POST) the CSRF token, before any route.
consoleRoutes.use('*', async (c, next) => {
  const locale = pageLocale(c);
  const cookie = getCookie(c, SESSION_COOKIE, 'host');
  // The live figures' refresh is no use of the console: it does not keep the session alive.
  const background = c.req.path.endsWith('/figures.json');
  const session = await loadSession(c.env.DB, cookie, Date.now(), background ? undefined : { idleSeconds: consoleIdleSeconds(c.env) });
  const page: PageContext = { locale, t: consoleMessages(locale), session, path: c.req.path };
  if (cookie && !session) {
    // Ended (idle, 8 hours, logout elsewhere, role revoked): say so once on the start page.
    deleteCookie(c, SESSION_COOKIE, { prefix: 'host' });
    if (c.req.method === 'GET' && !background) page.ended = true;
  }
  c.set('page', page);
  if (c.req.method === 'POST') {
    const form = await csrfCheckedForm(c, session);
    if (!form) return messagePage(c, page, 403, page.t.csrf);
    c.set('form', form);
  }
  await next();
});

consoleRoutes.get('/login', (c) => startFirstPartyLogin(c, CONSOLE_CLIENT, c.get('page').locale));

consoleRoutes.get('/callback', async (c) => {
  const page = c.get('page');
  const login = await completeFirstPartyLogin(c, CONSOLE_CLIENT);
  if (!login) return messagePage(c, page, 400, page.t.loginFailed);
  if (!(await roleOf(c.env.DB, login.sub))) return messagePage(c, page, 403, page.t.notOperator);
  const { token } = await createSession(c.env.DB, login.sub, login.authTime, Date.now(), consoleIdleSeconds(c.env));
  setCookie(c, SESSION_COOKIE, token, { prefix: 'host', httpOnly: true, sameSite: 'Lax', maxAge: SESSION_TTL_SECONDS });
  c.header('Cache-Control', 'no-store');
  return c.redirect('/console/counter', 303);
});

consoleRoutes.post('/logout', async (c) => {
  const token = getCookie(c, SESSION_COOKIE, 'host');
  if (token) await endSession(c.env.DB, token);
  deleteCookie(c, SESSION_COOKIE, { prefix: 'host' });
  return c.redirect('/console', 303);
});
