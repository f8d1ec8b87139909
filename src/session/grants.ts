/**
 * The OIDC section of a login (issue 4): its one authorization code and the access token the
 * code's redemption issues. The code and the token route back to the LoginSession by the login id
 * they carry, so issuing, redeeming (once) and revoking are atomic; the object hands these
 * functions its storage and its transitions ({@link GrantHost}) and knows nothing else of OAuth.
 * Hashes are computed before storage is read so the read-check-write runs under the input gate
 * without interleaving. Times are epoch milliseconds.
 */
import { ProblemError, type ProblemData } from '../http/problem.ts';
import { DESCRIPTIONS, type Description } from '../oidc/descriptions.ts';
import { randomToken, sha256Hex } from './crypto.ts';
import type { LoginEvent, LoginRecord } from './machine.ts';
import {
  ACCESS_TOKEN_TTL_MS,
  CODE_ISSUE_WINDOW_MS,
  CODE_TTL_MS,
  checkAccessToken,
  checkCode,
  type AccessTokenRecord,
  type CodeRecord,
  type Redemption,
} from './tokens.ts';
import type { DeviceKey, LoginSnapshot, Result } from './types.ts';

/** What the LoginSession lends these functions. */
export interface GrantHost {
  /** The login id (the object's id, hex). */
  id: string;
  storage: DurableObjectStorage;
  /** null when the binding cookie's hash matches, else the problem to return. */
  checkBinding(bindingHash: string): Promise<ProblemData | null>;
  record(): Promise<LoginRecord | undefined>;
  /** The authorization request the login was started with. */
  authorization(): Promise<Record<string, unknown>>;
  /** The device that scanned (set once scanned). */
  device(): Promise<DeviceKey>;
  /** Applies a machine event (persisting and broadcasting as the object does). */
  apply(event: LoginEvent): Promise<Result<LoginSnapshot>>;
  /** Keeps the object's storage until at least `until` (epoch ms). */
  retainUntil(until: number): Promise<void>;
  /**
   * The object's own storage keys, for the one write that starts a login already approved
   * (`startFromSession` in ./handback.ts; nothing else here writes them) and for reading several
   * in one storage call (`redeemCode`).
   */
  keys: { login: string; start: string; binding: string; device: string };
  /** How long an ended login's storage is kept, in milliseconds. */
  endedRetentionMs: number;
}

/** Storage keys of the OIDC section (issue 4; listed in docs/storage.md). */
export const OIDC_KEY = {
  code: 'code', // CodeRecord: the login's one authorization code (hashed)
  accessToken: 'accessToken', // AccessTokenRecord: the token its redemption issued (hashed)
  browserSession: 'browserSession', // BrowserSessionLink: the SSO session the code belongs to
} as const;

/**
 * The browser session (single sign-on) a login's code belongs to: the token endpoint records
 * the client there, and the ID token carries its `sid` and `auth_time` (epoch SECONDS).
 */
export interface BrowserSessionLink {
  /** The BrowserSession object id (hex). */
  id: string;
  sid: string;
  authTime: number;
}

/** A refusal at an OAuth endpoint, as plain data across RPC (the Worker maps it to the response). */
export type GrantResult<T> = { ok: true; value: T } | { ok: false; error: 'invalid_grant' | 'invalid_token'; description: Description };

/** What a successful code redemption gives the token endpoint. */
export interface Grant {
  /** The access token (`<login id>.<random>`), returned once; the object keeps only its hash. */
  accessToken: string;
  /** Epoch ms. */
  accessTokenExpiresAt: number;
  sub: string;
  /** The device (mobile key) that approved. */
  deviceId: string;
  /** The validated authorization request (AuthorizationRequest in src/oidc/authorize.ts). */
  authorization: Record<string, unknown>;
  /** When the person approved, epoch ms (`auth_time`: the browser session's when it has one). */
  approvedAt: number;
  /** The browser session the code was issued in, if any. */
  browserSession?: BrowserSessionLink;
}

