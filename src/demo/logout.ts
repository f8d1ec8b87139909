/**
 * The demo relying service's side of logout, as a relying service implements it: the
 * back-channel receiver validates the logout token (Back-Channel Logout 1.0 §2.6) with `jose`
 * against the provider's JWKS, the front-channel receiver checks `iss` (Front-Channel Logout
 * 1.0 §2), and both record the session as logged out in the demo's own table `demo_logouts`.
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';

/** The event member a logout token must carry (Back-Channel Logout 1.0 §2.4). */
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Validates a logout token as Back-Channel Logout 1.0 §2.6 asks: signature by the issuer's JWKS,
 * `iss`, `aud` (our client_id), `iat` recent, `typ` logout+jwt, `events` with the back-channel
 * member, a `sid` (we registered with sessions required), and no `nonce`.
 * @param jwksUri the provider's `jwks_uri` (from discovery).
 * @param fetcher how to reach the provider.
 * @throws {Error} when the token is not valid.
 */
export async function validateLogoutToken(
  token: string,
  input: { issuer: string; clientId: string; jwksUri: string; fetcher: typeof fetch },
): Promise<JWTPayload & { sid: string }> {
  const jwks = createRemoteJWKSet(new URL(input.jwksUri), { [customFetch]: input.fetcher });
  const { payload } = await jwtVerify(token, jwks, {
    issuer: input.issuer,
    audience: input.clientId,
    typ: 'logout+jwt',
    maxTokenAge: '5m',
    requiredClaims: ['iat', 'jti', 'events', 'sid'],
  });
  const events = payload.events as Record<string, unknown> | undefined;
  if (!events || typeof events !== 'object' || typeof events[BACKCHANNEL_EVENT] !== 'object') throw new Error('no back-channel logout event');
  if ('nonce' in payload) throw new Error('a logout token must not carry a nonce');
  if (typeof payload.sid !== 'string') throw new Error('sid must be a string');
  return payload as JWTPayload & { sid: string };
}

/** Records that the provider told this demo client that session `sid` ended (idempotent). */
export async function recordDemoLogout(db: D1Database, input: { clientId: string; sid: string; sub?: string; via: 'backchannel' | 'frontchannel' }) {
  await db
    .prepare('INSERT INTO demo_logouts (client_id, sid, sub, via, at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING')
    .bind(input.clientId, input.sid, input.sub ?? null, input.via, Date.now())
    .run();
}

/**
 * How the demo client learnt that its session ended, or null while it has not.
 * @param session the demo's session: its `sid` (when the ID token had one), `sub`, and login time (epoch ms).
 */
export async function demoLogoutOf(
  db: D1Database,
  clientId: string,
  session: { sid?: string | undefined; sub: string; loggedInAt: number },
): Promise<{ via: string; at: number }[]> {
  const rows = await db
    .prepare(
      'SELECT via, at FROM demo_logouts WHERE client_id = ?1 AND (sid = ?2 OR (?2 IS NULL AND sub = ?3 AND at >= ?4)) ORDER BY at',
    )
    .bind(clientId, session.sid ?? null, session.sub, session.loggedInAt)
    .all<{ via: string; at: number }>();
  return rows.results;
}
