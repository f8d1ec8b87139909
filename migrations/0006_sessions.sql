-- Browser sessions (single sign-on) by the device that approved them, so revoking a device can
-- find and end them. The session itself lives in its BrowserSession Durable Object; this is only
-- an index, written when a session starts (or changes device) and removed when it ends.
CREATE TABLE browser_sessions (
  session_id TEXT PRIMARY KEY,          -- the BrowserSession object id (hex)
  device_id TEXT NOT NULL,              -- the approving device
  sub TEXT NOT NULL,
  expires_at INTEGER NOT NULL           -- epoch ms: the absolute end (rows past it are stale)
);
CREATE INDEX browser_sessions_device ON browser_sessions (device_id);