/** The code and the request it answers, as `issueCode` returns them. */
export interface IssuedCode {
  /** `<login id>.<random>`: 256 bits, valid {@link CODE_TTL_MS}; the object keeps only its hash. */
  code: string;
  /** The validated authorization request (AuthorizationRequest in src/oidc/authorize.ts). */
  authorization: Record<string, unknown>;
}

/** A fresh code and its SHA-256 hex, computed before any storage read (see the file's note). */
export async function newCode(loginId: string): Promise<{ code: string; hash: string }> {
  const code = `${loginId}.${randomToken(32)}`;
  return { code, hash: await sha256Hex(code) };
}

/**
 * Issues the login's authorization code for the browser that started it, once approved
 * (replacing an earlier unredeemed code, e.g. when "continue" is reloaded).
 * @returns the code and the authorization request to answer; `conflict` unless approved and
 *   not yet redeemed, `login-expired` when the approval is older than {@link CODE_ISSUE_WINDOW_MS}.
 */
export async function issueCode(host: GrantHost, bindingHash: string): Promise<Result<IssuedCode>> {
  const fresh = await newCode(host.id);
  const problem = await host.checkBinding(bindingHash);
  if (problem) return { ok: false, problem };
  return mintCode(host, (await host.record())!, fresh);
}

/**
 * {@link issueCode} once the binding is checked: stores the code's record (with `alsoStore`, in
 * the same write) and keeps storage until it expires.
 * @param alsoStore further storage entries written with the code (the browser-session link).
 */
export async function mintCode(
  host: GrantHost,
  record: LoginRecord,
  fresh: { code: string; hash: string },
  alsoStore: Record<string, unknown> = {},
): Promise<Result<IssuedCode>> {
  if (record.state !== 'approved') return { ok: false, problem: new ProblemError('conflict', 409, 'Login not approved').toJSON() };
  if (record.redeemedAt !== undefined) return { ok: false, problem: new ProblemError('conflict', 409, 'Already redeemed').toJSON() };
  if (Date.now() > (record.endedAt ?? 0) + CODE_ISSUE_WINDOW_MS) {
    return {
      ok: false,
      problem: new ProblemError('login-expired', 410, 'Approval too old', {
        detail: 'This approval is too old to continue with. Go back to the service and log in again.',
      }).toJSON(),
    };
  }
  const authorization = await host.authorization();
  if (typeof authorization.client_id !== 'string' || typeof authorization.redirect_uri !== 'string') {
    return {
      ok: false,
      problem: new ProblemError('conflict', 409, 'No authorization request', {
        detail: 'This login was not started by an authorization request, so there is nowhere to return to.',
      }).toJSON(),
    };
  }
  const now = Date.now();
  const stored: CodeRecord = {
    hash: fresh.hash,
    clientId: authorization.client_id,
    redirectUri: authorization.redirect_uri,
    issuedAt: now,
    expiresAt: now + CODE_TTL_MS,
  };
  if (typeof authorization.code_challenge === 'string') stored.codeChallenge = authorization.code_challenge;
  await host.storage.put({ ...alsoStore, [OIDC_KEY.code]: stored });
  await host.retainUntil(stored.expiresAt);
  return { ok: true, value: { code: fresh.code, authorization } };
}

/**
 * Redeems the authorization code (RFC 6749 §4.1.3): checks it with `checkCode`, records the
 * machine's `redeem` event and issues an access token valid {@link ACCESS_TOKEN_TTL_MS}.
 * A second redemption is refused and revokes the token the first one issued (RFC 6749 §4.1.2,
 * RFC 9700 §4.2.4) — but only when the code's own client presents it again: `checkCode` decides
 * the client first. The client is authenticated by the Worker before this is called.
 * @returns `invalid_grant` with a public description on any refusal.
 */
