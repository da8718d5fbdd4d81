-- The structured inventory drawn from evidence: each scan run with the
-- scanner version that wrote it and the findings it showed (so that a newer
-- scanner re-judging the same files shows what changed), a version's
-- lineage from its ML-BOM, its Python packages from `violet deps`, and the
-- owners of a team's models from `violet discover`.

CREATE TABLE scan_runs (
  evidence_id     INTEGER PRIMARY KEY REFERENCES evidence(id),
  version_id      INTEGER NOT NULL REFERENCES model_versions(id),
  -- the tool.version of the report; '' when it gave none
  scanner_version TEXT NOT NULL
) STRICT;
CREATE INDEX scan_runs_version ON scan_runs (version_id, evidence_id);

CREATE TABLE scan_run_findings (
  evidence_id INTEGER NOT NULL REFERENCES scan_runs(evidence_id),
  finding_id  INTEGER NOT NULL REFERENCES findings(id),
  PRIMARY KEY (evidence_id, finding_id)
) STRICT;

-- Scan reports stored before this version: their runs (scanner version
-- unknown: SQL does not parse the reports) and the findings first seen in
-- them (a sighting kept only the first report per version).
INSERT INTO scan_runs (evidence_id, version_id, scanner_version)
  SELECT id, version_id, '' FROM evidence WHERE kind = 'scan';
INSERT INTO scan_run_findings (evidence_id, finding_id)
  SELECT evidence_id, finding_id FROM finding_sightings;

-- A version's lineage as each of its ML-BOMs gives it (the newest BOM
-- counts): the models it derives from (relation: base, adapter, finetune,
-- merge, quantized, ...) and the datasets it was trained or evaluated on
-- (relation: training, evaluation).
CREATE TABLE version_lineage (
  version_id  INTEGER NOT NULL REFERENCES model_versions(id),
  kind        TEXT NOT NULL CHECK (kind IN ('model', 'dataset')),
  relation    TEXT NOT NULL,
  name        TEXT NOT NULL,
  -- a package URL or URL; '' when the BOM gives none
  ref         TEXT NOT NULL,
  evidence_id INTEGER NOT NULL REFERENCES evidence(id),
  PRIMARY KEY (evidence_id, kind, relation, name)
) STRICT;
CREATE INDEX version_lineage_name ON version_lineage (kind, name);

-- A version's Python packages as each `violet deps` report gives them (the
-- newest counts).
CREATE TABLE version_packages (
  version_id  INTEGER NOT NULL REFERENCES model_versions(id),
  ecosystem   TEXT NOT NULL,
  -- the PEP 503 name
  name        TEXT NOT NULL,
  -- the exact version when pinned, else ''
  version     TEXT NOT NULL,
  specifier   TEXT NOT NULL,
  -- the dependency file (relative to the model) and its line
  manifest    TEXT NOT NULL,
  line        INTEGER NOT NULL,
  -- the worst severity of the report's findings on this package, '' none
  severity    TEXT NOT NULL CHECK (severity IN ('', 'info', 'low', 'medium', 'high', 'critical')),
  evidence_id INTEGER NOT NULL REFERENCES evidence(id),
  PRIMARY KEY (evidence_id, manifest, line, name)
) STRICT;
CREATE INDEX version_packages_name ON version_packages (ecosystem, name, version);

-- An inventory of a code base (`violet discover --format json`), as
-- uploaded by a team, byte for byte.
CREATE TABLE discoveries (
  id          INTEGER PRIMARY KEY,
  team_id     INTEGER NOT NULL REFERENCES teams(id),
  -- what the uploader calls the code base (a repository name)
  source      TEXT NOT NULL,
  sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
  size        INTEGER NOT NULL CHECK (size >= 0),
  report      BLOB NOT NULL,
  uploaded_by TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  UNIQUE (team_id, source, sha256)
) STRICT;

-- The owners of a model as each discovery gives them (the newest discovery
-- of each code base counts).
CREATE TABLE model_owners (
  model_id     INTEGER NOT NULL REFERENCES models(id),
  owner        TEXT NOT NULL,
  -- where discover found the owner: codeowners or git
  via          TEXT NOT NULL CHECK (via IN ('codeowners', 'git')),
  -- the asset of the discovery that is the model (a path or a hub id)
  asset        TEXT NOT NULL,
  discovery_id INTEGER NOT NULL REFERENCES discoveries(id),
  PRIMARY KEY (model_id, discovery_id, owner, via, asset)
) STRICT;
CREATE INDEX model_owners_discovery ON model_owners (discovery_id);
