/**
 * OAuth 2.0 / OpenID Connect errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).
 * One error class with a code union; where an error goes (rendered locally, redirected to the
 * client, or returned as JSON) is decided by the endpoint, and "never redirect" is carried by
 * {@link OAuthError.local}.
 */

import type { Description } from './descriptions.ts';

/** Every `error` value this provider returns. */
export type OAuthErrorCode =
  // authorization endpoint, shown locally (the client or redirect_uri cannot be trusted)
  | 'invalid_client'
  | 'invalid_redirect_uri'
  // authorization endpoint, redirected (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)
  | 'invalid_request'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'login_required'
  | 'account_selection_required'
  | 'consent_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'unmet_authentication_requirements' // OpenID Connect Unmet Authentication Requirements 1.0
  // token endpoint (RFC 6749 §5.2)
  | 'invalid_grant'
  | 'unauthorized_client' // reserved: every registered client may use the authorization_code grant
  | 'unsupported_grant_type'
  // protected resources (RFC 6750 §3.1)
  | 'invalid_token';

/**
 * An OAuth error. `description` is public, generic and fixed per cause: one of
 * {@link Description} (src/oidc/descriptions.ts), never an internal message or request input.
 */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly description: Description;
  readonly status: number;
  readonly headers: Record<string, string>;
  /** True when the error must be rendered to the person and never sent to the redirect_uri. */
  readonly local: boolean;

  constructor(
    code: OAuthErrorCode,
    description: Description,
    options: { status?: number; headers?: Record<string, string>; local?: boolean } = {},
  ) {
    super(`${code}: ${description}`);
    this.name = 'OAuthError'; // literally: the bundler may rename the class (wrangler.toml keep_names)
    this.code = code;
    this.description = description;
    this.status = options.status ?? 400;
    this.headers = options.headers ?? {};
    this.local = options.local ?? false;
  }
}

/** Headers on every OAuth JSON response: never cached (RFC 6749 §5.1). */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

/** The `{error, error_description}` JSON response for an error (RFC 6749 §5.2), with no-store. */
export function oauthErrorResponse(error: OAuthError): Response {
  return new Response(JSON.stringify({ error: error.code, error_description: error.description }), {
    status: error.status,
    headers: { 'Content-Type': 'application/json', ...NO_STORE, ...error.headers },
  });
}

/**
 * A bearer-token challenge (RFC 6750 §3): without an error code when the request carried no
 * token at all (§3.1), with `error` and `error_description` otherwise.
 */
export function bearerChallenge(realm: string, error?: OAuthError): string {
  const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;
  const parts = [`realm=${quote(realm)}`];
  if (error) parts.push(`error=${quote(error.code)}`, `error_description=${quote(error.description)}`);
  return `Bearer ${parts.join(', ')}`;
}
