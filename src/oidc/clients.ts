/**
 * Registered relying services (OAuth clients) in D1. Client secrets are stored as SHA-256 hex.
 */
import { randomToken, sha256Hex, timingSafeEqual } from '../session/crypto.ts';
import { sectorIdentifierOf, type SubjectType } from './subject.ts';
import { cachedClientRecord, forgetClient } from './client-cache.ts';

export type IdTokenAlg = 'RS256' | 'ES256';

/** The OAuth grant types a client may use (RFC 7591 §2 `grant_types`); `authorization_code` always. */
export type GrantType = 'authorization_code' | 'refresh_token';

/** What a client may use unless registered otherwise. */
export const DEFAULT_GRANT_TYPES: readonly GrantType[] = ['authorization_code'];

export interface Client {
  clientId: string;
  name: string;
  /** Public clients (no secret) must use PKCE (RFC 7636). */
  public: boolean;
  /** Exact redirect URIs (compared by exact string match). */
  redirectUris: string[];
  idTokenAlg: IdTokenAlg;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Where RP-Initiated Logout 1.0 may send the browser afterwards (exact string match, §3.1). */
  postLogoutRedirectUris: string[];
  /** Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed; null when not registered. */
  backchannelLogoutUri: string | null;
  /** Front-Channel Logout 1.0 §2: loaded in an iframe on the logged-out page; null when not registered. */
  frontchannelLogoutUri: string | null;
  /** Grant types allowed at the token endpoint; `refresh_token` makes `offline_access` grantable (OIDC Core §11). */
  grantTypes: GrantType[];
  /** OIDC Core §8: `public` (the identity's own `sub`) or `pairwise` (one per sector). Fixed at registration. */
  subjectType: SubjectType;
  /** A pairwise client's sector identifier (OIDC Core §8.1): its redirect URIs' one host at registration; null when public. */
  sectorIdentifier: string | null;
  /** Logins must pass number matching (`require_number_matching`, src/session/number-match.ts). */
  requireNumberMatching: boolean;
}

/** The logout registration fields of a client (all optional when registering). */
export interface LogoutRegistration {
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  frontchannelLogoutUri?: string | null;
}

interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string | null;
  redirect_uris: string;
  id_token_alg: string;
  created_at: number;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  frontchannel_logout_uri: string | null;
  grant_types: string;
  subject_type: string;
  sector_identifier: string | null;
  require_number_matching: number;
}

const COLUMNS =
  'client_id, name, secret_hash, redirect_uris, id_token_alg, created_at, post_logout_redirect_uris, backchannel_logout_uri, frontchannel_logout_uri, grant_types, subject_type, sector_identifier, require_number_matching';

/** Thrown when a registration or change would break a pairwise client's sector (see {@link sectorIdentifierOf}). */
export class SectorError extends Error {
  readonly code = 'redirect-uris-span-hosts';
  constructor(message: string) {
    super(message);
    this.name = 'SectorError'; // literally: the bundler may rename the class (wrangler.toml keep_names)
  }
}

/**
 * Registers a relying service.
 * @param input.clientId a fixed id (for demo data); a random one when omitted.
 * @param input.subjectType `public` when omitted; a `pairwise` client's redirect URIs must share
 *   one host, its sector identifier (OIDC Core §8.1; no `sector_identifier_uri` is offered).
 * @returns the client and, for a confidential client, its secret (shown once, stored hashed).
 * @throws {SectorError} for a pairwise client whose redirect URIs name several hosts.
 */
export async function registerClient(
  db: D1Database,
  input: {
    name: string;
    redirectUris: string[];
    public?: boolean;
    idTokenAlg?: IdTokenAlg;
    clientId?: string;
    grantTypes?: GrantType[];
    subjectType?: SubjectType;
    requireNumberMatching?: boolean;
  } & LogoutRegistration,
  now = Date.now(),
): Promise<{ client: Client; clientSecret?: string }> {
  const subjectType = input.subjectType ?? 'public';
  const sectorIdentifier = subjectType === 'pairwise' ? sectorIdentifierOf(input.redirectUris) : null;
  if (subjectType === 'pairwise' && !sectorIdentifier) throw new SectorError('the redirect URIs of a pairwise client must share one host');
  const clientId = input.clientId ?? `client_${randomToken(12)}`;
  const clientSecret = input.public ? undefined : randomToken(32);
  const secretHash = clientSecret ? await sha256Hex(clientSecret) : null;
  const idTokenAlg = input.idTokenAlg ?? 'RS256';
  const grantTypes = normalGrantTypes(input.grantTypes);
  await db
    .prepare(
      `INSERT INTO clients (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`,
    )
    .bind(
      clientId,
      input.name,
      secretHash,
      JSON.stringify(input.redirectUris),
      idTokenAlg,
      now,
      JSON.stringify(input.postLogoutRedirectUris ?? []),
      input.backchannelLogoutUri ?? null,
      input.frontchannelLogoutUri ?? null,
      JSON.stringify(grantTypes),
      subjectType,
      sectorIdentifier,
      input.requireNumberMatching ? 1 : 0,
    )
    .run();
  forgetClient(clientId);
  const client: Client = {
    clientId,
    name: input.name,
    public: !clientSecret,
    redirectUris: input.redirectUris,
    idTokenAlg,
    createdAt: now,
    postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
    backchannelLogoutUri: input.backchannelLogoutUri ?? null,
    frontchannelLogoutUri: input.frontchannelLogoutUri ?? null,
    grantTypes,
    subjectType,
    sectorIdentifier,
    requireNumberMatching: input.requireNumberMatching === true,
  };
  return clientSecret ? { client, clientSecret } : { client };
}

