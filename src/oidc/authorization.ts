/**
 * The authorization endpoint (`GET|POST /authorize`, RFC 6749 §4.1.1, OIDC Core §3.1.2), its
 * consent form (`POST /authorize/consent`) and the hand-back after approval (`GET /login/:id/continue`, RFC 6749 §4.1.2).
 */
import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { approvingKeyRevoked, forgetPlannedSession, indexPlannedSession, planBrowserSession, SESSION_COOKIE } from '../browser-session/api.ts';
import { timingSafeEqual } from '../session/crypto.ts';
import { consentPage, consentToken, readConsentForm, type ConsentChoice } from './consent.ts';
import { ProblemError } from '../http/problem.ts';
import { getDeviceAlong } from '../identity/devices.ts';
import { startLogin } from '../session/start.ts';
import { bindingHashFrom } from '../session/binding.ts';
import { isDocumentNavigation, loginPage } from '../login/routes.tsx';
import { loginStub, unwrap } from '../session/stub.ts';
import type { Result } from '../session/types.ts';
import type { ContinueOutcome } from '../session/handback.ts';
import type { LoginSession } from '../session/LoginSession.ts';
import {
  checkClient,
  checkClientId,
  checkRedirectUri,
  MAX_PARAM_LENGTH,
  pickLocale,
  responseModeOf,
  validateAuthorization,
  type AuthorizationRequest,
} from './authorize.ts';
import { claimsForScopes, heldClaimNames } from './claims.ts';
import { getIdentity } from '../identity/identities.ts';
import { choicePage, readChoice, shortName, withoutChoice } from './select-account.tsx';
import { sessionStep, startBrowserSession, type AccountChoice, type SessionStep } from './session-step.ts';
import { requestedClaimNames } from './claims-request.ts';
import { getCachedClient, type Client } from './clients.ts';
import { OAuthError } from './errors.ts';
import { readForm } from './form.ts';
import { documentHeaders, errorPage, tooManyPage } from './html.ts';
import { addressMayStartLogin, clientMayStartLogin, LOGIN_START_PERIOD_SECONDS } from './ratelimit.ts';
import { authorizationResponse, type ResponseTarget } from './respond.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';

type Ctx = Context<{ Bindings: Env }>;

/** Renders a local error (never redirected). Specific reason logged, generic text shown. */
function localError(c: Ctx, error: OAuthError, params?: URLSearchParams): Response {
  console.warn(`authorization request refused locally: ${error.code}: ${error.description}`);
  const locale = pickLocale(params?.get('ui_locales') ?? undefined, c.req.header('Accept-Language'));
  return c.html(errorPage(error.code, error.description, locale), 400, documentHeaders());
}

/** 429 for a rate-limited login start: an HTML page (browsers navigate here) with `Retry-After`. */
function tooMany(c: Ctx, params?: URLSearchParams): Response {
  const locale = pickLocale(params?.get('ui_locales') ?? undefined, c.req.header('Accept-Language'));
  return c.html(tooManyPage(locale), 429, { ...documentHeaders(), 'Retry-After': String(LOGIN_START_PERIOD_SECONDS) });
}

/** The response to the client's redirect_uri in its response mode, with `state` and `iss` (RFC 9207). */
function backToClient(c: Ctx, target: ResponseTarget, params: Record<string, string | undefined>): Response | Promise<Response> {
  return authorizationResponse(c, c.env.ISSUER, target, params);
}

/**
 * Authorization endpoint: `GET /authorize` (query) and `POST /authorize` (form). A new login is
 * answered with its page to a browser's GET navigation ({@link isDocumentNavigation}), else with
 * a 303 to `/login/<id>`.
 */
export const authorizationRoutes = new Hono<{ Bindings: Env }>();

authorizationRoutes.on(['GET', 'POST'], '/authorize', async (c) => {
  if (!(await addressMayStartLogin(c.env, c.req.raw))) return tooMany(c);
  let params: URLSearchParams;
  let choice: AccountChoice | undefined;
  try {
    params = c.req.method === 'POST' ? await readForm(c.req.raw) : new URL(c.req.url).searchParams;
    if (c.req.method === 'POST') {
      // The person's answer on the account choice page (prompt=select_account), CSRF-checked.
      const answer = readChoice(c, params);
      if (answer === 'invalid') throw new OAuthError('invalid_request', D.selectAccountExpired, { local: true });
      if (answer) {
        choice = answer;
        // The choice replaces `select_account` in the request itself, so a consent page that
        // follows carries the answered request, not one that would ask again.
        params = promptAfterChoice(withoutChoice(params), answer);
      }
    }
  } catch (error) {
    if (error instanceof OAuthError) return localError(c, error);
    throw error;
  }
  return answerAuthorization(c, params, { choice });
});

