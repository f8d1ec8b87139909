-- Identities, enrolled devices, activation codes, relying services and audit events.
-- Times are epoch milliseconds (INTEGER). Secrets are stored as SHA-256 hex, never in the clear.

CREATE TABLE identities (
  sub         TEXT PRIMARY KEY,            -- stable, never reused subject identifier
  claims      TEXT NOT NULL,               -- JSON object of OIDC standard claims
  created_at  INTEGER NOT NULL
);

CREATE TABLE devices (
  id            TEXT PRIMARY KEY,
  sub           TEXT NOT NULL REFERENCES identities(sub),
  public_jwk    TEXT NOT NULL,             -- JSON: P-256 public JWK (kty, crv, x, y)
  name          TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  revoked_at    INTEGER
);
CREATE INDEX devices_by_sub ON devices(sub);

CREATE TABLE activation_codes (
  code_hash   TEXT PRIMARY KEY,            -- SHA-256 hex of the normalised code
  sub         TEXT NOT NULL REFERENCES identities(sub),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  device_id   TEXT                         -- the device enrolled with it
);
CREATE INDEX activation_codes_by_sub ON activation_codes(sub);

CREATE TABLE clients (
  client_id      TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  secret_hash    TEXT,                     -- SHA-256 hex; NULL for public clients
  redirect_uris  TEXT NOT NULL,            -- JSON array of exact redirect URIs
  id_token_alg   TEXT NOT NULL DEFAULT 'RS256',
  created_at     INTEGER NOT NULL
);

CREATE TABLE audit_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  type        TEXT NOT NULL,               -- e.g. enrolment, login.approved, login.denied, device.revoked
  sub         TEXT,
  device_id   TEXT,
  client_id   TEXT,
  detail      TEXT                         -- JSON, never a secret
);
CREATE INDEX audit_events_by_sub ON audit_events(sub, at);

-- Fixed-window counters for throttling guessable inputs (activation codes).
CREATE TABLE throttle (
  key           TEXT PRIMARY KEY,          -- e.g. enrol:<client address>
  window_start  INTEGER NOT NULL,
  count         INTEGER NOT NULL
);
