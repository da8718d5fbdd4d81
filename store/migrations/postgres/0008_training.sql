-- Training records and procurement reviews of third-party AI.
-- A course says which roles must take it and how long a completion
-- stays valid; completions are append-only. A procurement review records
-- the questionnaire of a vendor's AI product, the decision with its
-- conditions, and the models it covers: a third-party model's release
-- needs an approved review of it.

CREATE TABLE courses (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id    BIGINT NOT NULL REFERENCES teams(id),
  title      TEXT NOT NULL,
  topic      TEXT NOT NULL CHECK (topic IN ('threat-landscape', 'regulatory', 'ethical-ai', 'incident-response', 'role-specific')),
  -- the roles that must take it, space-separated, sorted
  roles      TEXT NOT NULL,
  valid_days BIGINT NOT NULL CHECK (valid_days BETWEEN 1 AND 1830),
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (team_id, title)
);

CREATE TABLE training_completions (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  course_id    BIGINT NOT NULL REFERENCES courses(id),
  user_id      BIGINT NOT NULL REFERENCES users(id),
  completed_at TIMESTAMPTZ NOT NULL,
  expires_at   TIMESTAMPTZ NOT NULL,
  recorded_by  TEXT NOT NULL
);
CREATE INDEX training_completions_course ON training_completions (course_id, user_id, id);
CREATE TRIGGER training_completions_append_only BEFORE UPDATE OR DELETE ON training_completions
  FOR EACH ROW EXECUTE FUNCTION violet_append_only();
CREATE TRIGGER training_completions_no_truncate BEFORE TRUNCATE ON training_completions
  FOR EACH STATEMENT EXECUTE FUNCTION violet_append_only();

CREATE TABLE procurement_reviews (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id     BIGINT NOT NULL REFERENCES teams(id),
  vendor      TEXT NOT NULL,
  product     TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('llm-api', 'vendor-model', 'hub-model', 'dataset', 'other')),
  -- the questionnaire, a JSON object of the answers
  answers     TEXT NOT NULL,
  decision    TEXT NOT NULL CHECK (decision IN ('pending', 'approved', 'approved-with-conditions', 'rejected')),
  conditions  TEXT NOT NULL,
  decided_by  TEXT,
  decided_at  TIMESTAMPTZ,
  created_by  TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE procurement_models (
  review_id BIGINT NOT NULL REFERENCES procurement_reviews(id),
  model_id  BIGINT NOT NULL REFERENCES models(id),
  PRIMARY KEY (review_id, model_id)
);
CREATE INDEX procurement_models_model ON procurement_models (model_id);
