-- Logout registration of relying services (OIDC RP-Initiated, Back-Channel and Front-Channel
-- Logout 1.0). Every logout token and front-channel request carries `sid`, so the
-- `*_logout_session_required` registration values are always true and not stored.

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'; -- JSON array, exact match
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;   -- NULL: no back-channel logout
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT;  -- NULL: no front-channel logout
