-- Releases and their sign-offs: a release request names a model version
-- (by its manifest digest) and the roles that must approve it, fixed when
-- it is requested; each decision (approve or reject, with a reason, for a
-- role the decider holds) is kept, with the approver's signature when
-- signed. Decisions are append-only: a later decision of a role replaces
-- its earlier one in the judgement, never in the table.

CREATE TABLE releases (
  id             INTEGER PRIMARY KEY,
  version_id     INTEGER NOT NULL REFERENCES model_versions(id),
  title          TEXT NOT NULL,
  tier           TEXT NOT NULL CHECK (tier IN ('low', 'medium', 'high')),
  third_party    INTEGER NOT NULL CHECK (third_party IN (0, 1)),
  -- the roles that must approve, space-separated, sorted
  required_roles TEXT NOT NULL,
  requested_by   TEXT NOT NULL,
  requested_at   TEXT NOT NULL
) STRICT;
CREATE INDEX releases_version ON releases (version_id, id);

CREATE TABLE release_decisions (
  id         INTEGER PRIMARY KEY,
  release_id INTEGER NOT NULL REFERENCES releases(id),
  role       TEXT NOT NULL CHECK (role IN ('admin', 'ml-engineer', 'security', 'sme',
                                           'legal-compliance', 'hr', 'procurement', 'viewer')),
  decision   TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
  reason     TEXT NOT NULL CHECK (reason <> ''),
  -- the version the decision is about, as the decider saw it
  digest     TEXT NOT NULL CHECK (length(digest) = 71),
  -- the user who decided (login), and the actor of the change
  decided_by TEXT NOT NULL,
  actor      TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  -- the approver's attestation (a Sigstore bundle, JSON), NULL unsigned
  signature  BLOB
) STRICT;
CREATE INDEX release_decisions_release ON release_decisions (release_id, id);
CREATE TRIGGER release_decisions_no_update BEFORE UPDATE ON release_decisions
BEGIN
  SELECT RAISE(ABORT, 'release_decisions is append-only');
END;
CREATE TRIGGER release_decisions_no_delete BEFORE DELETE ON release_decisions
BEGIN
  SELECT RAISE(ABORT, 'release_decisions is append-only');
END;
