-- The person's account (/account): its sessions, the login history and consents per service.
-- Times are epoch milliseconds (INTEGER). Session tokens are stored as SHA-256 hex only.

-- Every login made with an identity, approved or denied, on the phone or by single sign-on.
-- Kept one year: every write deletes expired rows (src/account/history.ts, HISTORY_RETENTION_MS),
-- and reads never return them.
CREATE TABLE login_history (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sub         TEXT NOT NULL,
  at          INTEGER NOT NULL,
  client_id   TEXT NOT NULL,
  client_name TEXT NOT NULL,              -- the service's name at the time of the login
  device_id   TEXT,                        -- the key that approved or denied (for SSO: the session's key)
  outcome     TEXT NOT NULL CHECK (outcome IN ('approved', 'denied')),
  method      TEXT NOT NULL CHECK (method IN ('key', 'sso')),
  browser     TEXT,                        -- parsed from the User-Agent, e.g. "Chrome 131"
  os          TEXT,                        -- e.g. "Windows 10"
  country     TEXT,                        -- ISO 3166-1 alpha-2 from Cloudflare's request data
  city        TEXT
);
CREATE INDEX login_history_by_sub ON login_history(sub, id);
CREATE INDEX login_history_by_time ON login_history(at);

-- What a service may receive about a person. `always`: remembered, lets single sign-on release
-- these claims without asking; `once`: the latest one-time consent, listed but never reused.
CREATE TABLE consents (
  sub         TEXT NOT NULL,
  client_id   TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('once', 'always')),
  claims      TEXT NOT NULL,               -- JSON array of claim names
  granted_at  INTEGER NOT NULL,
  PRIMARY KEY (sub, client_id)
);

CREATE TABLE account_sessions (
  token_hash  TEXT PRIMARY KEY,            -- SHA-256 hex of the __Host-mk_account cookie's value
  sub         TEXT NOT NULL,
  csrf        TEXT NOT NULL,               -- the CSRF token every form of this session carries
  auth_time   INTEGER NOT NULL,            -- when the person approved with their key
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX account_sessions_by_expiry ON account_sessions(expires_at);
