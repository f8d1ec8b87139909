/**
 * The browser session (single sign-on) as the rest of the Worker sees it. CONTRACT between the
 * browser-session area (which implements it: one `BrowserSession` Durable Object per session,
 * named by a `__Host-` cookie) and its users (the authorization endpoint, logout endpoints).
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ProblemError } from '../http/problem.ts';
import { randomToken, sha256Hex } from '../session/crypto.ts';
import type { BrowserSession } from './BrowserSession.ts';
import { forgetSession, indexSessionUnlessRevoked, sessionsOfDevice } from './index-db.ts';
import { lifetimes } from './lifetime.ts';

/** One browser session, as its Durable Object holds it. */
export interface BrowserSessionView {
  /** The session id relying services know (`sid` in ID and logout tokens); not the object id. */
  sid: string;
  /** The identity logged in (the `sub` public clients see; pairwise clients see their own, src/oidc/subject.ts). */
  sub: string;
  /** When the person last approved with a mobile key, epoch SECONDS (`auth_time`). */
  authTime: number;
  acr: string;
  amr: string[];
  /** The device (mobile key) that approved. */
  deviceId: string;
  /** Every client_id that received tokens in this session. */
  clients: string[];
}

/** Why a session ended. */
export type EndReason = 'logout' | 'idle' | 'absolute' | 'device-revoked' | 'operator' | 'replaced';

/** The session cookie: `<object id hex>.<secret>`; HttpOnly, Secure, SameSite=Lax, Path=/. */
export const SESSION_COOKIE = '__Host-mk_session';

const COOKIE_VALUE = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/;

type Ctx = Context<{ Bindings: Env }>;

/** The BrowserSession stub for an object id (hex). @returns null for anything not one of our ids. */
export function browserSessionStub(env: Env, sessionId: string): DurableObjectStub<BrowserSession> | null {
  if (!/^[0-9a-f]{64}$/.test(sessionId)) return null;
  try {
    return env.BROWSER_SESSION.get(env.BROWSER_SESSION.idFromString(sessionId)) as DurableObjectStub<BrowserSession>;
  } catch {
    return null;
  }
}

/** The cookie's object id and the SHA-256 hex of its secret, or null when absent or malformed. */
async function cookieOf(c: Ctx): Promise<{ id: string; secretHash: string; stub: DurableObjectStub<BrowserSession> } | null> {
  const match = COOKIE_VALUE.exec(getCookie(c, SESSION_COOKIE) ?? '');
  if (!match) return null;
  const stub = browserSessionStub(c.env, match[1]!);
  return stub ? { id: match[1]!, secretHash: await sha256Hex(match[2]!), stub } : null;
}

function clearCookie(c: Ctx): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
}

/**
 * The valid browser session named by the request's cookie (a use: its idle deadline moves).
 * @returns null when there is no cookie, or it names an unknown or ended session.
 */
export async function currentBrowserSession(c: Ctx): Promise<BrowserSessionView | null> {
  return (await currentWithId(c))?.view ?? null;
}

/** {@link currentBrowserSession} with the object id (which codes carry to the token endpoint). */
export async function currentWithId(c: Ctx): Promise<{ id: string; view: BrowserSessionView } | null> {
  const cookie = await cookieOf(c);
  if (!cookie) return null;
  const view = await cookie.stub.read(cookie.secretHash);
  return view ? { id: cookie.id, view } : null;
}

/**
 * Ends the browser session named by the request's cookie (idempotent: a second call returns
 * null), clears the cookie on the response, and starts back-channel logout delivery to every
 * client of the session from the session object's alarm.
 * @returns the session as it was when it ended (for front-channel iframes), or null if none.
 */
export async function endBrowserSession(c: Ctx, reason: EndReason): Promise<BrowserSessionView | null> {
  const cookie = await cookieOf(c);
  if (getCookie(c, SESSION_COOKIE) !== undefined) clearCookie(c);
  if (!cookie) return null;
  return cookie.stub.end(reason, cookie.secretHash);
}

/**
 * A browser session about to be created, chosen before any call: its object id, `sid` and
 * cookie secret. `/continue` hands the id and `sid` to the LoginSession with the code it
 * issues, so the code is linked to the session without a call of its own.
 */
export interface PlannedSession {
  /** The BrowserSession object id (hex), from `newUniqueId()` (no call). */
  id: string;
  /** The `sid` relying services will see (22 characters). */
  sid: string;
  /** The cookie's secret (43 characters); the object keeps only its SHA-256. */
  secret: string;
}

/** A fresh {@link PlannedSession}. */
export function planBrowserSession(env: Env): PlannedSession {
  return { id: env.BROWSER_SESSION.newUniqueId().toString(), sid: randomToken(16), secret: randomToken(32) };
}

