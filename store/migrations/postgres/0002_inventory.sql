-- The inventory: models, their versions (identified by the manifest digest)
-- and files, and the evidence uploaded for a version.

CREATE TABLE models (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id     BIGINT NOT NULL REFERENCES teams(id),
  name        TEXT NOT NULL,
  source_kind TEXT NOT NULL CHECK (source_kind IN ('huggingface', 'registry', 'path')),
  source_ref  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  UNIQUE (team_id, name)
);

CREATE TABLE model_versions (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model_id   BIGINT NOT NULL REFERENCES models(id),
  -- the manifest's root digest, "sha256:<64 hex>": the version's identity
  digest     TEXT NOT NULL CHECK (length(digest) = 71),
  label      TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (model_id, digest)
);
CREATE INDEX model_versions_digest ON model_versions (digest);

CREATE TABLE version_files (
  version_id BIGINT NOT NULL REFERENCES model_versions(id),
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  size       BIGINT NOT NULL CHECK (size >= 0),
  PRIMARY KEY (version_id, path)
);
CREATE INDEX version_files_sha256 ON version_files (sha256);

-- A report as uploaded, byte for byte; sha256 is the report's own digest,
-- which makes a repeated upload a no-op.
CREATE TABLE evidence (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id  BIGINT NOT NULL REFERENCES model_versions(id),
  kind        TEXT NOT NULL CHECK (kind IN ('scan', 'verify', 'bom', 'deps', 'gate')),
  sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
  size        BIGINT NOT NULL CHECK (size >= 0),
  report      BYTEA NOT NULL,
  uploaded_by TEXT NOT NULL,
  uploaded_at TIMESTAMPTZ NOT NULL,
  UNIQUE (version_id, kind, sha256)
);
CREATE INDEX evidence_version_kind ON evidence (version_id, kind, uploaded_at);
