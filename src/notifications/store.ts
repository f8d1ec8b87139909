/**
 * Notifications and push subscriptions in D1 (migrations/0009_pairing.sql, docs/storage.md).
 * A notification belongs to an identity and tells its keys about a security event; every key
 * except the one that caused it sees it, from the time the key was enrolled. Each key keeps its
 * own "read up to" mark. Query functions take the database so tests call them directly.
 */
import type { RequesterText } from '../http/names.ts';

/** How long a notification is kept, in milliseconds (90 days); older rows are deleted on write. */
export const NOTIFICATION_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

export type NotificationType = 'login.approved' | 'login.denied' | 'device.paired' | 'device.revoked';

/** What a notification says; every text in it was validated where it came from. */
export interface NotificationDetail {
  client_id?: string;
  client_name?: string;
  /** Where and what the browser of a login was. */
  requester?: RequesterText;
  /** The name of the key the event is about (the one that approved, was paired or revoked). */
  device_name?: string;
}

export interface NewNotification {
  sub: string;
  type: NotificationType;
  /** The key the event is about; it is not notified of its own event. */
  deviceId: string | null;
  detail: NotificationDetail;
}

/** A notification as one key sees it. */
export interface NotificationView {
  id: number;
  /** Epoch ms. */
  at: number;
  type: NotificationType;
  device_id: string | null;
  detail: NotificationDetail;
  read: boolean;
}

/**
 * The statements that store a notification and drop the identity's notifications older than the
 * retention (for use inside a `db.batch`).
 * @param now epoch ms.
 */
export function notificationStatements(db: D1Database, n: NewNotification, now = Date.now()): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM notifications WHERE sub = ?1 AND at < ?2').bind(n.sub, now - NOTIFICATION_RETENTION_MS),
    db
      .prepare('INSERT INTO notifications (sub, at, type, device_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)')
      .bind(n.sub, now, n.type, n.deviceId, JSON.stringify(n.detail)),
  ];
}

/**
 * The notifications one key sees, newest first: its identity's, except its own events, since it
 * was enrolled, within the retention.
 * @param key.createdAt the key's enrolment, epoch ms.
 * @param limit at most this many (1..100).
 * @returns the page and how many of all visible ones are unread.
 */
export async function listNotifications(
  db: D1Database,
  key: { id: string; sub: string; createdAt: number },
  limit = 50,
  now = Date.now(),
): Promise<{ notifications: NotificationView[]; unread: number }> {
  const since = Math.max(key.createdAt, now - NOTIFICATION_RETENTION_MS);
  const mark = 'COALESCE((SELECT last_read_id FROM notification_reads WHERE device_id = ?1), 0)';
  const visible = 'sub = ?2 AND at >= ?3 AND (device_id IS NULL OR device_id <> ?1)';
  const [rows, count] = await db.batch([
    db
      .prepare(`SELECT id, at, type, device_id, detail, id <= ${mark} AS read FROM notifications WHERE ${visible} ORDER BY id DESC LIMIT ?4`)
      .bind(key.id, key.sub, since, Math.min(Math.max(Math.trunc(limit), 1), 100)),
    db.prepare(`SELECT COUNT(*) AS unread FROM notifications WHERE ${visible} AND id > ${mark}`).bind(key.id, key.sub, since),
  ]);
  const notifications = (rows!.results as { id: number; at: number; type: NotificationType; device_id: string | null; detail: string; read: number }[]).map(
    (row) => ({ id: row.id, at: row.at, type: row.type, device_id: row.device_id, detail: JSON.parse(row.detail) as NotificationDetail, read: row.read === 1 }),
  );
  return { notifications, unread: (count!.results[0] as { unread: number }).unread };
}

/**
 * Marks a key's notifications read up to and including `upTo` (a notification id). Only moves
 * forward: an older mark (a replay, a stale tab) changes nothing.
 * @returns the mark now in force.
 */
export async function markRead(db: D1Database, deviceId: string, upTo: number): Promise<number> {
  const row = await db
    .prepare(
      `INSERT INTO notification_reads (device_id, last_read_id) VALUES (?1, ?2)
       ON CONFLICT (device_id) DO UPDATE SET last_read_id = MAX(last_read_id, excluded.last_read_id)
       RETURNING last_read_id`,
    )
    .bind(deviceId, upTo)
    .first<{ last_read_id: number }>();
  return row?.last_read_id ?? upTo;
}

/** A stored push subscription (W3C Push API `PushSubscription.toJSON()` plus whose it is). */
export interface StoredSubscription {
  endpoint: string;
  deviceId: string;
  sub: string;
  p256dh: string;
  auth: string;
}

/**
 * Stores (or moves to this key) the subscription for an endpoint: one endpoint, one key.
 * @param now epoch ms.
 */
export async function saveSubscription(db: D1Database, s: StoredSubscription, now = Date.now()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO push_subscriptions (endpoint, device_id, sub, p256dh, auth, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (endpoint) DO UPDATE SET device_id = excluded.device_id, sub = excluded.sub, p256dh = excluded.p256dh, auth = excluded.auth`,
    )
    .bind(s.endpoint, s.deviceId, s.sub, s.p256dh, s.auth, now)
    .run();
}

/** The push subscriptions of an identity's usable keys, except one key's. */
export async function subscriptionsToNotify(db: D1Database, sub: string, exceptDeviceId: string | null): Promise<StoredSubscription[]> {
  return subscriptionsOf((await subscriptionsStatement(db, sub, exceptDeviceId).all()).results);
}

/** The query behind {@link subscriptionsToNotify}, for use inside a `db.batch` (read its rows with {@link subscriptionsOf}). */
export function subscriptionsStatement(db: D1Database, sub: string, exceptDeviceId: string | null): D1PreparedStatement {
  return db
    .prepare(
      `SELECT p.endpoint, p.device_id, p.sub, p.p256dh, p.auth FROM push_subscriptions p
       JOIN devices d ON d.id = p.device_id AND d.revoked_at IS NULL
       WHERE p.sub = ?1 AND p.device_id <> COALESCE(?2, '')`,
    )
    .bind(sub, exceptDeviceId);
}

/** The rows of {@link subscriptionsStatement} as subscriptions. */
export function subscriptionsOf(rows: unknown[]): StoredSubscription[] {
  return (rows as { endpoint: string; device_id: string; sub: string; p256dh: string; auth: string }[]).map((r) => ({
    endpoint: r.endpoint,
    deviceId: r.device_id,
    sub: r.sub,
    p256dh: r.p256dh,
    auth: r.auth,
  }));
}

/** Removes a subscription the push service says is gone (RFC 8030 §7.3: 404, 410). */
export async function removeSubscription(db: D1Database, endpoint: string): Promise<void> {
  await db.prepare('DELETE FROM push_subscriptions WHERE endpoint = ?1').bind(endpoint).run();
}

/** Removes every subscription of a key (it was revoked). */
export function removeSubscriptionsStatement(db: D1Database, deviceId: string): D1PreparedStatement {
  return db.prepare('DELETE FROM push_subscriptions WHERE device_id = ?1').bind(deviceId);
}
