-- Findings across time: a finding's identity is (model, rule, file sha256,
-- location), so the same finding in an unchanged file keeps its triage from
-- one version to the next; sightings say in which versions it was seen, and
-- finding_states keep every state change (the current state is the last).

CREATE TABLE findings (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model_id      BIGINT NOT NULL REFERENCES models(id),
  rule          TEXT NOT NULL,
  file_sha256   TEXT NOT NULL CHECK (length(file_sha256) = 64),
  location      TEXT NOT NULL,
  severity      TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
  message       TEXT NOT NULL,
  first_seen_at TIMESTAMPTZ NOT NULL,
  UNIQUE (model_id, rule, file_sha256, location)
);
CREATE INDEX findings_file ON findings (file_sha256);

CREATE TABLE finding_sightings (
  finding_id  BIGINT NOT NULL REFERENCES findings(id),
  version_id  BIGINT NOT NULL REFERENCES model_versions(id),
  evidence_id BIGINT NOT NULL REFERENCES evidence(id),
  seen_at     TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (finding_id, version_id)
);
CREATE INDEX finding_sightings_version ON finding_sightings (version_id);

CREATE TABLE finding_states (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  finding_id BIGINT NOT NULL REFERENCES findings(id),
  state      TEXT NOT NULL CHECK (state IN ('open', 'accepted-risk', 'false-positive', 'fixed')),
  reason     TEXT NOT NULL DEFAULT '',
  expires_at TIMESTAMPTZ,
  set_by     TEXT NOT NULL,
  set_at     TIMESTAMPTZ NOT NULL,
  CHECK (state <> 'accepted-risk' OR (reason <> '' AND expires_at IS NOT NULL)),
  CHECK (state <> 'false-positive' OR reason <> ''),
  CHECK (state = 'accepted-risk' OR expires_at IS NULL)
);
CREATE INDEX finding_states_finding ON finding_states (finding_id, id);
CREATE TRIGGER finding_states_append_only BEFORE UPDATE OR DELETE ON finding_states
  FOR EACH ROW EXECUTE FUNCTION violet_append_only();
CREATE TRIGGER finding_states_no_truncate BEFORE TRUNCATE ON finding_states
  FOR EACH STATEMENT EXECUTE FUNCTION violet_append_only();
