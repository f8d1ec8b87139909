/**
 * RP-Initiated Logout 1.0 (§2, §3): reading and checking an end-session request, in small
 * ordered steps, and the decision what to do with it. The steps are pure; only
 * {@link verifyIdTokenHint} needs the keys and the client registry.
 */
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Client } from './clients.ts';
import { OAuthError } from './errors.ts';
import { publicJwks } from './keys.ts';

/** The parameters of an end-session request (RP-Initiated Logout 1.0 §2), each at most once. */
export interface LogoutParams {
  id_token_hint?: string;
  client_id?: string;
  post_logout_redirect_uri?: string;
  state?: string;
  ui_locales?: string;
  logout_hint?: string;
}

/** Longest accepted id_token_hint, in characters (our ID tokens are well under 2 KB). */
export const MAX_HINT_LENGTH = 8192;
/** Longest accepted post_logout_redirect_uri / client_id, in characters. */
export const MAX_URI_LENGTH = 2000;
/** Longest accepted state, ui_locales, logout_hint, in characters. */
export const MAX_TEXT_LENGTH = 512;

const LIMITS: Record<keyof LogoutParams, number> = {
  id_token_hint: MAX_HINT_LENGTH,
  client_id: MAX_URI_LENGTH,
  post_logout_redirect_uri: MAX_URI_LENGTH,
  state: MAX_TEXT_LENGTH,
  ui_locales: MAX_TEXT_LENGTH,
  logout_hint: MAX_TEXT_LENGTH,
};

function refuse(description: string): OAuthError {
  return new OAuthError('invalid_request', description, { local: true });
}

/**
 * Step 1: the known parameters, each sent at most once and of a sane length ('' counts as
 * absent). Unknown parameters are ignored (RFC 6749 §3.1).
 * @throws {OAuthError} `invalid_request` (local: shown, never redirected).
 */
export function readLogoutParams(params: URLSearchParams): LogoutParams {
  const out: LogoutParams = {};
  for (const name of Object.keys(LIMITS) as (keyof LogoutParams)[]) {
    const values = params.getAll(name);
    if (values.length > 1) throw refuse(`${name} is repeated`);
    const value = values[0];
    if (value === undefined || value === '') continue;
    if (value.length > LIMITS[name]) throw refuse(`${name} is too long`);
    out[name] = value;
  }
  return out;
}

/** What a verified id_token_hint tells us. */
export interface VerifiedHint {
  sub: string;
  /** The client the ID token was issued to (its single `aud`). */
  clientId: string;
  /** The session the ID token was issued in, when it carries one. */
  sid?: string;
}

/**
 * Step 2: the id_token_hint is an ID token we issued: our signature (any published key),
 * `typ` JWT (a logout token is not an ID token), our `iss`, one `aud` naming a registered client,
 * a `sub`. Expiry is NOT checked: an expired ID token is a valid hint (RP-Initiated Logout §2).
 * @param findClient looks a client up by id (D1 in the endpoint).
 * @throws {OAuthError} `invalid_request` for anything else (the reason is not shown in detail).
 */
export async function verifyIdTokenHint(
  env: Env,
  hint: string,
  findClient: (clientId: string) => Promise<Client | null>,
): Promise<{ hint: VerifiedHint; client: Client }> {
  let payload: Record<string, unknown>;
  try {
    const jwks = createLocalJWKSet(publicJwks(env) as JSONWebKeySet);
    const verified = await compactVerify(hint, jwks, { algorithms: ['RS256', 'ES256'] });
    const typ = verified.protectedHeader.typ;
    if (typ !== undefined && typ.toLowerCase() !== 'jwt') throw new Error(`typ ${typ}`);
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('payload');
  } catch (error) {
    console.warn(`logout: id_token_hint refused (${error instanceof Error ? error.name : 'invalid'})`);
    throw refuse('id_token_hint is not an ID token issued by this provider');
  }
  const aud = Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : payload.aud;
  if (payload.iss !== env.ISSUER || typeof aud !== 'string' || typeof payload.sub !== 'string' || !payload.sub) {
    throw refuse('id_token_hint is not an ID token issued by this provider');
  }
  const client = await findClient(aud);
  if (!client) throw refuse('id_token_hint was issued to a service that is not registered');
  const verified: VerifiedHint = { sub: payload.sub, clientId: aud };
  if (typeof payload.sid === 'string') verified.sid = payload.sid;
  return { hint: verified, client };
}

/**
 * Step 3: a client_id sent with a hint names the hint's audience (RP-Initiated Logout §2).
 * @throws {OAuthError} `invalid_request` when they differ.
 */
export function checkClientMatchesHint(clientId: string | undefined, hint: VerifiedHint | undefined): void {
  if (clientId !== undefined && hint && clientId !== hint.clientId) throw refuse('client_id does not match the id_token_hint');
}

/**
 * The post-logout URL: the registered URI with `state` added when present, nothing else
 * (RP-Initiated Logout §3). A query in the registered URI is kept.
 */
export function postLogoutUrl(uri: string, state: string | undefined): string {
  if (state === undefined) return uri;
  const url = new URL(uri);
  url.searchParams.append('state', state);
  return url.toString();
}

/** What the endpoint does with a checked request. */
export type LogoutDecision =
  /** End the session now; then go to `redirect` (a registered URI, with state) or show "logged out". */
  | { kind: 'end'; redirect?: string }
  /**
   * Ask the person first. `redirect` is where to go after they confirm (only with a valid hint
   * and a registered URI); `unregisteredUri` when a post_logout_redirect_uri was sent that we
   * will not send them to.
   */
  | { kind: 'confirm'; redirect?: { clientId: string; uri: string }; unregisteredUri: boolean };

/**
 * Decides a checked end-session request (RP-Initiated Logout 1.0 §2, §3):
 * - post-logout redirection only with a valid hint and a URI registered for its client, by exact
 *   string match;
 * - a valid hint that names the current session (same `sub`, and same `sid` when it has one),
 *   or any valid hint when there is no session left (a repeated logout), ends it without asking;
 * - everything else asks the person, and never redirects to an unregistered URI.
 * @param session the browser's current session, or null.
 */
export function decideLogout(input: {
  hint?: VerifiedHint;
  hintClient?: Client;
  postLogoutRedirectUri?: string;
  state?: string;
  session: { sub: string; sid: string } | null;
}): LogoutDecision {
  const { hint, hintClient, postLogoutRedirectUri: uri, session } = input;
  const registered = !!(hint && hintClient && uri && hintClient.postLogoutRedirectUris.includes(uri));
  const unregisteredUri = uri !== undefined && !registered;
  const names = hint && (!session || (session.sub === hint.sub && (hint.sid === undefined || hint.sid === session.sid)));
  if (names && !unregisteredUri) return registered ? { kind: 'end', redirect: postLogoutUrl(uri!, input.state) } : { kind: 'end' };
  return registered ? { kind: 'confirm', redirect: { clientId: hint!.clientId, uri: uri! }, unregisteredUri } : { kind: 'confirm', unregisteredUri };
}
