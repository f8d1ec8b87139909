/**
 * Discovery (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS (RFC 7517 §5).
 */
import { Hono } from 'hono';
import { ACR_SUBSTANTIAL, SUPPORTED_SCOPES, claimsForScopes } from './claims.ts';
import { publicJwks, signingAlgs } from './keys.ts';
import { RESPONSE_MODES } from './respond.ts';
import { SUBJECT_TYPES } from './subject.ts';

/** The provider metadata for an issuer (e.g. `http://localhost:8787`). */
export function providerMetadata(env: Env): Record<string, unknown> {
  const issuer = env.ISSUER;
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    revocation_endpoint: `${issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    jwks_uri: `${issuer}/jwks`,
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: [...RESPONSE_MODES],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: [...SUBJECT_TYPES],
    id_token_signing_alg_values_supported: signingAlgs(env),
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'at_hash', ...claimsForScopes(SUPPORTED_SCOPES)],
    acr_values_supported: [ACR_SUBSTANTIAL],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    display_values_supported: ['page', 'popup', 'touch', 'wap'],
    ui_locales_supported: ['cs', 'en'],
    claims_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    // RP-Initiated, Back-Channel and Front-Channel Logout 1.0 (src/oidc/logout.ts, backchannel.ts)
    end_session_endpoint: `${issuer}/logout`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
  };
}

const PUBLIC = { 'Cache-Control': 'public, max-age=300', 'Access-Control-Allow-Origin': '*' };

/** `GET /.well-known/openid-configuration` and `GET /jwks`. */
export const discoveryRoutes = new Hono<{ Bindings: Env }>();

discoveryRoutes.get('/.well-known/openid-configuration', (c) => c.json(providerMetadata(c.env), 200, PUBLIC));
discoveryRoutes.get('/jwks', (c) => c.json(publicJwks(c.env), 200, { ...PUBLIC, 'Content-Type': 'application/jwk-set+json' }));