/**
 * `POST /authorize/consent`: the consent page's form (src/oidc/consent.ts) — the original
 * request's parameters, the choice and the form token, which must match this browser's session
 * cookie. Then the request is answered as `/authorize` would, with the consent given (or
 * `access_denied` for "do not allow").
 */
authorizationRoutes.post('/authorize/consent', async (c) => {
  if (!(await addressMayStartLogin(c.env, c.req.raw))) return tooMany(c);
  let form: URLSearchParams;
  try {
    form = await readForm(c.req.raw);
  } catch (error) {
    if (error instanceof OAuthError) return localError(c, error);
    throw error;
  }
  const read = readConsentForm(form);
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!read || !cookie || !timingSafeEqual(await consentToken(cookie, read.params), read.token)) {
    return localError(c, new OAuthError('invalid_request', D.consentFormInvalid, { local: true }), read?.params);
  }
  return answerAuthorization(c, read.params, { consent: read.choice });
});

/** `prompt` with `select_account` answered: dropped for `continue`, `login` for `another`. */
function promptAfterChoice(params: URLSearchParams, choice: AccountChoice): URLSearchParams {
  const next = new URLSearchParams(params);
  const prompt = (params.get('prompt') ?? '').split(' ').filter((value) => value !== '' && value !== 'select_account');
  if (choice === 'another' && !prompt.includes('login')) prompt.push('login');
  if (prompt.length) next.set('prompt', prompt.join(' '));
  else next.delete('prompt');
  return next;
}

/**
 * Validates an authorization request and answers it: a local error page, an error or a code
 * back to the client, the account choice page, the consent page, or a new login on the phone.
 * @param answers.consent the choice made on the consent page, when the request comes from it.
 * @param answers.choice the answer on the account choice page, when the request comes from it.
 */
async function answerAuthorization(
  c: Ctx,
  params: URLSearchParams,
  answers: { consent?: ConsentChoice | undefined; choice?: AccountChoice | undefined } = {},
): Promise<Response> {
  const { consent, choice } = answers;
  let client: Client;
  let redirectUri: string;
  try {
    client = checkClient(await getCachedClient(c.env.DB, checkClientId(params)));
    redirectUri = checkRedirectUri(params, client);
  } catch (error) {
    if (error instanceof OAuthError) return localError(c, error, params);
    throw error;
  }
  const states = params.getAll('state');
  // Echo `state` only when it is one value we accept, so an error redirect never carries an
  // oversized or repeated parameter back (RFC 6749 §4.1.2.1 echoes "if present" in the request).
  const state = states.length === 1 && states[0]!.length <= MAX_PARAM_LENGTH ? states[0] : undefined;
  let request: AuthorizationRequest;
  try {
    request = validateAuthorization(params, client, redirectUri);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    const target = { redirect_uri: redirectUri, state, response_mode: responseModeOf(params) };
    return backToClient(c, target, { error: error.code, error_description: error.description });
  }
  if (consent === 'deny') {
    const target = { redirect_uri: redirectUri, state, response_mode: responseModeOf(params) };
    return backToClient(c, target, { error: 'access_denied', error_description: D.consentDeclined });
  }
  let step: SessionStep;
  try {
    step = await sessionStep(c, params, request, client, { choice, consent });
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    const target = { redirect_uri: redirectUri, state, response_mode: responseModeOf(params) };
    return backToClient(c, target, { error: error.code, error_description: error.description });
  }
  if (step.kind === 'redirect') {
    return backToClient(c, { redirect_uri: redirectUri, state, response_mode: responseModeOf(params) }, step.params);
  }
  if (step.kind === 'select') {
    const identity = await getIdentity(c.env.DB, step.sub);
    return choicePage(c, {
      locale: pickLocale(request.ui_locales, c.req.header('Accept-Language')),
      name: shortName(identity?.claims),
      clientName: client.name,
      redirectUri,
      params,
    });
  }
  if (step.kind === 'consent') {
    const token = await consentToken(getCookie(c, SESSION_COOKIE) ?? '', params);
    const locale = pickLocale(request.ui_locales, c.req.header('Accept-Language'));
    // The form's answer redirects to the client: browsers apply form-action to that redirect too.
    const headers = documentHeaders();
    const origin = new URL(redirectUri).origin;
    if (origin !== 'null') headers['Content-Security-Policy'] = headers['Content-Security-Policy']!.replace("form-action 'self'", `form-action 'self' ${origin}`);
    // Like the phone, the page lists what would really be released: the claims this person holds.
    const identity = await getIdentity(c.env.DB, step.sub);
    const shown = identity ? heldClaimNames(step.claims, identity.claims) : step.claims;
    return c.html(consentPage(client.name, shown, params, token, locale), 200, headers);
  }
  if (!(await clientMayStartLogin(c.env, client.clientId))) return tooMany(c, params);
  const snapshot = await startLogin(c, {
    client: { id: client.clientId, name: client.name, ...(client.requireNumberMatching ? { requireNumberMatching: true } : {}) },
    // `offline_access` (kept only when grantable) is listed so the phone asks consent to ongoing access.
    claims: [...new Set([...claimsForScopes(request.scope.split(' ')), ...requestedClaimNames(request.claims, 'userinfo'), ...requestedClaimNames(request.claims, 'id_token'),
      ...request.scope.split(' ').filter((s) => s === 'offline_access')])],
    locale: pickLocale(request.ui_locales, c.req.header('Accept-Language')),
    authorization: { ...request },
    ...(step.requiredSub ? { requiredSub: step.requiredSub } : {}),
  });
  c.header('Cache-Control', 'no-store');
  // A browser's navigation gets the page itself: one round trip fewer than a 303 to it. Every
  // other requester, and a POST (Post/Redirect/Get: a reload must not post again), the address.
  if (isDocumentNavigation(c)) {
    c.header('Content-Location', `/login/${snapshot.id}`);
    return loginPage(c, snapshot);
  }
  return c.redirect(`/login/${snapshot.id}`, 303);
}

