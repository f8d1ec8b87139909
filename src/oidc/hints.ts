/**
 * The identity hints of an authorization request (OIDC Core §3.1.2.1): `id_token_hint`, an ID
 * token we issued, verified with `jose` against our own keys; `login_hint`, a `sub` or e-mail.
 * A `sub` in either is the one the client sees; a pairwise one maps back to its identity
 * (src/oidc/subject.ts).
 */
import { createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { findIdentitiesByEmail, getIdentity } from '../identity/identities.ts';
import { getClient } from './clients.ts';
import { localSubject, type SubjectClient } from './subject.ts';
import { DESCRIPTIONS } from './descriptions.ts';
import { OAuthError } from './errors.ts';
import { publicJwks } from './keys.ts';

/** Longest accepted `id_token_hint`, in characters (our ID tokens are about 1 KB). */
export const MAX_ID_TOKEN_HINT_LENGTH = 8192;

/**
 * Verifies an `id_token_hint`: our signature (RS256/ES256, a key in our JWKS), `iss` ours, and
 * an `aud` naming one of our registered clients. An expired hint is accepted (OIDC Core says
 * the OP need not care, and a hint is often sent after the token expired).
 * @returns the identity's `sub`: the hint's own, or for a pairwise audience the identity its
 *   pairwise `sub` was issued for.
 * @throws {OAuthError} `invalid_request` for anything else (the reason is logged, not shown).
 */
export async function verifyIdTokenHint(env: Env, hint: string): Promise<string> {
  const refuse = (why: string) => {
    console.warn(`id_token_hint refused: ${why}`);
    return new OAuthError('invalid_request', DESCRIPTIONS.idTokenHintInvalid);
  };
  if (hint.length > MAX_ID_TOKEN_HINT_LENGTH) throw refuse('too long');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(hint, createLocalJWKSet(publicJwks(env)), {
      issuer: env.ISSUER,
      algorithms: ['RS256', 'ES256'],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired && error.payload.iss === env.ISSUER) payload = error.payload;
    else throw refuse(error instanceof Error ? error.name : 'unverifiable');
  }
  if (typeof payload.sub !== 'string' || !payload.sub) throw refuse('no sub');
  const audiences = (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).filter((a): a is string => typeof a === 'string');
  const known = await Promise.all(audiences.slice(0, 5).map((aud) => getClient(env.DB, aud)));
  const audience = known.find((client) => client !== null);
  if (!audience) throw refuse('aud is none of our clients');
  const sub = await localSubject(env.DB, audience, payload.sub);
  if (sub === undefined) throw refuse('pairwise sub never issued');
  return sub;
}

/**
 * The identity a `login_hint` names: a `sub` as this client sees it (a pairwise client's own, not
 * the identity's), or the e-mail of exactly one identity.
 * @returns the identity's `sub`, or undefined when the hint names no one we know (a hint, not a
 *   demand: the login then goes on as if none was sent).
 */
export async function resolveLoginHint(db: D1Database, hint: string | undefined, client: SubjectClient): Promise<string | undefined> {
  if (!hint) return undefined;
  if (hint.includes('@')) {
    const found = await findIdentitiesByEmail(db, hint);
    return found.length === 1 ? found[0]!.sub : undefined;
  }
  const sub = await localSubject(db, client, hint);
  return sub === undefined ? undefined : (await getIdentity(db, sub))?.sub;
}
