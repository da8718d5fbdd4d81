-- Accounts (teams, users, roles per team, API tokens) and the audit log.
-- Times are TIMESTAMPTZ, written by the store in UTC with microseconds.

CREATE TABLE teams (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login         TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL DEFAULT '',
  -- an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash);
  -- NULL: the user cannot log in with a password
  password_hash TEXT,
  disabled_at   TIMESTAMPTZ,
  created_at    TIMESTAMPTZ NOT NULL
);

-- A user holds one or more roles in a team.
CREATE TABLE memberships (
  team_id    BIGINT NOT NULL REFERENCES teams(id),
  user_id    BIGINT NOT NULL REFERENCES users(id),
  role       TEXT NOT NULL CHECK (role IN ('admin', 'ml-engineer', 'security', 'sme',
                                           'legal-compliance', 'hr', 'procurement', 'viewer')),
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (team_id, user_id, role)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
  name         TEXT NOT NULL,
  user_id      BIGINT NOT NULL REFERENCES users(id),
  team_id      BIGINT NOT NULL REFERENCES teams(id),
  role         TEXT NOT NULL CHECK (role IN ('admin', 'ml-engineer', 'security', 'sme',
                                             'legal-compliance', 'hr', 'procurement', 'viewer')),
  created_at   TIMESTAMPTZ NOT NULL,
  expires_at   TIMESTAMPTZ NOT NULL,
  last_used_at TIMESTAMPTZ,
  revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_team ON api_tokens (team_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The audit log: append-only, hash-chained (see store/audit.go).
CREATE TABLE audit_log (
  seq       BIGINT PRIMARY KEY CHECK (seq > 0),
  at        TIMESTAMPTZ NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  object    TEXT NOT NULL,
  detail    TEXT NOT NULL,
  remote    TEXT NOT NULL,
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_log_object ON audit_log (object, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
-- Append-only: UPDATE, DELETE and TRUNCATE are refused (the owner can still
-- drop the trigger: the hash chain is what detects a change).
CREATE FUNCTION violet_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION violet_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION violet_append_only();
