-- Pairwise subject identifiers (OIDC Core §8, §8.1). A client's subject type is chosen at
-- registration and never changes; a pairwise client's sector identifier is the one host of its
-- redirect URIs at registration, kept here so a later edit of the URIs cannot change its subs.

ALTER TABLE clients ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'public'; -- public | pairwise
ALTER TABLE clients ADD COLUMN sector_identifier TEXT;                      -- pairwise only: a host

-- Every pairwise sub issued, so a hint that carries one (id_token_hint, login_hint) and an
-- operator's look-up map it back to the identity. Written when a token first carries it.
CREATE TABLE pairwise_subjects (
  sector_identifier TEXT NOT NULL,
  pairwise_sub      TEXT NOT NULL,       -- base64url(HMAC-SHA-256(PAIRWISE_SECRET, sector || sub))
  sub               TEXT NOT NULL REFERENCES identities(sub),
  created_at        INTEGER NOT NULL,    -- epoch milliseconds
  PRIMARY KEY (sector_identifier, pairwise_sub)
) WITHOUT ROWID;
