/**
 * Authorization request validation (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3) as
 * small ordered steps, one concern each, in the manner of node-oidc-provider's
 * `lib/actions/authorization/`. Pure functions: the client is looked up by the caller.
 *
 * Order matters: the client and the redirect_uri come first and their errors are `local`
 * (rendered, never redirected: an attacker must not turn us into an open redirector); every
 * later error is redirected to the validated redirect_uri (RFC 6749 §4.1.2.1).
 */
import type { Client } from './clients.ts';
import { knownScopes, parseScope } from './claims.ts';
import { OAuthError } from './errors.ts';
import { S256_CHALLENGE } from './pkce.ts';

/** The validated authorization request, as the LoginSession keeps it (opaque to the session). */
export interface AuthorizationRequest {
  client_id: string;
  redirect_uri: string;
  response_type: 'code';
  /** The known scopes granted, space separated; always includes `openid`. */
  scope: string;
  state?: string;
  nonce?: string;
  code_challenge?: string;
  code_challenge_method?: 'S256';
  /** Seconds (OIDC Core §3.1.2.1). */
  max_age?: number;
  acr_values?: string;
  login_hint?: string;
  prompt?: string;
  display?: string;
  ui_locales?: string;
}

/** Longest accepted value of a free-text parameter (state, nonce, login_hint...). */
export const MAX_PARAM_LENGTH = 512;

const DISPLAY_VALUES = new Set(['page', 'popup', 'touch', 'wap']);
const PROMPT_VALUES = new Set(['none', 'login', 'consent', 'select_account']);
const FREE_TEXT = ['state', 'nonce', 'login_hint', 'acr_values', 'ui_locales', 'display', 'prompt'] as const;

/** The authorization request's parameters: the query of a GET or the form of a POST. */
export type Params = URLSearchParams;

/** The single value of a parameter ('' counts as absent). @throws {OAuthError} when it is repeated. */
function one(params: Params, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) {
    // A repeated client_id or redirect_uri cannot be trusted to redirect to.
    if (name === 'client_id') throw new OAuthError('invalid_client', 'client_id is repeated', { local: true });
    if (name === 'redirect_uri') throw new OAuthError('invalid_redirect_uri', 'redirect_uri is repeated', { local: true });
    throw new OAuthError('invalid_request', `${name} is repeated`);
  }
  return values[0] === '' ? undefined : values[0];
}

/** Step 1: a client_id is present (the caller then looks the client up). */
export function checkClientId(params: Params): string {
  const clientId = one(params, 'client_id');
  if (!clientId) throw new OAuthError('invalid_client', 'client_id is missing', { local: true });
  return clientId;
}

/** Step 2: the client is registered. */
export function checkClient(client: Client | null): Client {
  if (!client) throw new OAuthError('invalid_client', 'This service is not registered.', { local: true });
  return client;
}

/** Step 3: redirect_uri is present and one of the client's, by exact string match (RFC 9700 §4.1.3). */
export function checkRedirectUri(params: Params, client: Client): string {
  const redirectUri = one(params, 'redirect_uri');
  if (!redirectUri) throw new OAuthError('invalid_redirect_uri', 'redirect_uri is missing', { local: true });
  if (!client.redirectUris.includes(redirectUri)) {
    throw new OAuthError('invalid_redirect_uri', 'redirect_uri is not registered for this service', { local: true });
  }
  return redirectUri;
}

/** Request objects are not supported (OIDC Core §6). */
export function checkRequestObject(params: Params): void {
  if (params.has('request')) throw new OAuthError('request_not_supported', 'request objects are not supported');
  if (params.has('request_uri')) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported');
}

/** No parameter may appear twice (RFC 6749 §3.1). */
export function checkNoRepeats(params: Params): void {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw new OAuthError('invalid_request', `${name} is repeated`);
    seen.add(name);
  }
}

/** response_type is `code` (the only flow offered) and response_mode, if sent, is `query`. */
export function checkResponseType(params: Params): 'code' {
  const type = one(params, 'response_type');
  if (!type) throw new OAuthError('invalid_request', 'response_type is missing');
  if (type !== 'code') throw new OAuthError('unsupported_response_type', 'only response_type=code is supported');
  const mode = one(params, 'response_mode');
  if (mode !== undefined && mode !== 'query') throw new OAuthError('invalid_request', 'only response_mode=query is supported');
  return type;
}

/** scope includes `openid` (OIDC Core §3.1.2.1); unknown scopes are ignored. @returns the known scopes. */
export function checkScope(params: Params): string {
  const requested = parseScope(one(params, 'scope'));
  if (!requested.includes('openid')) throw new OAuthError('invalid_scope', 'scope must include openid');
  return knownScopes(requested).join(' ');
}

