-- Refresh tokens (OIDC Core §11, RFC 6749 §6, RFC 9700 §4.14) and the grant types a relying
-- service may use. Times are epoch milliseconds (INTEGER) except auth_time (seconds, as in the
-- ID token). Tokens are stored as SHA-256 hex only, never in the clear.

-- The OAuth grant types a client may use (JSON array): authorization_code always; refresh_token
-- only when an operator allows it.
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '["authorization_code"]';

-- One row per grant (a "family"): what one approval with offline_access allowed, shared by
-- every refresh token rotated from it. Revoking the grant ends every token of the family.
CREATE TABLE refresh_grants (
  grant_id    TEXT PRIMARY KEY,            -- random id, never shown to anyone
  client_id   TEXT NOT NULL,
  sub         TEXT NOT NULL,
  device_id   TEXT NOT NULL,               -- the mobile key that approved; its revocation ends the grant
  scope       TEXT NOT NULL,               -- granted scopes, space separated (includes offline_access)
  claims      TEXT NOT NULL DEFAULT '{}',  -- JSON {"id_token":[names],"userinfo":[names]} from the claims parameter
  nonce       TEXT,                        -- the authorization request's nonce, repeated in refreshed ID tokens
  auth_time   INTEGER NOT NULL,            -- epoch SECONDS of the approval
  acr         TEXT NOT NULL,
  amr         TEXT NOT NULL,               -- JSON array
  sid         TEXT,                        -- the browser session the approval started, if any
  login_id    TEXT NOT NULL,               -- the LoginSession whose code started the grant (holds the first access token)
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,            -- absolute end; rotation never extends it
  revoked_at  INTEGER,                     -- set once: reuse, revocation (RFC 7009), or the key found revoked
  revoked_reason TEXT                      -- reuse | revoked | device-revoked
);
CREATE INDEX refresh_grants_by_expiry ON refresh_grants (expires_at);

-- One row per refresh token of a family, and the access token issued together with it.
CREATE TABLE refresh_tokens (
  token_hash        TEXT PRIMARY KEY,      -- SHA-256 hex of the refresh token
  grant_id          TEXT NOT NULL REFERENCES refresh_grants(grant_id),
  created_at        INTEGER NOT NULL,
  used_at           INTEGER,               -- set when exchanged; presenting it again revokes the grant
  access_token_hash TEXT UNIQUE,           -- SHA-256 hex of the access token issued with it (the first lives in the LoginSession)
  access_scope      TEXT,                  -- that access token's scopes (a subset of the grant's)
  access_expires_at INTEGER,
  access_revoked_at INTEGER
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);
