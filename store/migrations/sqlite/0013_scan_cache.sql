-- The content cache of scan results (issue 18): the key names a file's
-- SHA-256, an analyzer's name and version and a policy digest (the scan
-- package builds it and owns the value's encoding); the value is the
-- findings of that file under them. A file shared by many versions is
-- analyzed once. Bounded: keys and values have a size limit, and the
-- least recently used entries are evicted past the entry limit.

CREATE TABLE scan_cache (
  key          TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 512),
  value        BLOB NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT NOT NULL,
  hits         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX scan_cache_last_used ON scan_cache (last_used_at);