/** The client with this id, or null (also when an operator disabled it). Read from D1. */
export async function getClient(db: D1Database, clientId: string): Promise<Client | null> {
  const row = await readRow(db, clientId);
  return row ? fromRow(row) : null;
}

async function readRow(db: D1Database, clientId: string): Promise<ClientRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM clients WHERE client_id = ?1 AND disabled_at IS NULL`).bind(clientId).first<ClientRow>();
}

/**
 * {@link getClient} through the isolate's cache (src/oidc/client-cache.ts: up to 30 s stale in
 * other isolates after an operator's change). For the login path (`/authorize`, `/token`).
 */
export async function getCachedClient(db: D1Database, clientId: string): Promise<Client | null> {
  return (await cachedRow(db, clientId))?.client ?? null;
}

async function cachedRow(db: D1Database, clientId: string): Promise<{ client: Client; secretHash: string | null } | null> {
  return cachedClientRecord(clientId, async () => {
    const row = await readRow(db, clientId);
    return row ? { client: Object.freeze(fromRow(row)), secretHash: row.secret_hash } : null;
  });
}

/**
 * Checks a confidential client's secret (RFC 6749 §2.3.1) against the cached row; on a mismatch
 * the row is read again, so a secret rotated in another isolate works at once.
 * @returns false for a public client, an unknown or disabled client or a wrong secret.
 */
export async function verifyCachedClientSecret(db: D1Database, clientId: string, secret: string): Promise<boolean> {
  const hash = await sha256Hex(secret);
  const cached = await cachedRow(db, clientId);
  if (cached?.secretHash && timingSafeEqual(cached.secretHash, hash)) return true;
  forgetClient(clientId);
  const fresh = await cachedRow(db, clientId);
  return !!fresh?.secretHash && timingSafeEqual(fresh.secretHash, hash);
}

/**
 * Changes a client's name, redirect URIs, ID token alg, grant types, number matching or logout
 * registration; fields left undefined stay as they are, `null` clears a logout URI. The secret,
 * public/confidential and subject type
 * never change here.
 * @returns the updated client, or null when there is no client with this id.
 * @throws {SectorError} when a pairwise client's new redirect URIs leave its sector's host (its
 *   subs would no longer match the URIs it is reached at).
 */
export async function updateClient(
  db: D1Database,
  clientId: string,
  patch: { name?: string; redirectUris?: string[]; idTokenAlg?: IdTokenAlg; grantTypes?: GrantType[]; requireNumberMatching?: boolean } & LogoutRegistration,
): Promise<Client | null> {
  const current = await getClient(db, clientId);
  if (!current) return null;
  if (current.subjectType === 'pairwise' && patch.redirectUris !== undefined && sectorIdentifierOf(patch.redirectUris) !== current.sectorIdentifier) {
    throw new SectorError('the redirect URIs of a pairwise client must stay on its sector host');
  }
  const next: Client = {
    ...current,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.redirectUris !== undefined ? { redirectUris: patch.redirectUris } : {}),
    ...(patch.idTokenAlg !== undefined ? { idTokenAlg: patch.idTokenAlg } : {}),
    ...(patch.postLogoutRedirectUris !== undefined ? { postLogoutRedirectUris: patch.postLogoutRedirectUris } : {}),
    ...(patch.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: patch.backchannelLogoutUri } : {}),
    ...(patch.frontchannelLogoutUri !== undefined ? { frontchannelLogoutUri: patch.frontchannelLogoutUri } : {}),
    ...(patch.grantTypes !== undefined ? { grantTypes: normalGrantTypes(patch.grantTypes) } : {}),
    ...(patch.requireNumberMatching !== undefined ? { requireNumberMatching: patch.requireNumberMatching } : {}),
  };
  await db
    .prepare(
      'UPDATE clients SET name = ?2, redirect_uris = ?3, post_logout_redirect_uris = ?4, backchannel_logout_uri = ?5, frontchannel_logout_uri = ?6, grant_types = ?7, require_number_matching = ?8, id_token_alg = ?9 WHERE client_id = ?1',
    )
    .bind(
      clientId,
      next.name,
      JSON.stringify(next.redirectUris),
      JSON.stringify(next.postLogoutRedirectUris),
      next.backchannelLogoutUri,
      next.frontchannelLogoutUri,
      JSON.stringify(next.grantTypes),
      next.requireNumberMatching ? 1 : 0,
      next.idTokenAlg,
    )
    .run();
  forgetClient(clientId);
  return next;
}

function fromRow(row: ClientRow): Client {
  return {
    clientId: row.client_id,
    name: row.name,
    public: row.secret_hash === null,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    idTokenAlg: row.id_token_alg === 'ES256' ? 'ES256' : 'RS256',
    createdAt: row.created_at,
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    backchannelLogoutUri: row.backchannel_logout_uri,
    frontchannelLogoutUri: row.frontchannel_logout_uri,
    grantTypes: normalGrantTypes(JSON.parse(row.grant_types) as GrantType[]),
    subjectType: row.subject_type === 'pairwise' ? 'pairwise' : 'public',
    sectorIdentifier: row.sector_identifier,
    requireNumberMatching: row.require_number_matching === 1,
  };
}

/**
 * A grant type list as stored: `authorization_code` always (the only way to start a grant here),
 * then `refresh_token` if asked for; anything else dropped. Validation of operator input is the
 * operator API's (src/identity/admin.ts); this only keeps stored rows well-formed.
 */
function normalGrantTypes(types: readonly string[] | undefined): GrantType[] {
  return types?.includes('refresh_token') ? ['authorization_code', 'refresh_token'] : [...DEFAULT_GRANT_TYPES];
}
