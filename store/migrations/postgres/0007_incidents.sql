-- Incidents and drills (issue 16). An incident of a team has a type, a
-- severity, a state (open, contained, resolved: forward only) and the
-- times that measure the response: when the compromise began (when known),
-- was detected, contained and resolved. Its timeline is append-only; its
-- affected assets are versions of the team's models with why (the file
-- digest, package, signer or base model the blast-radius query named). A
-- drill is a scenario of the library (store/drills.go) scheduled with its
-- participants by role; starting it opens an incident marked with the
-- drill, closing it keeps its findings and follow-up actions. The signers
-- of verified signatures (from `violet verify` reports) answer "which
-- versions did this key sign?".

CREATE TABLE drills (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id      BIGINT NOT NULL REFERENCES teams(id),
  scenario     TEXT NOT NULL,
  scheduled_at TIMESTAMPTZ NOT NULL,
  scheduled_by TEXT NOT NULL,
  started_at   TIMESTAMPTZ,
  closed_at    TIMESTAMPTZ,
  findings     TEXT NOT NULL,
  CHECK (closed_at IS NULL OR started_at IS NOT NULL)
);
CREATE INDEX drills_team ON drills (team_id, id);

CREATE TABLE drill_participants (
  drill_id BIGINT NOT NULL REFERENCES drills(id),
  role     TEXT NOT NULL CHECK (role IN ('admin', 'ml-engineer', 'security', 'sme',
                                         'legal-compliance', 'hr', 'procurement', 'viewer')),
  -- a member of the team in that role; '' for whoever holds it
  login    TEXT NOT NULL,
  PRIMARY KEY (drill_id, role, login)
);

CREATE TABLE drill_follow_ups (
  drill_id BIGINT NOT NULL REFERENCES drills(id),
  n        BIGINT NOT NULL CHECK (n >= 1),
  action   TEXT NOT NULL CHECK (action <> ''),
  PRIMARY KEY (drill_id, n)
);

CREATE TABLE incidents (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id      BIGINT NOT NULL REFERENCES teams(id),
  type         TEXT NOT NULL CHECK (type IN ('malicious-model', 'compromised-dependency', 'leaked-signing-key',
                                             'prompt-injection-leakage', 'poisoning', 'other')),
  severity     TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  title        TEXT NOT NULL CHECK (title <> ''),
  summary      TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('open', 'contained', 'resolved')),
  began_at     TIMESTAMPTZ,
  detected_at  TIMESTAMPTZ,
  contained_at TIMESTAMPTZ,
  resolved_at  TIMESTAMPTZ,
  drill_id     BIGINT UNIQUE REFERENCES drills(id),
  opened_by    TEXT NOT NULL,
  opened_at    TIMESTAMPTZ NOT NULL,
  CHECK ((state = 'open' AND contained_at IS NULL AND resolved_at IS NULL)
      OR (state = 'contained' AND detected_at IS NOT NULL AND contained_at IS NOT NULL AND resolved_at IS NULL)
      OR (state = 'resolved' AND detected_at IS NOT NULL AND contained_at IS NOT NULL AND resolved_at IS NOT NULL)),
  -- only a drill's incident waits to be detected
  CHECK (detected_at IS NOT NULL OR drill_id IS NOT NULL)
);
CREATE INDEX incidents_team ON incidents (team_id, id);

CREATE TABLE incident_events (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id BIGINT NOT NULL REFERENCES incidents(id),
  at          TIMESTAMPTZ NOT NULL,
  -- the user (login) or, over the API, the actor
  who         TEXT NOT NULL,
  text        TEXT NOT NULL CHECK (text <> '')
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
  FOR EACH ROW EXECUTE FUNCTION violet_append_only();
CREATE TRIGGER incident_events_no_truncate BEFORE TRUNCATE ON incident_events
  FOR EACH STATEMENT EXECUTE FUNCTION violet_append_only();

CREATE TABLE incident_assets (
  incident_id BIGINT NOT NULL REFERENCES incidents(id),
  version_id  BIGINT NOT NULL REFERENCES model_versions(id),
  -- what the blast-radius query named: a file digest, a package, a signer
  -- a base model or a dataset
  why         TEXT NOT NULL CHECK (why IN ('file', 'package', 'signer', 'base', 'dataset')),
  -- the digest, package name, signer, model or dataset id
  subject     TEXT NOT NULL,
  -- how the version holds it: the file's path, the package's version, the
  -- lineage relation
  how         TEXT NOT NULL,
  added_by    TEXT NOT NULL,
  added_at    TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (incident_id, version_id, why, subject, how)
);
CREATE INDEX incident_assets_version ON incident_assets (version_id);

-- Who signed a version, as each verified `violet verify` report names the
-- signer (the key's hint or the certificate's subject).
CREATE TABLE version_signers (
  version_id  BIGINT NOT NULL REFERENCES model_versions(id),
  signer      TEXT NOT NULL CHECK (signer <> ''),
  evidence_id BIGINT NOT NULL REFERENCES evidence(id),
  PRIMARY KEY (evidence_id, signer)
);
CREATE INDEX version_signers_signer ON version_signers (signer);
