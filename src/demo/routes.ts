/**
 * A demo relying service at `/demo`, so a newcomer sees the whole flow in a browser: it starts
 * an authorization code flow with PKCE as the public client `demo`, redeems the code, validates
 * the ID token (signature, iss, aud, exp, nonce) and calls UserInfo — with `oauth4webapi`, the
 * way a real relying service would (see docs/relying-services.md).
 *
 * It lives in this Worker only for convenience. Its HTTP calls to the provider go straight to the
 * app in-process (a Worker cannot fetch its own hostname in production); a real relying
 * service would use plain `fetch`.
 */
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as oauth from 'oauth4webapi';
import { isLocalhost } from '../session/binding.ts';
import { documentHeaders, escapeHtml, htmlDocument } from '../oidc/html.ts';

/** The demo's fixed client_id (registered by `npm start`, scripts/lib/seed.ts). */
export const DEMO_CLIENT_ID = 'demo';
/** Scopes the demo asks for: everything, so the page shows every claim released. */
export const DEMO_SCOPE = 'openid profile email phone address';
/** Binds the demo's flow (state, nonce, PKCE verifier) to the browser; `__Host-` so no sibling origin can plant one. */
const FLOW_COOKIE = '__Host-demo_flow';

type Ctx = Context<{ Bindings: Env }>;

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

export const demoRoutes = new Hono<{ Bindings: Env }>();

demoRoutes.get('/', (c) =>
  page(
    c,
    'Demo relying service',
    `<h1>Demo relying service</h1>
<p>This page plays a website that lets people log in with the mobile key. The button starts an
OpenID Connect authorization code flow with PKCE as the public client <code>${DEMO_CLIENT_ID}</code>.</p>
<form method="post" action="/demo/login"><button class="button" type="submit">Log in with the mobile key</button></form>
<p>Provider metadata: <a href="/.well-known/openid-configuration">/.well-known/openid-configuration</a></p>`,
  ),
);

demoRoutes.post('/login', async (c) => {
  const as = await discover(c);
  const flow: Flow = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    codeVerifier: oauth.generateRandomCodeVerifier(),
  };
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: DEMO_CLIENT_ID,
    redirect_uri: `${c.env.ISSUER}/demo/callback`,
    response_type: 'code',
    scope: DEMO_SCOPE,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(flow.codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  setCookie(c, FLOW_COOKIE, btoa(JSON.stringify(flow)), {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax', // sent on the top-level redirect back from the provider
    secure: true, // browsers accept Secure cookies from http://localhost
    maxAge: 600,
  });
  c.header('Cache-Control', 'no-store');
  return c.redirect(url.toString(), 303);
});

demoRoutes.get('/callback', async (c) => {
  let flow: Flow;
  try {
    flow = JSON.parse(atob(getCookie(c, FLOW_COOKIE) ?? '')) as Flow;
    if (typeof flow.state !== 'string' || typeof flow.nonce !== 'string' || typeof flow.codeVerifier !== 'string') throw new Error();
  } catch {
    return page(c, 'Login failed', `<h1>Login failed</h1><p>This browser did not start a login here.</p><p><a href="/demo">Start again</a></p>`, 400);
  }
  deleteCookie(c, FLOW_COOKIE, { path: '/', secure: true });
  const as = await discover(c);
  const client: oauth.Client = { client_id: DEMO_CLIENT_ID };
  const options = { [oauth.customFetch]: appFetch(c), [oauth.allowInsecureRequests]: isLocalhost(c.env.ISSUER) };
  try {
    const params = oauth.validateAuthResponse(as, client, new URL(c.req.url), flow.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, oauth.None(), params, `${c.env.ISSUER}/demo/callback`, flow.codeVerifier, options,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: flow.nonce, requireIdToken: true });
    await oauth.validateApplicationLevelSignature(as, response, options);
    const idToken = oauth.getValidatedIdTokenClaims(tokens)!;
    const userinfo = await oauth.processUserInfoResponse(
      as, client, idToken.sub, await oauth.userInfoRequest(as, client, tokens.access_token, options),
    );
    const name = [userinfo.given_name, userinfo.family_name].filter(Boolean).join(' ') || String(userinfo.name ?? idToken.sub);
    return page(
      c,
      'Logged in',
      `<h1>Hello, <span id="name">${escapeHtml(name)}</span></h1>
<p>You logged in with the mobile key. This is what the service received.</p>
<h2>UserInfo</h2>${claimsTable(userinfo as Record<string, unknown>)}
<h2>ID token</h2>${claimsTable(idToken as Record<string, unknown>)}
<p><a href="/demo">Log in again</a></p>`,
    );
  } catch (error) {
    const code = error instanceof oauth.AuthorizationResponseError ? error.error : error instanceof oauth.ResponseBodyError ? error.error : 'login_failed';
    const text =
      code === 'access_denied' ? 'You declined the login on your phone.' : 'The login could not be completed.';
    console.warn('demo login failed', error instanceof Error ? error.message : error);
    return page(
      c,
      'Login failed',
      `<h1>Login failed</h1><p>${escapeHtml(text)}</p><p>Error: <code id="error">${escapeHtml(code)}</code></p><p><a href="/demo">Start again</a></p>`,
      400,
    );
  }
});
