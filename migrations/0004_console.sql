-- The operator console (/console): operator roles, console sessions, and who acted in the audit.
-- Times are epoch milliseconds (INTEGER). Session tokens are stored as SHA-256 hex only.

CREATE TABLE operators (
  sub         TEXT PRIMARY KEY REFERENCES identities(sub),
  role        TEXT NOT NULL CHECK (role IN ('clerk', 'admin')),
  granted_at  INTEGER NOT NULL
);

CREATE TABLE console_sessions (
  token_hash  TEXT PRIMARY KEY,            -- SHA-256 hex of the __Host-mk_console cookie's value
  sub         TEXT NOT NULL,               -- the operator (their role is read on every request)
  csrf        TEXT NOT NULL,               -- the CSRF token every form of this session carries
  auth_time   INTEGER NOT NULL,            -- when the operator approved with their key
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at);

-- The operator's sub on events an operator caused in the console; NULL otherwise.
ALTER TABLE audit_events ADD COLUMN operator TEXT;
CREATE INDEX audit_events_by_time ON audit_events(at);
CREATE INDEX audit_events_by_type ON audit_events(type, at);

-- A relying service an operator disabled: unknown to /authorize and /token from then on.
ALTER TABLE clients ADD COLUMN disabled_at INTEGER;
