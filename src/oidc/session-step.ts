/**
 * The single sign-on step of the authorization endpoint: after the request is validated, decide
 * from the browser session whether to answer at once (a code, no page), refuse (`prompt=none`),
 * or start a login on the phone (possibly restricted to the `login_hint`'s identity).
 */
import type { Context } from 'hono';
import { browserSessionStub, currentWithId, establishBrowserSession, forgetPlannedSession, type PlannedSession } from '../browser-session/api.ts';
import { getDevice } from '../identity/devices.ts';
import { loginValiditySeconds } from '../session/start.ts';
import { loginStub, unwrap } from '../session/stub.ts';
import type { LoginSession } from '../session/LoginSession.ts';
import type { Result } from '../session/types.ts';
import type { AuthorizationRequest, Params } from './authorize.ts';
import { ACR_SUBSTANTIAL, AMR, claimsForScopes } from './claims.ts';
import type { Client } from './clients.ts';
import { resolveLoginHint, verifyIdTokenHint } from './hints.ts';
import { decideSso } from './sso.ts';
import { loginClaimNames } from './consent.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';
import { consentStatement, covers, standingConsent } from '../identity/consents.ts';
import { historyStatements } from '../identity/history.ts';
import { requesterOf } from '../session/start.ts';
import { safeRequester } from '../http/names.ts';
import { notify } from '../notifications/notify.ts';

/** Where the request goes: back to the client with these parameters, or to a login page. */
export type SessionStep =
  | { kind: 'redirect'; params: Record<string, string> }
  | { kind: 'login'; requiredSub?: string }
  | { kind: 'select'; sub: string }
  | { kind: 'consent'; sub: string; claims: string[] };

/**
 * The person's answer on the account choice page: `continue` as the session's identity (a
 * silent answer, `auth_time` unchanged) or log in with `another` key (a fresh approval).
 */
export type AccountChoice = 'continue' | 'another';

/**
 * Runs the step. A silent answer starts a LoginSession already approved from the browser
 * session and takes its one code in the same call (docs/login-session.md, "Single sign-on").
 * It needs consent first (src/oidc/consent.ts) when the service asks for claims that no
 * remembered consent covers: `consent_required` with `prompt=none`, else the consent page.
 * The login history row (and the consent given on the page) are written after the answer
 * (`waitUntil`), adding nothing to its latency.
 * @param answers.choice the person's answer on the account choice page, which replaces
 *   `select_account` in the request's prompt (`another` as if it were `login`).
 * @param answers.consent the person's choice on the consent page, when this request comes from it.
 * @throws {OAuthError} `invalid_request` for an invalid `id_token_hint` (redirected by the caller).
 */
