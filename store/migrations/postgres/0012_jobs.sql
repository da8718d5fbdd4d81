-- Scan jobs (issue 18). A scan request asks for the model at a location
-- to be fetched, scanned and stored as a version's scan evidence; it is
-- written in the transaction that enqueues its River job (job_id), and the
-- job's last transaction records its outcome: done (the evidence) or
-- incomplete (a report carrying an incomplete rule, never a clean one).
-- A rescan re-judges a stored version (version_id set from the start).
-- River's own tables (river_job, ...) are created by River's migrations,
-- applied by the jobs package when a worker or the server starts.

CREATE TABLE scan_requests (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model_id     BIGINT NOT NULL REFERENCES models(id),
  -- set when the request is a rescan, or once the job stored the version
  version_id   BIGINT REFERENCES model_versions(id),
  kind         TEXT NOT NULL CHECK (kind IN ('scan', 'rescan')),
  location     TEXT NOT NULL,
  -- the location the job fetched, pinned (a resolved revision, tag or
  -- listing): what a rescan fetches again
  pinned       TEXT NOT NULL DEFAULT '',
  status       TEXT NOT NULL CHECK (status IN ('queued', 'done', 'incomplete')),
  job_id       BIGINT,
  evidence_id  BIGINT REFERENCES evidence(id),
  -- the scanner version and policy digest that judged
  scanner      TEXT NOT NULL DEFAULT '',
  policy       TEXT NOT NULL DEFAULT '',
  error        TEXT NOT NULL DEFAULT '',
  requested_by TEXT NOT NULL,
  requested_at TIMESTAMPTZ NOT NULL,
  finished_at  TIMESTAMPTZ
);
CREATE INDEX scan_requests_model ON scan_requests (model_id, id);
CREATE INDEX scan_requests_version ON scan_requests (version_id, id);
CREATE INDEX scan_requests_job ON scan_requests (job_id);
