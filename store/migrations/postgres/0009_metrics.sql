-- Security metrics (issue 17): a team's target per metric series, and
-- daily snapshots of every series for trends. A series is a metric and
-- its labels, written "name=value" ('' for none); one snapshot row per
-- team, day and series.

CREATE TABLE metric_targets (
  team_id BIGINT NOT NULL REFERENCES teams(id),
  metric  TEXT NOT NULL,
  labels  TEXT NOT NULL DEFAULT '',
  target  DOUBLE PRECISION NOT NULL,
  set_by  TEXT NOT NULL,
  set_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (team_id, metric, labels)
);

CREATE TABLE metric_snapshots (
  team_id BIGINT NOT NULL REFERENCES teams(id),
  -- the UTC day, YYYY-MM-DD
  day     TEXT NOT NULL CHECK (length(day) = 10),
  metric  TEXT NOT NULL,
  labels  TEXT NOT NULL DEFAULT '',
  value   DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (team_id, day, metric, labels)
);
CREATE INDEX metric_snapshots_metric ON metric_snapshots (team_id, metric, day);
