/**
 * Refresh token grants and their tokens in D1 (migrations/0003_refresh_tokens.sql). Tokens are
 * stored as SHA-256 hex only. A grant ("family") is what one approval with `offline_access`
 * allowed; every rotation adds one token row, so any token of the family that was already used
 * is still recognised when it comes back (RFC 9700 §4.14.2). Times are epoch milliseconds,
 * `authTime` epoch seconds.
 */

/** What a grant keeps of the approval that started it (for refreshed ID tokens and UserInfo). */
export interface RefreshGrant {
  grantId: string;
  clientId: string;
  sub: string;
  /** The mobile key that approved; checked in D1 on every use. */
  deviceId: string;
  /** Granted scopes, space separated (includes `offline_access`). */
  scope: string;
  /** Claim names the `claims` parameter asked for (OIDC Core §5.5). */
  claims: { id_token: string[]; userinfo: string[] };
  nonce: string | null;
  /** Epoch seconds. */
  authTime: number;
  acr: string;
  amr: string[];
  sid: string | null;
  /** The LoginSession whose code started the grant (it holds the first access token). */
  loginId: string;
  createdAt: number;
  /** The grant's absolute end; rotation never extends it. */
  expiresAt: number;
  revokedAt: number | null;
}

/** One refresh token of a grant, as found by its hash. */
export interface RefreshTokenRow {
  tokenHash: string;
  grantId: string;
  createdAt: number;
  /** Set when exchanged: presenting it again is reuse. */
  usedAt: number | null;
}

/** An access token issued by a refresh, as found by its hash, with its grant. */
export interface RefreshedAccessToken {
  grant: RefreshGrant;
  /** The access token's scopes (a subset of the grant's). */
  scope: string;
  expiresAt: number;
  revokedAt: number | null;
}

/** Why a grant was revoked (`refresh_grants.revoked_reason`). */
export type RevokedReason = 'reuse' | 'revoked' | 'device-revoked';

