-- Which browser and operating system each key lives in (issue 12, docs/storage.md): parsed from
-- the enrolling request's User-Agent by bowser (src/session/start.ts describeUserAgent), short
-- validated text such as "Chrome 131" and "Android 15". The raw User-Agent is never stored.
-- NULL when the agent named no browser or OS bowser knows (the key CLI names only its OS) and
-- for keys enrolled before this migration.
ALTER TABLE devices ADD COLUMN browser TEXT;
ALTER TABLE devices ADD COLUMN os TEXT;
