/**
 * Two demo relying services, so a newcomer sees the whole flow in a browser: `/demo` (public
 * client `demo`) and `/demo/second` (public client `demo-2`). Each starts an authorization code
 * flow with PKCE, redeems the code, validates the ID token (signature, iss, aud, exp, nonce) and
 * calls UserInfo — with `oauth4webapi`, the way a real relying service would (see
 * docs/relying-services.md) — and keeps its own session in a cookie. With the provider's browser
 * session, the second service logs in without the phone. "Log out" uses the provider's
 * end_session_endpoint (RP-Initiated Logout) with the ID token as hint; both services receive
 * back-channel logout tokens (src/demo/logout.ts) and front-channel requests, and show it.
 *
 * It lives in this Worker only for convenience. Its HTTP calls to the provider go straight to the
 * app in-process (a Worker cannot fetch its own hostname in production); a real relying
 * service would use plain `fetch`.
 */
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { base64url } from 'jose';
import * as oauth from 'oauth4webapi';
import { isLocalhost } from '../session/binding.ts';
import { documentHeaders, escapeHtml, htmlDocument } from '../oidc/html.ts';
import { demoLogoutOf, recordDemoLogout, validateLogoutToken } from './logout.ts';

/** The demo's fixed client_id (registered by `npm start`, scripts/lib/seed.ts). */
export const DEMO_CLIENT_ID = 'demo';

/** One demo relying service: its client_id, name and path under `/demo`. */
export interface DemoService {
  clientId: string;
  name: string;
  /** '' for `/demo`, '/second' for `/demo/second`. */
  sub: '' | '/second';
}

/** The two demo services (both registered by `npm start`, scripts/lib/seed.ts). */
export const DEMO_SERVICES: readonly [DemoService, DemoService] = [
  { clientId: DEMO_CLIENT_ID, name: 'Demo relying service', sub: '' },
  { clientId: 'demo-2', name: 'Second demo service', sub: '/second' },
];
/** Scopes the demo asks for: everything, so the page shows every claim released. */
export const DEMO_SCOPE = 'openid profile email phone address';
/** Binds the demo's flow (state, nonce, PKCE verifier) to the browser; `__Host-` so no sibling origin can plant one. */
const FLOW_COOKIE = '__Host-demo_flow';

type Ctx = Context<{ Bindings: Env }>;

/** A cookie value for any text (names like "Alžběta" included): base64url of its UTF-8 bytes. */
function toCookie(text: string): string {
  return base64url.encode(new TextEncoder().encode(text));
}

/** The text of a {@link toCookie} value. @throws {Error} for anything else (the callers catch). */
function fromCookie(value: string | undefined): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(value ?? ''));
}

interface Flow {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** `fetch` for oauth4webapi that hands requests to this Worker's app, like a service binding. */
function appFetch(c: Ctx): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { default: app } = await import('../index.ts');
    return app.fetch(new Request(input, init), c.env, c.executionCtx);
  }) as typeof fetch;
}

async function discover(c: Ctx): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(c.env.ISSUER);
  const options = { [oauth.customFetch]: appFetch(c), [oauth.allowInsecureRequests]: isLocalhost(c.env.ISSUER) };
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
}

function page(c: Ctx, title: string, body: string, status: 200 | 400 = 200): Response {
  return c.html(htmlDocument(title, `<main>${body}</main>`), status, documentHeaders());
}

function claimsTable(claims: Record<string, unknown>): string {
  const rows = Object.entries(claims)
    .map(([name, value]) => `<tr><th><code>${escapeHtml(name)}</code></th><td>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</td></tr>`)
    .join('');
  return `<table>${rows}</table>`;
}

/** What a demo service keeps about its logged-in person (in its HttpOnly session cookie). */
interface DemoSession {
  idToken: string;
  sub: string;
  sid?: string;
  name: string;
  /** Epoch milliseconds. */
  at: number;
}

const sessionCookie = (service: DemoService) => `demo_session_${service.clientId}`;
const LOGOUT_STATE_COOKIE = 'demo_logout_state';

/** `__Host-` rules: Path=/, Secure (browsers accept Secure cookies from http://localhost), no Domain; sent on the top-level redirect back (Lax). */
const FLOW_COOKIE_OPTIONS = { path: '/', httpOnly: true, sameSite: 'Lax' as const, secure: true, maxAge: 600 };