/**
 * How long a session's D1 index row outlives its absolute end at most, in ms: the row is written
 * before the object exists (with the revocation read, {@link indexPlannedSession}), so its
 * `expires_at` is taken a little later than the object's. A late row only points at an ended
 * session (ending it again is a no-op); an early one would hide a live session from revocation.
 */
const INDEX_MARGIN_MS = 60_000;

/**
 * The D1 statement indexing `planned` under the approving device, written unless that device is
 * revoked: `/continue` runs it in the batch that reads the device (src/oidc/authorization.ts),
 * so creating the session needs no D1 call of its own, and revoking the device finds it.
 */
export function indexPlannedSession(env: Env, planned: PlannedSession, approval: { sub: string; deviceId: string }): D1PreparedStatement {
  return indexSessionUnlessRevoked(env.DB, {
    sessionId: planned.id,
    deviceId: approval.deviceId,
    sub: approval.sub,
    expiresAt: Date.now() + lifetimes(env).absoluteSeconds * 1000 + INDEX_MARGIN_MS,
  });
}

/**
 * Removes the index row of a planned session that was not created (the cookie's own session was
 * renewed instead). A failure is logged: the stale row points at an object without a session.
 */
export async function forgetPlannedSession(env: Env, planned: PlannedSession): Promise<void> {
  try {
    await forgetSession(env.DB, planned.id);
  } catch (error) {
    console.error(`removing the index row of the unused planned session ${planned.id} failed`, error);
  }
}

/** The refusal of a login whose approving key was revoked before its browser session started (403). */
export function approvingKeyRevoked(): ProblemError {
  return new ProblemError('device-revoked', 403, 'Mobile key revoked', {
    detail: 'The mobile key that approved this login has since been revoked. Log in again.',
  });
}

/**
 * After a login approved with a mobile key: the same identity's valid session gets the later
 * `auth_time` (its `sid` and clients stay); otherwise the new session `planned` replaces any
 * other (which ends, `replaced`), and the cookie is set on the response. The caller has indexed
 * `planned` ({@link indexPlannedSession}); the session's object does not write that row itself.
 * @param input.authTime epoch SECONDS of the approval.
 * @returns the session's object id (codes carry it) and the session: `planned.id` unless the
 *   cookie's session was renewed.
 */
export async function establishBrowserSession(
  c: Ctx,
  input: { sub: string; authTime: number; acr: string; amr: string[]; deviceId: string },
  planned: PlannedSession,
): Promise<{ id: string; view: BrowserSessionView }> {
  const cookie = await cookieOf(c);
  if (cookie) {
    const same = await cookie.stub.reauthenticate(cookie.secretHash, input);
    if (same) return { id: cookie.id, view: same };
    await cookie.stub.end('replaced', cookie.secretHash);
  }
  const { id, sid, secret } = planned;
  const view = await browserSessionStub(c.env, id)!.create({
    ...input,
    sid,
    secretHash: await sha256Hex(secret),
    ...lifetimes(c.env),
  });
  if (view === 'device-revoked') throw approvingKeyRevoked();
  if (!view) throw new Error('a fresh BrowserSession object was already in use');
  const { absoluteSeconds } = lifetimes(c.env);
  setCookie(c, SESSION_COOKIE, `${id}.${secret}`, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: Math.ceil(absoluteSeconds),
  });
  return { id, view };
}

/**
 * Records that a client received tokens in a session (the token endpoint, after a redemption).
 * @param sub the `sub` those tokens carried (a pairwise client's own; src/oidc/subject.ts), which
 *   its logout token will carry too.
 * @returns false when the session is unknown or has ended (the client is then owed a logout token).
 */
export async function recordClient(env: Env, sessionId: string, clientId: string, sub?: string): Promise<boolean> {
  const stub = browserSessionStub(env, sessionId);
  return stub ? stub.addClient(clientId, sub) : false;
}

/**
 * Ends every session a device approved (its revocation). Each session is ended on its own, so
 * one failure does not keep the others running; failures are logged.
 * @returns how many sessions this call ended.
 */
export async function endSessionsOfDevice(env: Env, deviceId: string): Promise<number> {
  const ids = await sessionsOfDevice(env.DB, deviceId);
  const ended = await Promise.all(
    ids.map(async (id) => {
      try {
        return (await browserSessionStub(env, id)?.end('device-revoked')) ? 1 : 0;
      } catch (error) {
        console.error(`ending browser session ${id} of a revoked device failed`, error);
        return 0;
      }
    }),
  );
  return ended.reduce<number>((a, b) => a + b, 0);
}
