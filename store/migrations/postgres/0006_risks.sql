-- Threat models and the risk register (issue 16). A model's threat model
-- holds its assets and entry points and the MITRE ATLAS techniques that
-- apply to it, each with its mitigations, the Violet controls that give
-- evidence for it (rule ids, evidence kinds) and the residual risk. The
-- risk register holds a team's risks of every kind (security, privacy,
-- ethics and bias, usability, legal and regulatory), each with an owner
-- role, a likelihood and an impact (1 to 5), a treatment and its plan, and
-- a review date. Both are edited in place: their history is the audit log,
-- where every change is recorded with what it changed.

CREATE TABLE threat_models (
  model_id     BIGINT PRIMARY KEY REFERENCES models(id),
  assets       TEXT NOT NULL,
  entry_points TEXT NOT NULL,
  updated_by   TEXT NOT NULL,
  updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE threat_techniques (
  model_id    BIGINT NOT NULL REFERENCES threat_models(model_id),
  atlas_id    TEXT NOT NULL CHECK (atlas_id LIKE 'AML.T%'),
  position    INTEGER NOT NULL CHECK (position >= 0),
  why         TEXT NOT NULL,
  mitigations TEXT NOT NULL,
  -- the Violet controls, separated by single spaces
  controls    TEXT NOT NULL,
  residual    TEXT NOT NULL CHECK (residual IN ('low', 'medium', 'high', 'critical')),
  PRIMARY KEY (model_id, atlas_id)
);

CREATE TABLE risks (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id     BIGINT NOT NULL REFERENCES teams(id),
  model_id    BIGINT REFERENCES models(id),
  category    TEXT NOT NULL CHECK (category IN ('security', 'privacy', 'ethics-bias', 'usability',
                                                'legal-regulatory', 'other')),
  title       TEXT NOT NULL CHECK (title <> ''),
  description TEXT NOT NULL,
  owner_role  TEXT NOT NULL CHECK (owner_role IN ('admin', 'ml-engineer', 'security', 'sme',
                                                  'legal-compliance', 'hr', 'procurement', 'viewer')),
  likelihood  INTEGER NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
  impact      INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
  treatment   TEXT NOT NULL CHECK (treatment IN ('mitigate', 'accept', 'transfer', 'avoid')),
  plan        TEXT NOT NULL,
  review_by   TIMESTAMPTZ NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('open', 'in-treatment', 'closed')),
  created_by  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL,
  updated_by  TEXT NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX risks_team ON risks (team_id, review_by);
CREATE INDEX risks_model ON risks (model_id);
