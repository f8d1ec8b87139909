/**
 * Registered relying services (OAuth clients) in D1. Client secrets are stored as SHA-256 hex.
 */
import { randomToken, sha256Hex, timingSafeEqual } from '../session/crypto.ts';

export type IdTokenAlg = 'RS256' | 'ES256';

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
}

const COLUMNS =
  'client_id, name, secret_hash, redirect_uris, id_token_alg, created_at, post_logout_redirect_uris, backchannel_logout_uri, frontchannel_logout_uri';

/**
 * Registers a relying service.
 * @param input.clientId a fixed id (for demo data); a random one when omitted.
 * @returns the client and, for a confidential client, its secret (shown once, stored hashed).
 */
export async function registerClient(
  db: D1Database,
  input: { name: string; redirectUris: string[]; public?: boolean; idTokenAlg?: IdTokenAlg; clientId?: string } & LogoutRegistration,
  now = Date.now(),
): Promise<{ client: Client; clientSecret?: string }> {
  const clientId = input.clientId ?? `client_${randomToken(12)}`;
  const clientSecret = input.public ? undefined : randomToken(32);
  const secretHash = clientSecret ? await sha256Hex(clientSecret) : null;
  const idTokenAlg = input.idTokenAlg ?? 'RS256';
  await db
    .prepare(
      `INSERT INTO clients (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
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
    )
    .run();
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
  };
  return clientSecret ? { client, clientSecret } : { client };
}

/** The client with this id, or null (also when an operator disabled it). */
export async function getClient(db: D1Database, clientId: string): Promise<Client | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM clients WHERE client_id = ?1 AND disabled_at IS NULL`)
    .bind(clientId)
    .first<ClientRow>();
  return row ? fromRow(row) : null;
}

/**
 * Changes a client's name, redirect URIs, ID token alg or logout registration; fields left
 * undefined stay as they are, `null` clears a logout URI. The secret and public/confidential
 * never change here.
 * @returns the updated client, or null when there is no client with this id.
 */
export async function updateClient(
  db: D1Database,
  clientId: string,
  patch: { name?: string; redirectUris?: string[]; idTokenAlg?: IdTokenAlg } & LogoutRegistration,
): Promise<Client | null> {
  const current = await getClient(db, clientId);
  if (!current) return null;
  const next: Client = {
    ...current,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.redirectUris !== undefined ? { redirectUris: patch.redirectUris } : {}),
    ...(patch.idTokenAlg !== undefined ? { idTokenAlg: patch.idTokenAlg } : {}),
    ...(patch.postLogoutRedirectUris !== undefined ? { postLogoutRedirectUris: patch.postLogoutRedirectUris } : {}),
    ...(patch.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: patch.backchannelLogoutUri } : {}),
    ...(patch.frontchannelLogoutUri !== undefined ? { frontchannelLogoutUri: patch.frontchannelLogoutUri } : {}),
  };
  await db
    .prepare(
      'UPDATE clients SET name = ?2, redirect_uris = ?3, post_logout_redirect_uris = ?4, backchannel_logout_uri = ?5, frontchannel_logout_uri = ?6, id_token_alg = ?7 WHERE client_id = ?1',
    )
    .bind(
      clientId,
      next.name,
      JSON.stringify(next.redirectUris),
      JSON.stringify(next.postLogoutRedirectUris),
      next.backchannelLogoutUri,
      next.frontchannelLogoutUri,
      next.idTokenAlg,
    )
    .run();
  return next;
}

/**
 * Checks a confidential client's secret in constant time (RFC 6749 §2.3.1).
 * @returns false for a public client, an unknown client or a wrong secret.
 */
export async function verifyClientSecret(db: D1Database, clientId: string, secret: string): Promise<boolean> {
  const row = await db.prepare('SELECT secret_hash FROM clients WHERE client_id = ?1').bind(clientId).first<{ secret_hash: string | null }>();
  if (!row?.secret_hash) return false;
  return timingSafeEqual(row.secret_hash, await sha256Hex(secret));
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
  };
}
