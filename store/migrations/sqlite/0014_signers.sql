-- Verify and BOM jobs (issue 18). A team's trusted signers are what its
-- verify jobs check signatures against: an ECDSA public key (PEM), the
-- root CAs of a private PKI (PEM), or a Sigstore identity with its issuer
-- and the trusted_root.json it is checked against, offline. Scan requests
-- gain the kinds verify and bom: the job stores a verify report or an
-- ML-BOM as the version's evidence. SQLite cannot change a CHECK
-- constraint: the table is rebuilt (nothing references it).

CREATE TABLE trusted_signers (
  id         INTEGER PRIMARY KEY,
  team_id    INTEGER NOT NULL REFERENCES teams(id),
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('key', 'ca', 'sigstore')),
  -- the PEM public key, the PEM root CAs, or the trusted_root.json
  material   TEXT NOT NULL,
  -- a Sigstore signer's certificate identity and OIDC issuer
  identity   TEXT NOT NULL DEFAULT '',
  issuer     TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  -- set when the team stops trusting the signer (the row stays: reports
  -- stored before name it)
  removed_at TEXT,
  removed_by TEXT NOT NULL DEFAULT ''
) STRICT;
-- A name is unique among the signers a team trusts now.
CREATE UNIQUE INDEX trusted_signers_name ON trusted_signers (team_id, name) WHERE removed_at IS NULL;

CREATE TABLE scan_requests_new (
  id           INTEGER PRIMARY KEY,
  model_id     INTEGER NOT NULL REFERENCES models(id),
  version_id   INTEGER REFERENCES model_versions(id),
  kind         TEXT NOT NULL CHECK (kind IN ('scan', 'rescan', 'verify', 'bom')),
  location     TEXT NOT NULL,
  pinned       TEXT NOT NULL DEFAULT '',
  status       TEXT NOT NULL CHECK (status IN ('queued', 'done', 'incomplete')),
  job_id       INTEGER,
  evidence_id  INTEGER REFERENCES evidence(id),
  scanner      TEXT NOT NULL DEFAULT '',
  policy       TEXT NOT NULL DEFAULT '',
  error        TEXT NOT NULL DEFAULT '',
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  finished_at  TEXT
) STRICT;
INSERT INTO scan_requests_new SELECT id, model_id, version_id, kind, location, pinned, status, job_id, evidence_id,
  scanner, policy, error, requested_by, requested_at, finished_at FROM scan_requests;
DROP TABLE scan_requests;
ALTER TABLE scan_requests_new RENAME TO scan_requests;
CREATE INDEX scan_requests_model ON scan_requests (model_id, id);
CREATE INDEX scan_requests_version ON scan_requests (version_id, id);
CREATE INDEX scan_requests_job ON scan_requests (job_id);
