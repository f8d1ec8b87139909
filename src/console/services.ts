/**
 * Relying services as the console manages them: every client (disabled ones too), secret
 * rotation and disabling. Registration and edits are src/oidc/clients.ts `registerClient` and
 * `updateClient`; validation is the operator API's `ClientBody`.
 */
import { randomToken, sha256Hex } from '../session/crypto.ts';
import { forgetClient } from '../oidc/client-cache.ts';

export interface ManagedClient {
  clientId: string;
  name: string;
  public: boolean;
  redirectUris: string[];
  idTokenAlg: string;
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  frontchannelLogoutUri: string | null;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds, or null while enabled. */
  disabledAt: number | null;
  /** Logins need number matching (migration 0007). */
  requireNumberMatching: boolean;
}

type Row = {
  client_id: string;
  name: string;
  secret_hash: string | null;
  redirect_uris: string;
  id_token_alg: string;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  frontchannel_logout_uri: string | null;
  created_at: number;
  disabled_at: number | null;
  require_number_matching: number;
};

function fromRow(row: Row): ManagedClient {
  return {
    clientId: row.client_id,
    name: row.name,
    public: row.secret_hash === null,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    idTokenAlg: row.id_token_alg,
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris || '[]') as string[],
    backchannelLogoutUri: row.backchannel_logout_uri,
    frontchannelLogoutUri: row.frontchannel_logout_uri,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    requireNumberMatching: row.require_number_matching === 1,
  };
}

/** Every relying service, newest first. */
export async function listClients(db: D1Database): Promise<ManagedClient[]> {
  const { results } = await db.prepare('SELECT * FROM clients ORDER BY created_at DESC, client_id').all<Row>();
  return results.map(fromRow);
}

/** One relying service (disabled too), or null. */
export async function findClient(db: D1Database, clientId: string): Promise<ManagedClient | null> {
  const row = await db.prepare('SELECT * FROM clients WHERE client_id = ?1').bind(clientId).first<Row>();
  return row ? fromRow(row) : null;
}

/**
 * Replaces a confidential client's secret (the old one stops working at once).
 * @returns the new secret (shown once, stored hashed), or null for an unknown or public client.
 */
export async function rotateSecret(db: D1Database, clientId: string): Promise<string | null> {
  const secret = randomToken(32);
  const result = await db
    .prepare('UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1 AND secret_hash IS NOT NULL')
    .bind(clientId, await sha256Hex(secret))
    .run();
  forgetClient(clientId);
  return (result.meta.changes ?? 0) > 0 ? secret : null;
}

/** Disables a service (idempotent). @param now epoch milliseconds. @returns false when unknown. */
export async function disableClient(db: D1Database, clientId: string, now = Date.now()): Promise<boolean> {
  const result = await db
    .prepare('UPDATE clients SET disabled_at = coalesce(disabled_at, ?2) WHERE client_id = ?1')
    .bind(clientId, now)
    .run();
  forgetClient(clientId);
  return (result.meta.changes ?? 0) > 0;
}
