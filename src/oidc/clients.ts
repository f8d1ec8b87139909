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
}

interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string | null;
  redirect_uris: string;
  id_token_alg: string;
  created_at: number;
}

/**
 * Registers a relying service.
 * @param input.clientId a fixed id (for demo data); a random one when omitted.
 * @returns the client and, for a confidential client, its secret (shown once, stored hashed).
 */
export async function registerClient(
  db: D1Database,
  input: { name: string; redirectUris: string[]; public?: boolean; idTokenAlg?: IdTokenAlg; clientId?: string },
  now = Date.now(),
): Promise<{ client: Client; clientSecret?: string }> {
  const clientId = input.clientId ?? `client_${randomToken(12)}`;
  const clientSecret = input.public ? undefined : randomToken(32);
  const secretHash = clientSecret ? await sha256Hex(clientSecret) : null;
  const idTokenAlg = input.idTokenAlg ?? 'RS256';
  await db
    .prepare(
      'INSERT INTO clients (client_id, name, secret_hash, redirect_uris, id_token_alg, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)',
    )
    .bind(clientId, input.name, secretHash, JSON.stringify(input.redirectUris), idTokenAlg, now)
    .run();
  const client: Client = {
    clientId,
    name: input.name,
    public: !clientSecret,
    redirectUris: input.redirectUris,
    idTokenAlg,
    createdAt: now,
  };
  return clientSecret ? { client, clientSecret } : { client };
}

/** The client with this id, or null (also when an operator disabled it). */
export async function getClient(db: D1Database, clientId: string): Promise<Client | null> {
  const row = await db
    .prepare('SELECT client_id, name, secret_hash, redirect_uris, id_token_alg, created_at FROM clients WHERE client_id = ?1 AND disabled_at IS NULL')
    .bind(clientId)
    .first<ClientRow>();
  return row ? fromRow(row) : null;
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
  };
}