export async function sessionStep(
  c: Context<{ Bindings: Env }>,
  params: Params,
  request: AuthorizationRequest,
  client: Client,
  answers: { choice?: AccountChoice | undefined; consent?: 'once' | 'always' | undefined } = {},
): Promise<SessionStep> {
  const { choice, consent } = answers;
  const hint = params.get('id_token_hint') || undefined;
  const [idTokenHintSub, loginHintSub] = await Promise.all([
    hint === undefined ? undefined : verifyIdTokenHint(c.env, hint),
    resolveLoginHint(c.env.DB, request.login_hint, client),
  ]);
  let current = await currentWithId(c);
  let sessionKeyName: string | undefined;
  if (current) {
    // The session ends when its device is revoked; should that have failed, do not answer from it.
    const device = await getDevice(c.env.DB, current.view.deviceId);
    sessionKeyName = device?.name;
    if (device?.revokedAt) {
      await browserSessionStub(c.env, current.id)?.end('device-revoked');
      current = null;
    }
  }
  let prompt = (request.prompt ?? '').split(' ').filter(Boolean);
  if (choice) prompt = [...prompt.filter((value) => value !== 'select_account'), ...(choice === 'another' ? ['login'] : [])];
  const decision = decideSso({
    prompt,
    ...(request.max_age !== undefined ? { maxAge: request.max_age } : {}),
    ...(idTokenHintSub !== undefined ? { idTokenHintSub } : {}),
    ...(loginHintSub !== undefined ? { loginHintSub } : {}),
    session: current ? { sub: current.view.sub, authTime: current.view.authTime } : null,
    now: Math.floor(Date.now() / 1000),
  });
  if (decision.kind === 'error') {
    return { kind: 'redirect', params: { error: decision.error, error_description: decision.description } };
  }
  // The phone's key must belong to the hinted identity: the login_hint's, else the id_token_hint's.
  const requiredSub = loginHintSub ?? idTokenHintSub;
  if (decision.kind === 'select' && current) return { kind: 'select', sub: current.view.sub };
  if (decision.kind === 'interactive' || !current) return requiredSub ? { kind: 'login', requiredSub } : { kind: 'login' };

  const claims = loginClaimNames(request);
  if (claims.length > 0 && consent === undefined && !covers(await standingConsent(c.env.DB, current.view.sub, client.clientId), claims)) {
    if (request.prompt === 'none') return { kind: 'redirect', params: { error: 'consent_required', error_description: D.consentRequired } };
    return { kind: 'consent', sub: current.view.sub, claims };
  }

  const id = c.env.LOGIN_SESSION.newUniqueId().toString();
  const issued = (await loginStub(c.env, id).startFromSession({
    client: { id: client.clientId, name: client.name },
    claims: claimsForScopes(request.scope.split(' ')),
    locale: 'cs',
    authorization: { ...request },
    validitySeconds: loginValiditySeconds(c.env),
    sub: current.view.sub,
    deviceId: current.view.deviceId,
    browserSession: { id: current.id, sid: current.view.sid, authTime: current.view.authTime },
  })) as Result<{ code: string; authorization: Record<string, unknown> }>;
  const code = unwrap(issued).code;
  const at = Date.now();
  const sub = current.view.sub;
  const requester = requesterOf(c.req.raw, c.env.ISSUER);
  const statements = historyStatements(c.env.DB, {
    sub, clientId: client.clientId, clientName: client.name, deviceId: current.view.deviceId,
    outcome: 'approved', method: 'sso', requester,
  }, at);
  if (consent !== undefined && claims.length > 0) statements.push(consentStatement(c.env.DB, { sub, clientId: client.clientId, kind: consent, claims }, at));
  afterAnswer(c, c.env.DB.batch(statements));
  // A login made with the identity without the phone is still a login in its name: the identity's
  // other keys are told, as for a login approved on the phone (the session's key "made" it).
  afterAnswer(
    c,
    notify(c.env, {
      sub,
      type: 'login.approved',
      deviceId: current.view.deviceId,
      detail: { client_id: client.clientId, client_name: client.name, requester: safeRequester(requester), ...(sessionKeyName ? { device_name: sessionKeyName } : {}) },
    }, at).then(({ deliveries }) => deliveries),
  );
  return { kind: 'redirect', params: { code } };
}

/** Runs bookkeeping after the response (`waitUntil`); a failure is logged, the answer stands. */
function afterAnswer(c: Context<{ Bindings: Env }>, work: Promise<unknown>): void {
  const logged = work.catch((error) => console.error('sso: a write after the answer (history, consent, notification) failed', error));
  try {
    c.executionCtx.waitUntil(logged);
  } catch {
    // No execution context (a direct app.fetch without one): the write still runs.
  }
}

/**
 * After an approved login turned into a code: starts (or renews) the browser session and sets
 * its cookie. `continueLogin` already linked the code to `planned`, and `/continue` indexed it;
 * only when the cookie's own session was renewed instead (same identity) is the code linked to
 * that one, by a further call, and the planned session's index row removed.
 * So the token endpoint records the client in the right session and the ID token carries `sid`.
 * @param approval.approvedAt epoch ms.
 */
export async function startBrowserSession(
  c: Context<{ Bindings: Env }>,
  stub: DurableObjectStub<LoginSession>,
  binding: string,
  approval: { sub: string; deviceId: string; approvedAt: number },
  planned: PlannedSession,
): Promise<void> {
  const { id, view } = await establishBrowserSession(c, {
    sub: approval.sub,
    authTime: Math.floor(approval.approvedAt / 1000),
    acr: ACR_SUBSTANTIAL,
    amr: [...AMR],
    deviceId: approval.deviceId,
  }, planned);
  if (id === planned.id) return;
  const [linked] = await Promise.all([stub.linkBrowserSession(binding, { id, sid: view.sid, authTime: view.authTime }), forgetPlannedSession(c.env, planned)]);
  unwrap(linked as Result<null>);
}