function cookieOptions(c: Ctx, maxAge: number) {
  return { path: '/demo', httpOnly: true, sameSite: 'Lax' as const, secure: !isLocalhost(c.env.ISSUER), maxAge };
}

function readSession(c: Ctx, service: DemoService): DemoSession | null {
  try {
    const session = JSON.parse(fromCookie(getCookie(c, sessionCookie(service)))) as DemoSession;
    return typeof session.idToken === 'string' && typeof session.sub === 'string' ? session : null;
  } catch {
    return null;
  }
}

/** The session of a service and whether the provider has told it that the session ended. */
async function sessionStatus(c: Ctx, service: DemoService) {
  const session = readSession(c, service);
  if (!session) return { session: null, ended: [] as { via: string; at: number }[] };
  return { session, ended: await demoLogoutOf(c.env.DB, service.clientId, { sid: session.sid, sub: session.sub, loggedInAt: session.at }) };
}

function otherOf(service: DemoService): DemoService {
  return service === DEMO_SERVICES[0] ? DEMO_SERVICES[1] : DEMO_SERVICES[0];
}

function endedText(ended: { via: string; at: number }[]): string {
  return ended.map((e) => `${e.via === 'backchannel' ? 'back-channel logout token' : 'front-channel logout'} at ${new Date(e.at).toISOString().slice(11, 19)} UTC`).join(', ');
}

/** A block that shows a service's session: live, ended by the provider (and how), or none. */
async function sessionBlock(c: Ctx, service: DemoService, self: boolean): Promise<string> {
  const { session, ended } = await sessionStatus(c, service);
  const label = self ? 'This service' : `<a href="/demo${service.sub}">${escapeHtml(service.name)}</a>`;
  if (!session) return `<p data-session="${service.clientId}" data-state="none">${label}: not logged in.</p>`;
  if (ended.length) {
    return `<p data-session="${service.clientId}" data-state="logged-out">${label}: <strong>logged out by the provider</strong> (${escapeHtml(endedText(ended))}).</p>`;
  }
  return `<p data-session="${service.clientId}" data-state="live">${label}: logged in as <strong>${escapeHtml(session.name)}</strong>${session.sid ? `, session <code>${escapeHtml(session.sid)}</code>` : ''}.</p>`;
}

