/**
 * The hand-back of a decided login to the OIDC layer: everything `GET /login/:id/continue`
 * needs from the LoginSession in **one** call ({@link continueLogin}), withdrawing a code whose
 * approving key turned out to be revoked, the browser-session link, and the login started
 * already approved from a browser session (single sign-on). Functions over the object's
 * {@link GrantHost}, like ./grants.ts; the object's RPC methods only forward here.
 *
 * The order at `/continue` (src/oidc/authorization.ts), and why it keeps the revocation rule
 * "a code is never handed to the browser for a login whose approving key is revoked":
 * 1. `continueLogin` checks the binding, reads the state and, when approved, mints the code and
 *    records the browser-session link (the session's object id and `sid`, chosen by the Worker
 *    before the call) in the same storage write. The approving device is only known from here.
 * 2. The Worker reads the device in D1, in one batch with the planned browser session's index row
 *    (`browser_sessions`), which is written unless the device is revoked (so revoking the
 *    key later finds the session, and a revoked key's session is never indexed; a revocation
 *    that finds the row before the object holds the session marks the object, which then
 *    refuses to create it: a 403, the code withdrawn, as below). If it is
 *    revoked, the code is **not delivered** (a 403 instead), and `withdrawCode` deletes it, so it
 *    is not redeemable either. Until then it is
 *    not redeemable in practice: it exists only in that Worker's memory (256 random bits), the
 *    object keeps its hash. Should the withdrawal fail, the code still never left the Worker and
 *    expires in 60 s (or the next `/continue` replaces it).
 * 3. Only then the BrowserSession is created (or the cookie's own renewed, and the planned row
 *    removed) and its cookie set, and the browser is sent back with the code. A session is never
 *    created for a revoked key.
 */
import { ProblemError } from '../http/problem.ts';
import { createLogin, type LoginRecord, type LoginState } from './machine.ts';
import { randomToken, sha256Hex } from './crypto.ts';
import { mintCode, newCode, OIDC_KEY, type BrowserSessionLink, type GrantHost, type IssuedCode } from './grants.ts';
import type { DeviceKey, Result, StartLogin } from './types.ts';

/** Who approved, as `/continue` needs it. */
export interface Approval {
  sub: string;
  /** The device (mobile key) that approved: its revocation is checked before the code leaves. */
  deviceId: string;
  /** Epoch ms. */
  approvedAt: number;
}

/**
 * What `/continue` does next: an approved login's approval and its fresh code (or why no code,
 * e.g. already redeemed or too old), a denied login's authorization request (to answer
 * `access_denied`), or only the state (back to the page).
 */
export type ContinueOutcome =
  | { state: 'approved'; approval: Approval; issued: Result<IssuedCode> }
  | { state: 'denied'; authorization: Record<string, unknown> }
  | { state: Exclude<LoginState, 'approved' | 'denied'> };

/**
 * `/continue` in one call, for the browser holding the binding cookie (its SHA-256 hex). When
 * approved: mints the code (as `issueCode`, replacing an unredeemed earlier one) and, in the
 * same write, links it to the browser session `session` names, with `auth_time` the approval's.
 * @param session the BrowserSession object id (hex) and `sid` the Worker will create, or
 *   replace with the cookie's session (then it links that one with `linkBrowserSession`).
 * @returns the outcome; `not-found` / `login-binding` problems for another browser.
 */
export async function continueLogin(
  host: GrantHost,
  bindingHash: string,
  session: { id: string; sid: string },
): Promise<Result<ContinueOutcome>> {
  const fresh = await newCode(host.id);
  const problem = await host.checkBinding(bindingHash);
  if (problem) return { ok: false, problem };
  const record = (await host.record())!;
  if (record.state === 'denied') return { ok: true, value: { state: 'denied', authorization: await host.authorization() } };
  if (record.state !== 'approved') return { ok: true, value: { state: record.state } };
  const device = await host.device();
  const approval: Approval = { sub: device.sub, deviceId: device.id, approvedAt: record.endedAt! };
  const link: BrowserSessionLink = { id: session.id, sid: session.sid, authTime: Math.floor(approval.approvedAt / 1000) };
  const issued = await mintCode(host, record, fresh, { [OIDC_KEY.browserSession]: link });
  return { ok: true, value: { state: 'approved', approval, issued } };
}

/**
 * Deletes the login's unredeemed code and its browser-session link: `/continue` found the
 * approving key revoked after `continueLogin` minted the code. A redeemed code is left alone.
 */
export async function withdrawCode(host: GrantHost, bindingHash: string): Promise<Result<null>> {
  const problem = await host.checkBinding(bindingHash);
  if (problem) return { ok: false, problem };
  if ((await host.record())?.redeemedAt === undefined) await host.storage.delete([OIDC_KEY.code, OIDC_KEY.browserSession]);
  return { ok: true, value: null };
}

/**
 * Links the login's code to another browser session than `continueLogin` named: the cookie's
 * own, renewed by this approval (same identity). Only the browser holding the binding may.
 */
export async function linkBrowserSession(host: GrantHost, bindingHash: string, link: BrowserSessionLink): Promise<Result<null>> {
  const problem = await host.checkBinding(bindingHash);
  if (problem) return { ok: false, problem };
  await host.storage.put(OIDC_KEY.browserSession, link);
  return { ok: true, value: null };
}

/** What `startFromSession` is given: a login's start without its page, and who approved it. */
export type SessionStart = Omit<StartLogin, 'bindingHash' | 'requester'> & { sub: string; deviceId: string; browserSession: BrowserSessionLink };

/**
 * A login answered from a valid browser session, without the phone: the object starts already
 * approved (by the device that approved the session, at the session's `auth_time`) and issues
 * its one code in the same call, so the code routes here and is redeemed once like any other.
 * No browser holds a binding for it: it has no page.
 * @returns the code and the authorization request to answer; `conflict` if already started.
 */
export async function startFromSession(host: GrantHost, init: SessionStart): Promise<Result<IssuedCode>> {
  const fresh = await newCode(host.id);
  const bindingHash = await sha256Hex(randomToken(32));
  if (await host.record()) {
    return { ok: false, problem: new ProblemError('conflict', 409, 'Login already started').toJSON() };
  }
  const now = Date.now();
  const created = createLogin(now, init.validitySeconds);
  const record: LoginRecord = { ...created, state: 'approved', deviceId: init.deviceId, scannedAt: now, endedAt: now };
  const stored: Omit<StartLogin, 'bindingHash' | 'validitySeconds'> = {
    client: init.client,
    claims: init.claims,
    requester: {},
    locale: init.locale,
    authorization: init.authorization,
  };
  await host.storage.put({
    [host.keys.login]: record,
    [host.keys.start]: stored,
    [host.keys.binding]: bindingHash,
    // A device record without a key: nothing is ever verified against it (the login is decided).
    [host.keys.device]: { id: init.deviceId, sub: init.sub, name: '', publicJwk: {} } satisfies DeviceKey,
    [OIDC_KEY.browserSession]: init.browserSession,
  });
  await host.retainUntil(now + host.endedRetentionMs);
  return mintCode(host, record, fresh);
}
