-- Number matching per relying service (issue 14): when set, the login page shows a two-digit
-- number after the phone scans and the phone must pick it from three (src/session/number-match.ts).
ALTER TABLE clients ADD COLUMN require_number_matching INTEGER NOT NULL DEFAULT 0; -- 0 or 1