/** PKCE: S256 only; required for public clients (RFC 7636 §4.3, RFC 9700 §2.1.1). */
export function checkPkce(params: Params, client: Client): { code_challenge?: string; code_challenge_method?: 'S256' } {
  const challenge = one(params, 'code_challenge');
  const method = one(params, 'code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined) throw new OAuthError('invalid_request', 'code_challenge_method without code_challenge');
    if (client.public) throw new OAuthError('invalid_request', 'PKCE (code_challenge with S256) is required for public clients');
    return {};
  }
  // An absent method means `plain` (RFC 7636 §4.3), which is not offered.
  if (method !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256');
  if (!S256_CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', 'code_challenge is not a valid S256 challenge');
  return { code_challenge: challenge, code_challenge_method: 'S256' };
}

/**
 * prompt (OIDC Core §3.1.2.1): known values only, and `none` alone. Whether the browser session
 * satisfies it is decided later (`decideSso` in sso.ts): `none` answers silently or with
 * `login_required`; `login`, `consent` and `select_account` always ask the phone.
 */
export function checkPrompt(params: Params): string | undefined {
  const prompt = one(params, 'prompt');
  if (prompt === undefined) return undefined;
  const values = prompt.split(' ').filter(Boolean);
  if (values.some((value) => !PROMPT_VALUES.has(value))) throw new OAuthError('invalid_request', 'unsupported prompt value');
  if (values.includes('none') && values.length > 1) {
    throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other values');
  }
  return values.join(' ');
}

/** max_age is a non-negative integer number of seconds (OIDC Core §3.1.2.1). */
export function checkMaxAge(params: Params): number | undefined {
  const value = one(params, 'max_age');
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) throw new OAuthError('invalid_request', 'max_age must be a non-negative integer');
  return Number(value);
}

/** display is one of OIDC Core §3.1.2.1's values; free-text parameters have a sane length. */
export function checkDisplayAndLengths(params: Params): void {
  for (const name of FREE_TEXT) {
    const value = one(params, name);
    if (value !== undefined && value.length > MAX_PARAM_LENGTH) {
      throw new OAuthError('invalid_request', `${name} is longer than ${MAX_PARAM_LENGTH} characters`);
    }
  }
  const display = one(params, 'display');
  if (display !== undefined && !DISPLAY_VALUES.has(display)) throw new OAuthError('invalid_request', 'unsupported display value');
}

/**
 * Runs the redirectable steps in order, after the client and redirect_uri are known good.
 * @throws {OAuthError} the first failing step's error (not `local`).
 */
export function validateAuthorization(params: Params, client: Client, redirectUri: string): AuthorizationRequest {
  checkNoRepeats(params);
  checkRequestObject(params);
  const responseType = checkResponseType(params);
  const scope = checkScope(params);
  const pkce = checkPkce(params, client);
  const prompt = checkPrompt(params);
  const maxAge = checkMaxAge(params);
  checkDisplayAndLengths(params);
  const request: AuthorizationRequest = { client_id: client.clientId, redirect_uri: redirectUri, response_type: responseType, scope, ...pkce };
  const optional = { state: one(params, 'state'), nonce: one(params, 'nonce'), acr_values: one(params, 'acr_values'),
    login_hint: one(params, 'login_hint'), display: one(params, 'display'), ui_locales: one(params, 'ui_locales'), prompt };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) (request as unknown as Record<string, unknown>)[name] = value;
  if (maxAge !== undefined) request.max_age = maxAge;
  return request;
}

/**
 * The page language: the first of `ui_locales` (OIDC Core §3.1.2.1) we offer, then the first
 * Accept-Language we offer, else Czech.
 * @returns `cs` or `en`.
 */
export function pickLocale(uiLocales: string | undefined, acceptLanguage: string | null | undefined): 'cs' | 'en' {
  const offered = (tag: string) => {
    const base = tag.trim().toLowerCase().split(/[-_;]/)[0];
    return base === 'cs' || base === 'en' ? base : undefined;
  };
  for (const tag of (uiLocales ?? '').split(' ')) {
    const hit = offered(tag);
    if (hit) return hit;
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...rest] = part.split(';');
      const q = rest.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag, q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    const hit = offered(tag);
    if (hit) return hit;
  }
  return 'cs';
}

/**
 * The URL the browser is sent back to: redirect_uri with the response parameters added to its
 * query (RFC 6749 §4.1.2), always with `iss` (RFC 9207 §2).
 */
export function redirectTo(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}
