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
import { checkAcrRequest, parseClaimsRequest, type ClaimsRequest } from './claims-request.ts';
import { OAuthError } from './errors.ts';
import { S256_CHALLENGE } from './pkce.ts';
import { grantableScope } from './refresh-rules.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';

/** The validated authorization request, as the LoginSession keeps it (opaque to the session). */
export interface AuthorizationRequest {
  client_id: string;
  redirect_uri: string;
  response_type: 'code';
  /** Absent means `query` (the default for `code`, OAuth 2.0 Multiple Response Types §5). */
  response_mode?: 'form_post';
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
  /** The parsed `claims` parameter (OIDC Core §5.5). */
  claims?: ClaimsRequest;
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
    if (name === 'client_id') throw new OAuthError('invalid_client', D.clientIdRepeated, { local: true });
    if (name === 'redirect_uri') throw new OAuthError('invalid_redirect_uri', D.redirectUriRepeated, { local: true });
    throw new OAuthError('invalid_request', D.parameterRepeated);
  }
  return values[0] === '' ? undefined : values[0];
}

/** Step 1: a client_id is present (the caller then looks the client up). */
export function checkClientId(params: Params): string {
  const clientId = one(params, 'client_id');
  if (!clientId) throw new OAuthError('invalid_client', D.clientIdMissing, { local: true });
  return clientId;
}

/** Step 2: the client is registered. */
export function checkClient(client: Client | null): Client {
  if (!client) throw new OAuthError('invalid_client', D.clientUnknown, { local: true });
  return client;
}

/** Step 3: redirect_uri is present and one of the client's, by exact string match (RFC 9700 §4.1.3). */
export function checkRedirectUri(params: Params, client: Client): string {
  const redirectUri = one(params, 'redirect_uri');
  if (!redirectUri) throw new OAuthError('invalid_redirect_uri', D.redirectUriMissing, { local: true });
  if (!client.redirectUris.includes(redirectUri)) {
    throw new OAuthError('invalid_redirect_uri', D.redirectUriUnregistered, { local: true });
  }
  return redirectUri;
}

/** Request objects are not supported (OIDC Core §6). */
export function checkRequestObject(params: Params): void {
  if (params.has('request')) throw new OAuthError('request_not_supported', D.requestObject);
  if (params.has('request_uri')) throw new OAuthError('request_uri_not_supported', D.requestUri);
}

/** No parameter may appear twice (RFC 6749 §3.1). */
export function checkNoRepeats(params: Params): void {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw new OAuthError('invalid_request', D.parameterRepeated);
    seen.add(name);
  }
}

/**
 * The response mode the errors and the code are sent with, read before anything else is checked
 * so even the first error goes back the way the client asked: `form_post` (OAuth 2.0 Form Post
 * Response Mode) when it is the one value sent, else `query`.
 */
export function responseModeOf(params: Params): 'query' | 'form_post' {
  const modes = params.getAll('response_mode');
  return modes.length === 1 && modes[0] === 'form_post' ? 'form_post' : 'query';
}

/** response_type is `code` (the only flow offered) and response_mode, if sent, is `query` or `form_post`. */
export function checkResponseType(params: Params): 'code' {
  const type = one(params, 'response_type');
  if (!type) throw new OAuthError('invalid_request', D.responseTypeMissing);
  if (type !== 'code') throw new OAuthError('unsupported_response_type', D.responseTypeUnsupported);
  const mode = one(params, 'response_mode');
  if (mode !== undefined && mode !== 'query' && mode !== 'form_post') throw new OAuthError('invalid_request', D.responseModeUnsupported);
  return type;
}

/** scope includes `openid` (OIDC Core §3.1.2.1); unknown scopes are ignored. @returns the known scopes. */
export function checkScope(params: Params): string {
  const requested = parseScope(one(params, 'scope'));
  if (!requested.includes('openid')) throw new OAuthError('invalid_scope', D.scopeWithoutOpenid);
  return knownScopes(requested).join(' ');
}