interface GrantRow {
  grant_id: string;
  client_id: string;
  sub: string;
  device_id: string;
  scope: string;
  claims: string;
  nonce: string | null;
  auth_time: number;
  acr: string;
  amr: string;
  sid: string | null;
  login_id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const GRANT_COLUMNS = 'g.grant_id, g.client_id, g.sub, g.device_id, g.scope, g.claims, g.nonce, g.auth_time, g.acr, g.amr, g.sid, g.login_id, g.created_at, g.expires_at, g.revoked_at';

/** Expired grants removed per new grant (bounded, so one insert never does unbounded work). */
const PRUNE_BATCH = 50;

/**
 * Starts a grant with its first refresh token. The access token issued with it (by the code's
 * redemption) stays in its LoginSession; its hash is kept so revoking the grant can end it too.
 * Also deletes up to {@link PRUNE_BATCH} grants that have expired, with their tokens.
 * @param input.tokenHash SHA-256 hex of the new refresh token.
 * @param input.accessTokenHash SHA-256 hex of the access token the code's redemption issued.
 */
export async function insertGrant(
  db: D1Database,
  grant: Omit<RefreshGrant, 'revokedAt'>,
  input: { tokenHash: string; accessTokenHash: string; accessScope: string; accessExpiresAt: number },
): Promise<void> {
  const expired = `SELECT grant_id FROM refresh_grants WHERE expires_at <= ?1 LIMIT ${PRUNE_BATCH}`;
  await db.batch([
    db.prepare(`DELETE FROM refresh_tokens WHERE grant_id IN (${expired})`).bind(grant.createdAt),
    db.prepare(`DELETE FROM refresh_grants WHERE grant_id IN (${expired})`).bind(grant.createdAt),
    db
      .prepare(
        `INSERT INTO refresh_grants (grant_id, client_id, sub, device_id, scope, claims, nonce, auth_time, acr, amr, sid, login_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)`,
      )
      .bind(
        grant.grantId,
        grant.clientId,
        grant.sub,
        grant.deviceId,
        grant.scope,
        JSON.stringify(grant.claims),
        grant.nonce,
        grant.authTime,
        grant.acr,
        JSON.stringify(grant.amr),
        grant.sid,
        grant.loginId,
        grant.createdAt,
        grant.expiresAt,
      ),
    db
      .prepare(
        'INSERT INTO refresh_tokens (token_hash, grant_id, created_at, access_token_hash, access_scope, access_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)',
      )
      .bind(input.tokenHash, grant.grantId, grant.createdAt, input.accessTokenHash, input.accessScope, input.accessExpiresAt),
  ]);
}

/** The refresh token with this hash and its grant, or null when unknown. */
export async function findRefreshToken(db: D1Database, tokenHash: string): Promise<{ token: RefreshTokenRow; grant: RefreshGrant } | null> {
  const row = await db
    .prepare(
      `SELECT t.token_hash, t.created_at AS token_created_at, t.used_at, ${GRANT_COLUMNS}
       FROM refresh_tokens t JOIN refresh_grants g ON g.grant_id = t.grant_id WHERE t.token_hash = ?1`,
    )
    .bind(tokenHash)
    .first<GrantRow & { token_hash: string; token_created_at: number; used_at: number | null }>();
  if (!row) return null;
  return {
    token: { tokenHash: row.token_hash, grantId: row.grant_id, createdAt: row.token_created_at, usedAt: row.used_at },
    grant: grantFromRow(row),
  };
}

/** The access token a refresh issued with this hash and its grant, or null when unknown. */
export async function findRefreshedAccessToken(db: D1Database, accessTokenHash: string): Promise<RefreshedAccessToken | null> {
  const row = await db
    .prepare(
      `SELECT t.access_scope, t.access_expires_at, t.access_revoked_at, ${GRANT_COLUMNS}
       FROM refresh_tokens t JOIN refresh_grants g ON g.grant_id = t.grant_id WHERE t.access_token_hash = ?1`,
    )
    .bind(accessTokenHash)
    .first<GrantRow & { access_scope: string | null; access_expires_at: number | null; access_revoked_at: number | null }>();
  if (!row || row.access_scope === null || row.access_expires_at === null) return null;
  return { grant: grantFromRow(row), scope: row.access_scope, expiresAt: row.access_expires_at, revokedAt: row.access_revoked_at };
}

/**
 * Rotates: marks the presented token used and stores its successor with the access token issued
 * alongside, in one D1 transaction. Only one of two racing exchanges of the same token wins: the
 * successor is written only if this call marked the token used (and the grant was not revoked).
 * @returns false when the token was already used or the grant revoked meanwhile (the caller
 *   treats that as reuse).
 */
export async function rotateRefreshToken(
  db: D1Database,
  input: { usedHash: string; grantId: string; newHash: string; accessTokenHash: string; accessScope: string; accessExpiresAt: number; now: number },
): Promise<boolean> {
  const [used] = await db.batch([
    db
      .prepare(
        `UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL
         AND grant_id IN (SELECT grant_id FROM refresh_grants WHERE revoked_at IS NULL)`,
      )
      .bind(input.usedHash, input.now),
    // changes() is the row count of the UPDATE just before, in the same transaction.
    db
      .prepare(
        `INSERT INTO refresh_tokens (token_hash, grant_id, created_at, access_token_hash, access_scope, access_expires_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE changes() = 1`,
      )
      .bind(input.newHash, input.grantId, input.now, input.accessTokenHash, input.accessScope, input.accessExpiresAt),
  ]);
  return (used?.meta.changes ?? 0) === 1;
}

/**
 * Revokes a grant (idempotent: the first revocation's time and reason stay).
 * @returns the hash of the first access token (issued by the code's redemption, held by the
 *   LoginSession `loginId`) so the caller can end it too; null when the grant is unknown.
 */
export async function revokeGrant(
  db: D1Database,
  grantId: string,
  reason: RevokedReason,
  now: number,
): Promise<{ loginId: string; clientId: string; firstAccessTokenHash: string | null } | null> {
  const [, first] = await db.batch<{ login_id: string; client_id: string; access_token_hash: string | null }>([
    db.prepare('UPDATE refresh_grants SET revoked_at = ?2, revoked_reason = ?3 WHERE grant_id = ?1 AND revoked_at IS NULL').bind(grantId, now, reason),
    db
      .prepare(
        `SELECT g.login_id, g.client_id, t.access_token_hash FROM refresh_grants g
         LEFT JOIN refresh_tokens t ON t.grant_id = g.grant_id AND t.created_at = g.created_at
         WHERE g.grant_id = ?1 ORDER BY t.rowid LIMIT 1`,
      )
      .bind(grantId),
  ]);
  const row = first?.results[0];
  return row ? { loginId: row.login_id, clientId: row.client_id, firstAccessTokenHash: row.access_token_hash } : null;
}

/**
 * Revokes one access token issued by a refresh, if it was issued to `clientId` (RFC 7009 §2.1).
 * @returns whether a row changed.
 */
export async function revokeRefreshedAccessToken(db: D1Database, accessTokenHash: string, clientId: string, now: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE refresh_tokens SET access_revoked_at = ?2 WHERE access_token_hash = ?1 AND access_revoked_at IS NULL
       AND grant_id IN (SELECT grant_id FROM refresh_grants WHERE client_id = ?3)`,
    )
    .bind(accessTokenHash, now, clientId)
    .run();
  return result.meta.changes === 1;
}

function grantFromRow(row: GrantRow): RefreshGrant {
  const claims = JSON.parse(row.claims) as Partial<RefreshGrant['claims']>;
  return {
    grantId: row.grant_id,
    clientId: row.client_id,
    sub: row.sub,
    deviceId: row.device_id,
    scope: row.scope,
    claims: { id_token: claims.id_token ?? [], userinfo: claims.userinfo ?? [] },
    nonce: row.nonce,
    authTime: row.auth_time,
    acr: row.acr,
    amr: JSON.parse(row.amr) as string[],
    sid: row.sid,
    loginId: row.login_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
