/**
 * Token revocation (`POST /revoke`, RFC 7009) for refresh and access tokens, client-authenticated
 * like the token endpoint. Each kind of token has its own shape, so the token itself says where it
 * is kept and `token_type_hint` is not needed to find it (§2.1 lets the server look beyond the
 * hint; an unknown hint value or token is no error, §2.2). Revoking a refresh token ends its whole
 * grant and the grant's access tokens (src/oidc/refresh.ts).
 */
import { Hono } from 'hono';
import { loginStub } from '../session/stub.ts';
import { loginIdOf } from '../session/tokens.ts';
import { DESCRIPTIONS as D } from './descriptions.ts';
import { NO_STORE, OAuthError, oauthErrorResponse } from './errors.ts';
import { revokeRefreshTokenOrAccess } from './refresh.ts';
import { readClientRequest } from './token.ts';


/** `POST /revoke`: 200 with an empty body for any well-formed request by an authenticated client. */
export const revocationRoutes = new Hono<{ Bindings: Env }>();

revocationRoutes.all('/revoke', async (c) => {
  try {
    const { params, client } = await readClientRequest(c.req.raw, c.env);
    const token = params.get('token');
    if (!token) throw new OAuthError('invalid_request', D.revokeTokenMissing);
    // A refresh token, or an access token a refresh issued (D1); else one a LoginSession holds.
    const loginId = (await revokeRefreshTokenOrAccess(c.env, token, client.clientId)) ? null : loginIdOf(token);
    if (loginId) {
      try {
        await loginStub(c.env, loginId).revokeAccessToken(token, client.clientId);
      } catch {
        // an id that names no object of ours: nothing to revoke (RFC 7009 §2.2)
      }
    }
    return new Response(null, { status: 200, headers: NO_STORE });
  } catch (error) {
    if (error instanceof OAuthError) return oauthErrorResponse(error);
    throw error;
  }
});