/** Mounts one demo service's routes (its page, login, callback, logout and logout receivers). */
function mountService(routes: Hono<{ Bindings: Env }>, service: DemoService) {
  const base = `/demo${service.sub}`;
  const other = otherOf(service);
  const flowCookie = `${FLOW_COOKIE}${service.sub ? '_2' : ''}`;

  routes.get(service.sub || '/', async (c) => {
    // An ended session's cookie stays until the next login replaces it, so the page keeps saying how it ended.
    const { session, ended } = await sessionStatus(c, service);
    const live = session && !ended.length;
    return page(
      c,
      service.name,
      `<h1>${escapeHtml(service.name)}</h1>
${ended.length ? `<p id="logged-out-notice"><strong>You were logged out by the provider</strong> (${escapeHtml(endedText(ended))}).</p>` : ''}
<p>This page plays a website that lets people log in with the mobile key. The button starts an
OpenID Connect authorization code flow with PKCE as the public client <code>${escapeHtml(service.clientId)}</code>.
While you are logged in at the provider, a second service logs you in without the phone.</p>
${live ? `<p>Logged in as <strong id="name">${escapeHtml(session.name)}</strong>.</p>
<form method="post" action="${base}/logout"><button class="button" type="submit">Log out</button></form>
<form method="post" action="${base}/login"><input type="hidden" name="prompt" value="select_account" /><button class="button button-secondary" type="submit" id="switch-account">Switch account (prompt=select_account)</button></form>`
        : `<form method="post" action="${base}/login"><button class="button" type="submit">Log in with the mobile key</button></form>`}
<h2>Sessions</h2>
${await sessionBlock(c, service, true)}
${await sessionBlock(c, other, false)}
<p>Provider metadata: <a href="/.well-known/openid-configuration">/.well-known/openid-configuration</a></p>`,
    );
  });

  routes.post(`${service.sub}/login`, async (c) => {
    // The "Switch account" button asks the provider to let the person choose (OIDC Core §3.1.2.1).
    let selectAccount = false;
    try {
      selectAccount = (await c.req.formData()).get('prompt') === 'select_account';
    } catch {
      // no form body: a plain login
    }
    const as = await discover(c);
    const flow: Flow = {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      codeVerifier: oauth.generateRandomCodeVerifier(),
    };
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: service.clientId,
      redirect_uri: `${c.env.ISSUER}${base}/callback`,
      response_type: 'code',
      scope: DEMO_SCOPE,
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
      ...(selectAccount ? { prompt: 'select_account' } : {}),
    }).toString();
    // sent on the top-level redirect back from the provider (SameSite=Lax)
    setCookie(c, flowCookie, toCookie(JSON.stringify(flow)), FLOW_COOKIE_OPTIONS);
    c.header('Cache-Control', 'no-store');
    return c.redirect(url.toString(), 303);
  });

  routes.get(`${service.sub}/callback`, async (c) => {
    let flow: Flow;
    try {
      flow = JSON.parse(fromCookie(getCookie(c, flowCookie))) as Flow;
      if (typeof flow.state !== 'string' || typeof flow.nonce !== 'string' || typeof flow.codeVerifier !== 'string') throw new Error();
    } catch {
      return page(c, 'Login failed', `<h1>Login failed</h1><p>This browser did not start a login here.</p><p><a href="${base}">Start again</a></p>`, 400);
    }
    deleteCookie(c, flowCookie, { path: '/', secure: true });
    const as = await discover(c);
    const client: oauth.Client = { client_id: service.clientId };
    const options = { [oauth.customFetch]: appFetch(c), [oauth.allowInsecureRequests]: isLocalhost(c.env.ISSUER) };
    try {
      const params = oauth.validateAuthResponse(as, client, new URL(c.req.url), flow.state);
      const response = await oauth.authorizationCodeGrantRequest(
        as, client, oauth.None(), params, `${c.env.ISSUER}${base}/callback`, flow.codeVerifier, options,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: flow.nonce, requireIdToken: true });
      await oauth.validateApplicationLevelSignature(as, response, options);
      const idToken = oauth.getValidatedIdTokenClaims(tokens)!;
      const userinfo = await oauth.processUserInfoResponse(
        as, client, idToken.sub, await oauth.userInfoRequest(as, client, tokens.access_token, options),
      );
      const name = [userinfo.given_name, userinfo.family_name].filter(Boolean).join(' ') || String(userinfo.name ?? idToken.sub);
      const session: DemoSession = { idToken: tokens.id_token!, sub: idToken.sub, name, at: Date.now() };
      if (typeof idToken.sid === 'string') session.sid = idToken.sid;
      setCookie(c, sessionCookie(service), toCookie(JSON.stringify(session)), cookieOptions(c, 8 * 3600));
      return page(
        c,
        'Logged in',
        `<h1>Hello, <span id="name">${escapeHtml(name)}</span></h1>
<p>You logged in to ${escapeHtml(service.name)} with the mobile key. This is what the service received.</p>
<p><a class="button" href="/demo${other.sub}" id="other-service">Open ${escapeHtml(other.name)}</a> (press its Log in button: while your session lasts it logs you in without the phone)</p>
<form method="post" action="${base}/logout"><button class="button" type="submit">Log out</button></form>
<h2>UserInfo</h2>${claimsTable(userinfo as Record<string, unknown>)}
<h2>ID token</h2>${claimsTable(idToken as Record<string, unknown>)}
<p><a href="${base}">Back to ${escapeHtml(service.name)}</a></p>`,
      );
    } catch (error) {
      const code = error instanceof oauth.AuthorizationResponseError ? error.error : error instanceof oauth.ResponseBodyError ? error.error : 'login_failed';
      // The provider's fixed descriptions tell a denial, a cancellation and a timeout apart (docs/relying-services.md).
      const description = error instanceof oauth.AuthorizationResponseError ? error.error_description : undefined;
      const text =
        code !== 'access_denied'
          ? 'The login could not be completed.'
          : description === 'the person cancelled the login'
            ? 'You cancelled the login.'
            : description === 'the login timed out before the person answered'
              ? 'The login timed out before you answered on your phone.'
              : 'You declined the login on your phone.';
      console.warn('demo login failed', error instanceof Error ? error.message : error);
      return page(
        c,
        'Login failed',
        `<h1>Login failed</h1><p>${escapeHtml(text)}</p><p>Error: <code id="error">${escapeHtml(code)}</code></p><p><a href="${base}">Start again</a></p>`,
        400,
      );
    }
  });

  // RP-Initiated Logout: forget our session, then the provider's end_session_endpoint with the hint.
  routes.post(`${service.sub}/logout`, async (c) => {
    const session = readSession(c, service);
    const as = await discover(c);
    const state = oauth.generateRandomState();
    const url = new URL(as.end_session_endpoint ?? `${c.env.ISSUER}/logout`);
    url.search = new URLSearchParams({
      ...(session ? { id_token_hint: session.idToken } : { client_id: service.clientId }),
      post_logout_redirect_uri: `${c.env.ISSUER}${base}/logged-out`,
      state,
    }).toString();
    deleteCookie(c, sessionCookie(service), { path: '/demo' });
    setCookie(c, LOGOUT_STATE_COOKIE, state, cookieOptions(c, 600));
    c.header('Cache-Control', 'no-store');
    return c.redirect(url.toString(), 303);
  });

  routes.get(`${service.sub}/logged-out`, async (c) => {
    const expected = getCookie(c, LOGOUT_STATE_COOKIE);
    deleteCookie(c, LOGOUT_STATE_COOKIE, { path: '/demo' });
    if (!expected || c.req.query('state') !== expected) {
      return page(c, 'Logout not confirmed', `<h1>Logout not confirmed</h1><p>This browser did not start a logout here.</p><p><a href="${base}">Back</a></p>`, 400);
    }
    return page(
      c,
      'Logged out',
      `<h1 id="logged-out">You are logged out of ${escapeHtml(service.name)}</h1>
<p>The provider ended your login session and told every service that took part.</p>
<h2>Sessions</h2>
${await sessionBlock(c, service, true)}
${await sessionBlock(c, other, false)}
<p><a href="${base}">Back to ${escapeHtml(service.name)}</a></p>`,
    );
  });

  // Back-Channel Logout 1.0 §2.5–§2.8: the provider POSTs a logout token; 200 when accepted, 400 otherwise.
  routes.post(`${service.sub}/backchannel-logout`, async (c) => {
    const noStore = { 'Cache-Control': 'no-store' };
    try {
      if (Number(c.req.header('Content-Length') ?? '0') > 16 * 1024) throw new Error('too large');
      const form = await c.req.formData();
      const token = form.get('logout_token');
      if (typeof token !== 'string') throw new Error('no logout_token');
      const as = await discover(c);
      const claims = await validateLogoutToken(token, {
        issuer: as.issuer,
        clientId: service.clientId,
        jwksUri: as.jwks_uri!,
        fetcher: appFetch(c),
      });
      await recordDemoLogout(c.env.DB, { clientId: service.clientId, sid: claims.sid, ...(claims.sub ? { sub: claims.sub } : {}), via: 'backchannel' });
      return c.body(null, 200, noStore);
    } catch (error) {
      console.warn(`demo ${service.clientId}: logout token refused: ${error instanceof Error ? error.message : 'invalid'}`);
      return c.json({ error: 'invalid_request', error_description: 'the logout token is not valid' }, 400, noStore);
    }
  });

  // Front-Channel Logout 1.0 §2: loaded in an iframe of the provider's logged-out page.
  routes.get(`${service.sub}/frontchannel-logout`, async (c) => {
    const sid = c.req.query('sid');
    if (c.req.query('iss') !== c.env.ISSUER || !sid || sid.length > 512) return c.text('not for us', 400, { 'Cache-Control': 'no-store' });
    // Recorded only: the service's page forgets its session when it next sees this record, and
    // says how it learnt of the logout.
    await recordDemoLogout(c.env.DB, { clientId: service.clientId, sid, via: 'frontchannel' });
    return c.html('<!doctype html><title>Logged out</title>', 200, { 'Cache-Control': 'no-store' });
  });
}

/** The demo services' routes, mounted at `/demo`. */
export const demoRoutes = new Hono<{ Bindings: Env }>();
for (const service of DEMO_SERVICES) mountService(demoRoutes, service);
