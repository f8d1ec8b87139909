/**
 * The relying-party side of our first-party services (the operator console, the person's
 * account): they log in through our own `/authorize` like any client — a public client, PKCE
 * (RFC 7636), `state` and `nonce`, the ID token checked with oauth4webapi — and then keep their
 * own session (sessions.ts). The requests go to this Worker's app in-process, like a service
 * binding, never over the network.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as oauth from 'oauth4webapi';
import { isLocalhost } from '../session/binding.ts';

/** What the relying-party side needs of a request. */
type Rp = { env: Env; executionCtx: Context['executionCtx'] };

/** One first-party relying service. */
export interface FirstPartyClient {
  /** Its registered public client (seeded by `npm start`). */
  clientId: string;
  /** Its redirect URI's path at our issuer, e.g. `/console/callback`. */
  callbackPath: string;
  /** The scopes it asks for, space separated (always `openid`). */
  scope: string;
  /** `max_age` sent with the request, in SECONDS (0: always a fresh approval). */
  maxAge: number;
  /** How old an approval may be when the callback accepts it, in SECONDS. */
  freshSeconds: number;
  /** The login-in-progress cookie (state, nonce, PKCE verifier) without its `__Host-` prefix. */
  flowCookie: string;
}

/** `fetch` for oauth4webapi that hands requests to this Worker's app, like a service binding. */
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

/**
 * Starts a login: a 303 to our authorization endpoint (OIDC Core §3.1.2.1) with PKCE S256,
 * `state`, `nonce`, `max_age` and `ui_locales`; the secrets in the `__Host-` flow cookie (10 minutes).
 */
export async function startFirstPartyLogin<E extends { Bindings: Env }>(c: Context<E>, client: FirstPartyClient, locale: string): Promise<Response> {
  const as = await discover(c);
  const flow = { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), codeVerifier: oauth.generateRandomCodeVerifier() };
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: `${c.env.ISSUER}${client.callbackPath}`,
    response_type: 'code',
    scope: client.scope,
    state: flow.state,
    nonce: flow.nonce,
    max_age: String(client.maxAge),
    ui_locales: locale,
    code_challenge: await oauth.calculatePKCECodeChallenge(flow.codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  setCookie(c, client.flowCookie, btoa(JSON.stringify(flow)), { prefix: 'host', httpOnly: true, sameSite: 'Lax', maxAge: 600 });
  c.header('Cache-Control', 'no-store');
  return c.redirect(url.toString(), 303);
}

/**
 * Completes a login on the callback: checks the flow cookie, the authorization response
 * (RFC 9207 `iss`, `state`), redeems the code with the PKCE verifier and validates the ID token
 * (signature, `nonce`, `auth_time` within {@link FirstPartyClient.freshSeconds}). Clears the flow cookie.
 * @returns the person's `sub` and `authTime` (epoch MILLISECONDS), or null when anything fails
 *   (the reason is logged by name only; the caller shows its own "login failed" page).
 */
export async function completeFirstPartyLogin<E extends { Bindings: Env }>(c: Context<E>, client: FirstPartyClient): Promise<{ sub: string; authTime: number } | null> {
  let flow: { state: string; nonce: string; codeVerifier: string };
  try {
    flow = JSON.parse(atob(getCookie(c, client.flowCookie, 'host') ?? ''));
    if (typeof flow.state !== 'string' || typeof flow.nonce !== 'string' || typeof flow.codeVerifier !== 'string') throw new Error();
  } catch {
    return null;
  }
  deleteCookie(c, client.flowCookie, { prefix: 'host' });
  const rp: oauth.Client = { client_id: client.clientId };
  try {
    const as = await discover(c);
    const params = oauth.validateAuthResponse(as, rp, new URL(c.req.url), flow.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, rp, oauth.None(), params, `${c.env.ISSUER}${client.callbackPath}`, flow.codeVerifier, rpOptions(c),
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, rp, response, {
      expectedNonce: flow.nonce,
      requireIdToken: true,
      maxAge: client.freshSeconds,
    });
    await oauth.validateApplicationLevelSignature(as, response, rpOptions(c));
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    return { sub: claims.sub, authTime: Number(claims.auth_time) * 1000 };
  } catch (error) {
    console.warn(`${client.clientId} login failed`, error instanceof Error ? error.name : 'unknown');
    return null;
  }
}
