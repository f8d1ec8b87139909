/**
 * The operator console at `/console`: a first-party relying service of our own OpenID Provider.
 * It logs in through `/authorize` like any client (public client `console`, PKCE, `max_age=0`
 * for a fresh approval, ID token checked with oauth4webapi), then keeps its own session
 * (src/console/session.ts). Every route checks the role; every form carries the session's CSRF
 * token; every operator action is audited with the operator's `sub`.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as oauth from 'oauth4webapi';
import { chooseLocale, type Locale } from '../../client/shared/i18n.ts';
import { isLocalhost } from '../session/binding.ts';
import { timingSafeEqual } from '../session/crypto.ts';
import { consoleMessages } from './i18n.ts';
import { allows, roleOf, type Role } from './operators.ts';
import { messagePage, type PageContext } from './pages.tsx';
import {
  consoleIdleSeconds,
  CONSOLE_CLIENT_ID,
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

/** How old an approval may be when the console accepts it (seconds; the request asks max_age=0). */
const FRESH_SECONDS = 300;
const LANG_COOKIE = 'lang';

/** What the relying-party side needs of a request. */
type Rp = Pick<Context<{ Bindings: Env }>, 'env' | 'executionCtx'>;

/** `fetch` for oauth4webapi that hands requests to this Worker's app, like a service binding (as src/demo does). */
function appFetch(c: Rp): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { default: app } = await import('../index.ts');
    return app.fetch(new Request(input, init), c.env, c.executionCtx);
  }) as typeof fetch;
}

function rpOptions(c: Rp) {
  return { [oauth.customFetch]: appFetch(c), [oauth.allowInsecureRequests]: isLocalhost(c.env.ISSUER) };
}

async function discover(c: Rp): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(c.env.ISSUER);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, rpOptions(c)));
}

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
  const query = c.req.query('lang');
  const locale: Locale = chooseLocale({ query, cookie: getCookie(c, LANG_COOKIE), acceptLanguage: c.req.header('Accept-Language') });
  if (query === locale) setCookie(c, LANG_COOKIE, locale, { path: '/', httpOnly: true, sameSite: 'Lax', secure: !isLocalhost(c.env.ISSUER), maxAge: 365 * 86400 });
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
    const body = await c.req.parseBody().catch(() => ({}));
    const form: Record<string, string> = {};
    for (const [name, value] of Object.entries(body)) if (typeof value === 'string') form[name] = value;
    if (!session || !form.csrf || !timingSafeEqual(form.csrf, session.csrf)) return messagePage(c, page, 403, page.t.csrf);
    c.set('form', form);
  }
  await next();
});

consoleRoutes.get('/login', async (c) => {
  const as = await discover(c);
  const flow = { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), codeVerifier: oauth.generateRandomCodeVerifier() };
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: CONSOLE_CLIENT_ID,
    redirect_uri: `${c.env.ISSUER}/console/callback`,
    response_type: 'code',
    scope: 'openid profile',
    state: flow.state,
    nonce: flow.nonce,
    max_age: '0',
    ui_locales: c.get('page').locale,
    code_challenge: await oauth.calculatePKCECodeChallenge(flow.codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  setCookie(c, FLOW_COOKIE, btoa(JSON.stringify(flow)), { prefix: 'host', httpOnly: true, sameSite: 'Lax', maxAge: 600 });
  c.header('Cache-Control', 'no-store');
  return c.redirect(url.toString(), 303);
});

consoleRoutes.get('/callback', async (c) => {
  const page = c.get('page');
  let flow: { state: string; nonce: string; codeVerifier: string };
  try {
    flow = JSON.parse(atob(getCookie(c, FLOW_COOKIE, 'host') ?? ''));
    if (typeof flow.state !== 'string' || typeof flow.nonce !== 'string' || typeof flow.codeVerifier !== 'string') throw new Error();
  } catch {
    return messagePage(c, page, 400, page.t.loginFailed);
  }
  deleteCookie(c, FLOW_COOKIE, { prefix: 'host' });
  const client: oauth.Client = { client_id: CONSOLE_CLIENT_ID };
  let sub: string;
  let authTime: number;
  try {
    const as = await discover(c);
    const params = oauth.validateAuthResponse(as, client, new URL(c.req.url), flow.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, oauth.None(), params, `${c.env.ISSUER}/console/callback`, flow.codeVerifier, rpOptions(c),
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: flow.nonce,
      requireIdToken: true,
      maxAge: FRESH_SECONDS,
    });
    await oauth.validateApplicationLevelSignature(as, response, rpOptions(c));
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    sub = claims.sub;
    authTime = Number(claims.auth_time) * 1000;
  } catch (error) {
    console.warn('console login failed', error instanceof Error ? error.name : 'unknown');
    return messagePage(c, page, 400, page.t.loginFailed);
  }
  if (!(await roleOf(c.env.DB, sub))) return messagePage(c, page, 403, page.t.notOperator);
  const { token } = await createSession(c.env.DB, sub, authTime, Date.now(), consoleIdleSeconds(c.env));
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