/**
 * `GET /login/:id/continue`, mounted at `/login`: where the page sends the browser once the
 * login is decided. Requires the binding cookie. Approved → a fresh authorization code to the
 * redirect_uri; denied → `access_denied`; anything else → back to the page (which shows the
 * state and, when the login ended, offers to start again).
 */
export const continueRoutes = new Hono<{ Bindings: Env }>();

continueRoutes.get('/:id/continue', async (c) => {
  // Issuing a code replaces the previous one: a HEAD (link prefetch, checkers) must not.
  if (c.req.method === 'HEAD') return new Response(null, { status: 405, headers: { Allow: 'GET' } });
  const id = c.req.param('id');
  const stub = loginStub(c.env, id);
  const binding = await bindingHashFrom(c, id);
  // One object call for the state, the approval and a fresh code, linked to the browser session
  // planned here (the order and the revocation rule: src/session/handback.ts).
  const planned = planBrowserSession(c.env);
  // RPC typing loses `Record<string, unknown>`; the object returns exactly this shape.
  const outcome = unwrap((await stub.continueLogin(binding, { id: planned.id, sid: planned.sid })) as Result<ContinueOutcome>);
  if (outcome.state === 'approved') {
    // The approving key must still be valid when its approval is turned into a code; the same
    // batch indexes the planned session under it, unless it is revoked (handback.ts, 2.) or no
    // code was issued (already redeemed, approval too old: no session will start, and a row
    // written now would never be removed).
    const index = outcome.issued.ok ? [indexPlannedSession(c.env, planned, outcome.approval)] : [];
    const device = await getDeviceAlong(c.env.DB, outcome.approval.deviceId, index);
    if (device?.revokedAt) {
      if (outcome.issued.ok) await withdraw(stub, binding);
      throw approvingKeyRevoked();
    }
    const { code, authorization } = unwrap(outcome.issued);
    try {
      await startBrowserSession(c, stub, binding, outcome.approval, planned);
    } catch (error) {
      // Revoked while the session was being created (BrowserSession `end`): no session, and the
      // code is not delivered either. Any other failure keeps the row: the session may exist.
      if (error instanceof ProblemError && error.code === 'device-revoked') {
        await Promise.all([withdraw(stub, binding), forgetPlannedSession(c.env, planned)]);
      }
      throw error;
    }
    return backToClient(c, authorization as unknown as AuthorizationRequest, { code });
  }
  if (outcome.state === 'denied') {
    const request = outcome.authorization as unknown as AuthorizationRequest;
    return backToClient(c, request, { error: 'access_denied', error_description: D.denied });
  }
  c.header('Cache-Control', 'no-store');
  return c.redirect(`/login/${id}`, 303);
});

/** Deletes a code minted for a login whose key was found revoked; a failure is logged (the code never left). */
async function withdraw(stub: DurableObjectStub<LoginSession>, binding: string): Promise<void> {
  try {
    unwrap((await stub.withdrawCode(binding)) as Result<null>);
  } catch (error) {
    console.error('continue: withdrawing the code of a revoked key failed (it was not delivered; it expires in 60 s)', error);
  }
}
