-- Accounts (teams, users, roles per team, API tokens) and the audit log.
-- Times are UTC text, "2006-01-02T15:04:05.000000Z": fixed width, so text
-- order is time order.

CREATE TABLE teams (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  login         TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL DEFAULT '',
  -- an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash);
  -- NULL: the user cannot log in with a password
  password_hash TEXT,
  disabled_at   TEXT,
  created_at    TEXT NOT NULL
) STRICT;

-- A user holds one or more roles in a team.
CREATE TABLE memberships (
  team_id    INTEGER NOT NULL REFERENCES teams(id),
  user_id    INTEGER NOT NULL REFERENCES users(id),
  role       TEXT NOT NULL CHECK (role IN ('admin', 'ml-engineer', 'security', 'sme',
                                           'legal-compliance', 'hr', 'procurement', 'viewer')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (team_id, user_id, role)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
  name         TEXT NOT NULL,
  user_id      INTEGER NOT NULL REFERENCES users(id),
  team_id      INTEGER NOT NULL REFERENCES teams(id),
  role         TEXT NOT NULL CHECK (role IN ('admin', 'ml-engineer', 'security', 'sme',
                                             'legal-compliance', 'hr', 'procurement', 'viewer')),
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
) STRICT;
CREATE INDEX api_tokens_team ON api_tokens (team_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The audit log: append-only, hash-chained (see store/audit.go).
CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY CHECK (seq > 0),
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  object    TEXT NOT NULL,
  detail    TEXT NOT NULL,
  remote    TEXT NOT NULL,
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
) STRICT;
CREATE INDEX audit_log_object ON audit_log (object, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
