-- Training records and procurement reviews of third-party AI.
-- A course says which roles must take it and how long a completion
-- stays valid; completions are append-only. A procurement review records
-- the questionnaire of a vendor's AI product, the decision with its
-- conditions, and the models it covers: a third-party model's release
-- needs an approved review of it.

CREATE TABLE courses (
  id         INTEGER PRIMARY KEY,
  team_id    INTEGER NOT NULL REFERENCES teams(id),
  title      TEXT NOT NULL,
  topic      TEXT NOT NULL CHECK (topic IN ('threat-landscape', 'regulatory', 'ethical-ai', 'incident-response', 'role-specific')),
  -- the roles that must take it, space-separated, sorted
  roles      TEXT NOT NULL,
  valid_days INTEGER NOT NULL CHECK (valid_days BETWEEN 1 AND 1830),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (team_id, title)
) STRICT;

CREATE TABLE training_completions (
  id           INTEGER PRIMARY KEY,
  course_id    INTEGER NOT NULL REFERENCES courses(id),
  user_id      INTEGER NOT NULL REFERENCES users(id),
  completed_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  recorded_by  TEXT NOT NULL
) STRICT;
CREATE INDEX training_completions_course ON training_completions (course_id, user_id, id);
CREATE TRIGGER training_completions_no_update BEFORE UPDATE ON training_completions
BEGIN
  SELECT RAISE(ABORT, 'training_completions is append-only');
END;
CREATE TRIGGER training_completions_no_delete BEFORE DELETE ON training_completions
BEGIN
  SELECT RAISE(ABORT, 'training_completions is append-only');
END;

CREATE TABLE procurement_reviews (
  id          INTEGER PRIMARY KEY,
  team_id     INTEGER NOT NULL REFERENCES teams(id),
  vendor      TEXT NOT NULL,
  product     TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('llm-api', 'vendor-model', 'hub-model', 'dataset', 'other')),
  -- the questionnaire, a JSON object of the answers
  answers     TEXT NOT NULL,
  decision    TEXT NOT NULL CHECK (decision IN ('pending', 'approved', 'approved-with-conditions', 'rejected')),
  conditions  TEXT NOT NULL,
  decided_by  TEXT,
  decided_at  TEXT,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE procurement_models (
  review_id INTEGER NOT NULL REFERENCES procurement_reviews(id),
  model_id  INTEGER NOT NULL REFERENCES models(id),
  PRIMARY KEY (review_id, model_id)
) STRICT;
CREATE INDEX procurement_models_model ON procurement_models (model_id);
