/**
 * Every `error_description` this provider can send (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3):
 * one fixed, generic sentence per cause, never built from request input. {@link OAuthError}
 * accepts only these values, so a description that echoes a parameter does not type-check.
 * Pure data: the session area imports it too (the code and token checks name their refusal).
 */

/** The descriptions, by cause. Only characters of {@link DESCRIPTION_CHARS}. */
export const DESCRIPTIONS = {
  // authorization endpoint, rendered locally
  clientIdMissing: 'client_id is missing',
  clientIdRepeated: 'client_id is repeated',
  clientUnknown: 'This service is not registered.',
  redirectUriMissing: 'redirect_uri is missing',
  redirectUriRepeated: 'redirect_uri is repeated',
  redirectUriUnregistered: 'redirect_uri is not registered for this service',
  // authorization endpoint, redirected
  parameterRepeated: 'a parameter is repeated',
  parameterTooLong: 'a parameter is longer than allowed',
  requestObject: 'request objects are not supported',
  requestUri: 'request_uri is not supported',
  responseTypeMissing: 'response_type is missing',
  responseTypeUnsupported: 'only response_type=code is supported',
  responseModeUnsupported: 'the response_mode is not supported',
  scopeWithoutOpenid: 'scope must include openid',
  pkceMethodAlone: 'code_challenge_method without code_challenge',
  pkceRequired: 'PKCE (code_challenge with S256) is required for public clients',
  pkceMethod: 'code_challenge_method must be S256',
  pkceChallenge: 'code_challenge is not a valid S256 challenge',
  promptUnsupported: 'unsupported prompt value',
  promptNoneCombined: 'prompt=none cannot be combined with other values',
  promptNoneSelectAccount: 'an account can only be selected with a user interface, which prompt=none forbids',
  selectAccountExpired: 'the account choice has expired or did not come from this browser; start the login again from the service',
  loginRequired: 'the person must log in with the mobile key',
  idTokenHintInvalid: 'id_token_hint is not a valid ID token issued by this provider',
  // end_session endpoint, rendered locally
  logoutParameterRepeated: 'a logout parameter is repeated',
  logoutParameterTooLong: 'a logout parameter is longer than allowed',
  logoutHintInvalid: 'id_token_hint is not an ID token issued by this provider',
  logoutHintClientUnknown: 'id_token_hint was issued to a service that is not registered',
  logoutClientMismatch: 'client_id does not match the id_token_hint',
  logoutConfirmationExpired: 'the logout confirmation expired or did not come from this browser; start again',
  maxAgeInvalid: 'max_age must be a non-negative integer',
  displayUnsupported: 'unsupported display value',
  claimsInvalid: 'the claims parameter is not valid',
  acrUnmet: 'the requested authentication level cannot be met',
  denied: 'the person declined the login',
  consentRequired: 'the person has not consented to release these claims to this service',
  consentDeclined: 'the person did not consent to release these claims',
  consentFormInvalid: 'the consent form expired or did not come from this browser; start again',
  cancelled: 'the person cancelled the login',
  timedOut: 'the login timed out before the person answered',
  // form bodies (authorization, token, UserInfo)
  formContentType: 'send the parameters as application/x-www-form-urlencoded',
  formTooLarge: 'the body is too large',
  formNotUtf8: 'the body is not valid UTF-8',
  // token endpoint
  usePost: 'use POST',
  clientAuthFailed: 'client authentication failed',
  clientAuthMixed: 'use only one client authentication method',
  clientIdMismatch: 'client_id does not match the authenticated client',
  grantTypeMissing: 'grant_type is missing',
  grantTypeUnsupported: 'only authorization_code and refresh_token are supported',
  refreshNotAllowed: 'this client is not allowed the refresh_token grant',
  refreshTokenMissing: 'refresh_token is missing',
  refreshTokenInvalid: 'the refresh token is invalid',
  refreshTokenRevoked: 'the refresh token has been revoked',
  refreshTokenExpired: 'the refresh token has expired',
  refreshTokenReused: 'the refresh token was already used; every token of its grant is revoked',
  scopeWidened: 'scope must be a subset of the scope originally granted',
  codeMissing: 'code is missing',
  revokeTokenMissing: 'token is missing',
  codeVerifierMalformed: 'code_verifier is malformed',
  codeInvalid: 'the code is invalid',
  codeUsed: 'the code has already been used',
  codeExpired: 'the code has expired',
  codeRedirectUri: 'redirect_uri does not match the authorization request',
  codeNotRedeemable: 'the login cannot be redeemed',
  verifierUnexpected: 'code_verifier sent for a code issued without code_challenge',
  verifierRequired: 'code_verifier is required for this code',
  verifierMismatch: 'code_verifier does not match code_challenge',
  // protected resources (UserInfo)
  bearerMalformed: 'the Authorization header is not a Bearer token',
  accessTokenRepeated: 'access_token is repeated',
  accessTokenTwoWays: 'send the access token one way only',
  accessTokenInvalid: 'the access token is invalid',
  accessTokenRevoked: 'the access token has been revoked',
  accessTokenExpired: 'the access token has expired',
  personGone: 'the person behind this access token no longer exists',
  keyRevoked: 'the mobile key that approved this login has been revoked',
} as const;

/** One of the fixed descriptions. */
export type Description = (typeof DESCRIPTIONS)[keyof typeof DESCRIPTIONS];

/**
 * The characters RFC 6749 §4.1.2.1 (and §5.2) allow in `error_description`:
 * `%x20-21 / %x23-5B / %x5D-7E` — printable ASCII without `"` and `\`.
 */
export const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
