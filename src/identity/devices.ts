/**
 * Enrolled devices (mobile keys) in D1: a P-256 public key bound to one identity.
 * Query functions take the database so tests call them directly.
 */
import { safeRequester } from '../http/names.ts';
import type { IdentityClaims } from './identities.ts';
import { randomToken } from '../session/crypto.ts';
import type { DeviceKey } from '../session/types.ts';
import { logEvent } from '../lib/log.ts';

/** A P-256 public key as JWK (RFC 7517, RFC 7518 §6.2.1): only the public members. */
export interface PublicP256Jwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export interface Device {
  id: string;
  sub: string;
  name: string;
  publicJwk: PublicP256Jwk;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds of the last scan or answer, or null. */
  lastUsedAt: number | null;
  /** Epoch milliseconds of revocation, or null while the device is usable. */
  revokedAt: number | null;
  /**
   * The browser and OS the key lives in ("Chrome 131", "Android 15"), parsed from the enrolling
   * request's User-Agent; each absent when unknown (not parsed, or enrolled before it was recorded).
   */
  platform: DevicePlatform;
}

/** Browser and OS of a key as validated short text (src/http/names.ts `safeRequester`); either may be absent. */
export interface DevicePlatform {
  browser?: string;
  os?: string;
}

interface DeviceRow {
  id: string;
  sub: string;
  name: string;
  public_jwk: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  browser: string | null;
  os: string | null;
}

const COLUMNS = 'id, sub, name, public_jwk, created_at, last_used_at, revoked_at, browser, os';
/** {@link COLUMNS} of the `devices d` side of a join. */
const DEVICE_COLUMNS = COLUMNS.split(', ').map((c) => `d.${c}`).join(', ');

/**
 * The browser and OS of an enrolling request as the `devices.browser` and `devices.os` values:
 * only text {@link safeRequester} keeps (anything else becomes NULL), never the raw User-Agent.
 * @param described e.g. src/session/start.ts `describeUserAgent(userAgent)` or a login's requester.
 */
export function platformColumns(described: unknown): { browser: string | null; os: string | null } {
  const safe = safeRequester(described);
  return { browser: safe.browser ?? null, os: safe.os ?? null };
}

/** A fresh device id: `dev_` and 96 random bits in base64url (valid in a signed message). */
export function newDeviceId(): string {
  return `dev_${randomToken(12)}`;
}

/** The device with this id (revoked or not), or null. */
export async function getDevice(db: D1Database, id: string): Promise<Device | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM devices WHERE id = ?1`).bind(id).first<DeviceRow>();
  return row ? fromRow(row) : null;
}

/**
 * The device with this id (revoked or not), or null, read in **one** D1 batch (one transaction)
 * with the statements `along`, which run after the read; their results are dropped.
 */
export async function getDeviceAlong(db: D1Database, id: string, along: D1PreparedStatement[]): Promise<Device | null> {
  const [read] = await db.batch<DeviceRow>([db.prepare(`SELECT ${COLUMNS} FROM devices WHERE id = ?1`).bind(id), ...along]);
  const row = read?.results[0];
  return row ? fromRow(row) : null;
}

/**
 * The device with this id (revoked or not) and the claims of its identity, in one query (the
 * phone's scan shows which requested claims the person holds), or null when no such device.
 * @returns `claims` null when the identity row is missing.
 */
export async function getDeviceWithClaims(db: D1Database, id: string): Promise<{ device: Device; claims: IdentityClaims | null } | null> {
  const row = await db
    .prepare(`SELECT ${DEVICE_COLUMNS}, i.claims AS identity_claims FROM devices d LEFT JOIN identities i ON i.sub = d.sub WHERE d.id = ?1`)
    .bind(id)
    .first<DeviceRow & { identity_claims: string | null }>();
  if (!row) return null;
  return { device: fromRow(row), claims: row.identity_claims === null ? null : (JSON.parse(row.identity_claims) as IdentityClaims) };
}

/** Every device of an identity, revoked ones included, oldest first. */
export async function listDevices(db: D1Database, sub: string): Promise<Device[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM devices WHERE sub = ?1 ORDER BY created_at, id`)
    .bind(sub)
    .all<DeviceRow>();
  return results.map(fromRow);
}