/** PKCE: S256 only; required for public clients (RFC 7636 §4.3, RFC 9700 §2.1.1). */
export function checkPkce(params: Params, client: Client): { code_challenge?: string; code_challenge_method?: 'S256' } {
  const challenge = one(params, 'code_challenge');
  const method = one(params, 'code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined) throw new OAuthError('invalid_request', D.pkceMethodAlone);
    if (client.public) throw new OAuthError('invalid_request', D.pkceRequired);
    return {};
  }
  // An absent method means `plain` (RFC 7636 §4.3), which is not offered.
  if (method !== 'S256') throw new OAuthError('invalid_request', D.pkceMethod);
  if (!S256_CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', D.pkceChallenge);
  return { code_challenge: challenge, code_challenge_method: 'S256' };
}

/**
 * prompt (OIDC Core §3.1.2.1): known values only, and `none` alone. Whether the browser session
 * satisfies it is decided later (`decideSso` in sso.ts): `none` answers silently or with
 * `login_required`; `login` and `consent` always ask the phone; `select_account` lets the
 * person choose (src/oidc/select-account.tsx).
 * @throws {OAuthError} `invalid_request` for unknown values or `none` with another value, except
 *   `none select_account`: `account_selection_required` (OIDC Core §3.1.2.6).
 */
export function checkPrompt(params: Params): string | undefined {
  const prompt = one(params, 'prompt');
  if (prompt === undefined) return undefined;
  const values = prompt.split(' ').filter(Boolean);
  if (values.some((value) => !PROMPT_VALUES.has(value))) throw new OAuthError('invalid_request', D.promptUnsupported);
  if (values.includes('none') && values.length > 1) {
    // "none" with "select_account" asks for a choice without a screen to make it on: OIDC Core
    // §3.1.2.6's account_selection_required says exactly that; other mixes are malformed.
    if (values.includes('select_account')) throw new OAuthError('account_selection_required', D.promptNoneSelectAccount);
    throw new OAuthError('invalid_request', D.promptNoneCombined);
  }
  return values.join(' ');
}

/** max_age is a non-negative integer number of seconds (OIDC Core §3.1.2.1). */
export function checkMaxAge(params: Params): number | undefined {
  const value = one(params, 'max_age');
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) throw new OAuthError('invalid_request', D.maxAgeInvalid);
  return Number(value);
}

/** display is one of OIDC Core §3.1.2.1's values; free-text parameters have a sane length. */
export function checkDisplayAndLengths(params: Params): void {
  for (const name of FREE_TEXT) {
    const value = one(params, name);
    if (value !== undefined && value.length > MAX_PARAM_LENGTH) {
      throw new OAuthError('invalid_request', D.parameterTooLong);
    }
  }
  const display = one(params, 'display');
  if (display !== undefined && !DISPLAY_VALUES.has(display)) throw new OAuthError('invalid_request', D.displayUnsupported);
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
  const claims = parseClaimsRequest(one(params, 'claims'));
  checkAcrRequest(claims);
  // offline_access only with prompt=consent and a client allowed refresh tokens (OIDC Core §11).
  const request: AuthorizationRequest = { client_id: client.clientId, redirect_uri: redirectUri, response_type: responseType, scope: grantableScope(scope, prompt, client), ...pkce };
  if (responseModeOf(params) === 'form_post') request.response_mode = 'form_post';
  const optional = { state: one(params, 'state'), nonce: one(params, 'nonce'), acr_values: one(params, 'acr_values'),
    login_hint: one(params, 'login_hint'), display: one(params, 'display'), ui_locales: one(params, 'ui_locales'), prompt };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) (request as unknown as Record<string, unknown>)[name] = value;
  if (maxAge !== undefined) request.max_age = maxAge;
  if (claims !== undefined) request.claims = claims;
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
