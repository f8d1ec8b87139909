-- Logout registration of relying services (OIDC RP-Initiated, Back-Channel and Front-Channel
-- Logout 1.0). Every logout token and front-channel request carries `sid`, so the
-- `*_logout_session_required` registration values are always true and not stored.

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'; -- JSON array, exact match
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;   -- NULL: no back-channel logout
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT;  -- NULL: no front-channel logout

-- The demo relying service's own record of logouts it was told about (src/demo/, not the
-- provider): one row per session a back-channel logout token or front-channel request named.
CREATE TABLE demo_logouts (
  client_id  TEXT NOT NULL,                -- the demo client told
  sid        TEXT NOT NULL,                -- the provider's session id
  sub        TEXT,                         -- from the logout token (front-channel sends none)
  via        TEXT NOT NULL,                -- backchannel | frontchannel
  at         INTEGER NOT NULL,             -- epoch milliseconds
  PRIMARY KEY (client_id, sid, via)
);