export async function redeemCode(host: GrantHost, input: Redemption): Promise<GrantResult<Grant>> {
  const accessToken = `${host.id}.${randomToken(32)}`;
  const tokenHash = await sha256Hex(accessToken);
  const now = Date.now();
  const code = await host.storage.get<CodeRecord>(OIDC_KEY.code);
  const checked = checkCode(code, input, now);
  if (!checked.ok) {
    if (checked.replay) {
      const token = await host.storage.get<AccessTokenRecord>(OIDC_KEY.accessToken);
      if (token && token.revokedAt === undefined) await host.storage.put(OIDC_KEY.accessToken, { ...token, revokedAt: now });
    }
    return { ok: false, error: 'invalid_grant', description: checked.description };
  }
  const redeemed = await host.apply({ type: 'redeem', at: now });
  if (!redeemed.ok) return { ok: false, error: 'invalid_grant', description: DESCRIPTIONS.codeNotRedeemable };
  // The authorization request, the device, the record and the browser-session link in one storage read.
  const got = await host.storage.get([host.keys.start, host.keys.device, host.keys.login, OIDC_KEY.browserSession]);
  const authorization = (got.get(host.keys.start) as { authorization: Record<string, unknown> }).authorization;
  const device = got.get(host.keys.device) as DeviceKey;
  const record = got.get(host.keys.login) as LoginRecord;
  const link = got.get(OIDC_KEY.browserSession) as BrowserSessionLink | undefined;
  const token: AccessTokenRecord = {
    hash: tokenHash,
    clientId: input.clientId,
    sub: device.sub,
    deviceId: device.id,
    scope: String(authorization.scope ?? 'openid'),
    issuedAt: now,
    ...(userinfoClaims(authorization).length ? { claims: userinfoClaims(authorization) } : {}),
    expiresAt: now + ACCESS_TOKEN_TTL_MS,
  };
  await host.storage.put({ [OIDC_KEY.code]: { ...code!, redeemedAt: now }, [OIDC_KEY.accessToken]: token });
  await host.retainUntil(token.expiresAt);
  return {
    ok: true,
    value: {
      accessToken,
      accessTokenExpiresAt: token.expiresAt,
      sub: device.sub,
      deviceId: device.id,
      authorization,
      approvedAt: link ? link.authTime * 1000 : record.endedAt!,
      ...(link ? { browserSession: link } : {}),
    },
  };
}

/**
 * Validates an access token for a protected resource (UserInfo).
 * @returns the subject, granted scope, client and approving device (whose revocation the caller
 *   checks in D1); `invalid_token` when unknown, expired or revoked.
 */
export async function introspectAccessToken(
  host: GrantHost,
  accessToken: string,
): Promise<GrantResult<{ sub: string; scope: string; clientId: string; deviceId: string; claims: string[] }>> {
  const hash = await sha256Hex(accessToken);
  const token = await host.storage.get<AccessTokenRecord>(OIDC_KEY.accessToken);
  const refused = checkAccessToken(token, hash, Date.now());
  if (refused) return { ok: false, error: 'invalid_token', description: refused };
  const deviceId = token!.deviceId ?? (await host.device())?.id ?? '';
  return { ok: true, value: { sub: token!.sub, scope: token!.scope, clientId: token!.clientId, deviceId, claims: token!.claims ?? [] } };
}

/**
 * Revokes the access token (RFC 7009 §2.2) if it is this one and was issued to `clientId`;
 * anything else (unknown, another client's, already revoked or expired) changes nothing.
 * @param accessToken the token, or its SHA-256 hex (`{ hash }`) when a revoked refresh token
 *   grant ends the access token its first code redemption issued (src/oidc/refresh.ts).
 * @returns whether a token was revoked now (the endpoint answers 200 either way).
 */
export async function revokeAccessToken(host: GrantHost, accessToken: string | { hash: string }, clientId: string): Promise<boolean> {
  const hash = typeof accessToken === 'string' ? await sha256Hex(accessToken) : accessToken.hash;
  const token = await host.storage.get<AccessTokenRecord>(OIDC_KEY.accessToken);
  if (checkAccessToken(token, hash, Date.now()) !== null || token!.clientId !== clientId) return false;
  await host.storage.put(OIDC_KEY.accessToken, { ...token!, revokedAt: Date.now() });
  return true;
}

/** The claim names the authorization request's `claims` parameter asked for at UserInfo (opaque data, only names kept). */
function userinfoClaims(authorization: Record<string, unknown>): string[] {
  const claims = authorization.claims as { userinfo?: Record<string, unknown> } | undefined;
  return Object.keys(claims?.userinfo ?? {});
}