/**
 * Revokes a device and records the `device.revoked` audit event and the notification to the
 * identity's other keys in the same D1 batch, so the revocation is never without them; the
 * device's push subscriptions are removed. Idempotent: revoking a revoked device changes nothing
 * and records nothing.
 * @param detail audit detail, e.g. `{by: 'device'}` for a self-revocation, `{by: 'account'}` from the account.
 * @param now epoch milliseconds.
 * @param operator the console operator's `sub` who revoked it (audited).
 * @returns the device (with its first `revokedAt`) and whether this call revoked it; null if unknown.
 */
export async function revokeDevice(
  db: D1Database,
  id: string,
  detail?: Record<string, unknown>,
  now = Date.now(),
  operator?: string,
): Promise<{ device: Device; changed: boolean } | null> {
  const [updated] = await db.batch([
    db.prepare('UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL').bind(id, now),
    // changes() is the UPDATE's row count: the event is written only when this call revoked.
    db
      .prepare(
        `INSERT INTO audit_events (at, type, sub, device_id, client_id, detail, operator)
         SELECT ?2, 'device.revoked', sub, id, NULL, ?3, ?4 FROM devices WHERE id = ?1 AND changes() = 1`,
      )
      .bind(id, now, detail ? JSON.stringify(detail) : null, operator ?? null),
    // The identity's other keys are told (changes() is now the audit insert's: 1 only when this call revoked).
    db
      .prepare(
        `INSERT INTO notifications (sub, at, type, device_id, detail)
         SELECT sub, ?2, 'device.revoked', id, json_object('device_name', name) FROM devices WHERE id = ?1 AND changes() = 1`,
      )
      .bind(id, now),
    // A revoked key is sent nothing any more.
    db.prepare('DELETE FROM push_subscriptions WHERE device_id = ?1').bind(id),
  ]);
  const device = await getDevice(db, id);
  if ((updated?.meta.changes ?? 0) > 0) logEvent('device.revoked', { outcome: detail?.by === 'device' || detail?.by === 'account' ? `by-${detail.by}` : 'by-operator', sub: device?.sub, device_id: id });
  return device ? { device, changed: (updated?.meta.changes ?? 0) > 0 } : null;
}

/**
 * Renames an identity's usable device (the person's own key, from the account).
 * @param name an already validated display name (src/http/names.ts `displayName`).
 * @returns false when the device is not this identity's or is revoked (nothing changes).
 */
export async function renameDevice(db: D1Database, sub: string, id: string, name: string): Promise<boolean> {
  const result = await db.prepare('UPDATE devices SET name = ?3 WHERE id = ?1 AND sub = ?2 AND revoked_at IS NULL').bind(id, sub, name).run();
  return (result.meta.changes ?? 0) > 0;
}

/** Records that a device was used (scan or answer). @param now epoch milliseconds. */
export async function touchDevice(db: D1Database, id: string, now = Date.now()): Promise<void> {
  await touchStatement(db, id, now).run();
}

/** The statement behind {@link touchDevice}, for use inside a `db.batch`. @param now epoch milliseconds. */
export function touchStatement(db: D1Database, id: string, now = Date.now()): D1PreparedStatement {
  return db.prepare('UPDATE devices SET last_used_at = ?2 WHERE id = ?1').bind(id, now);
}

/** The device as the LoginSession object needs it. */
export function deviceKeyOf(device: Device): DeviceKey {
  return { id: device.id, sub: device.sub, name: device.name, publicJwk: device.publicJwk };
}

function fromRow(row: DeviceRow): Device {
  return {
    id: row.id,
    sub: row.sub,
    name: row.name,
    publicJwk: JSON.parse(row.public_jwk) as PublicP256Jwk,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    // Checked again on the way out: the columns are shown on pages and in the console.
    platform: safeRequester({ browser: row.browser ?? undefined, os: row.os ?? undefined }),
  };
}
