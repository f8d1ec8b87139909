-- Notifications to a person's keys and Web Push subscriptions (issue 12, docs/storage.md).
-- Pairings themselves live in their Pairing Durable Object; a paired key is a row in devices.
-- Times are epoch milliseconds (INTEGER).

-- One security event of an identity (a login approved or denied, a key paired or revoked),
-- shown to every key of the identity except the one it is about. Kept 90 days: older rows of an
-- identity are deleted whenever it gets a new one (src/notifications/store.ts).
CREATE TABLE notifications (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  sub        TEXT NOT NULL,
  at         INTEGER NOT NULL,
  type       TEXT NOT NULL,               -- login.approved | login.denied | device.paired | device.revoked
  device_id  TEXT,                        -- the key the event is about (not notified of it)
  detail     TEXT NOT NULL                -- JSON: client_name, requester, device_name (validated text)
);
CREATE INDEX notifications_by_sub ON notifications(sub, id);

-- How far each key has read its notifications (the highest id it marked read).
CREATE TABLE notification_reads (
  device_id     TEXT PRIMARY KEY,
  last_read_id  INTEGER NOT NULL
);

-- Web Push subscriptions (RFC 8030; keys for RFC 8291), one per push endpoint, each of one key.
-- Removed when the push service answers 404/410 or the key is revoked.
CREATE TABLE push_subscriptions (
  endpoint    TEXT PRIMARY KEY,           -- https URL of the push service (loopback http locally)
  device_id   TEXT NOT NULL,
  sub         TEXT NOT NULL,
  p256dh      TEXT NOT NULL,              -- the user agent's P-256 public point, base64url
  auth        TEXT NOT NULL,              -- the 16-byte auth secret, base64url
  created_at  INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_by_sub ON push_subscriptions(sub);
CREATE INDEX push_subscriptions_by_device ON push_subscriptions(device_id);
