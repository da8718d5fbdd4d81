-- Security metrics (issue 17): a team's target per metric series, and
-- daily snapshots of every series for trends. A series is a metric and
-- its labels, written "name=value" ('' for none); one snapshot row per
-- team, day and series.

CREATE TABLE metric_targets (
  team_id INTEGER NOT NULL REFERENCES teams(id),
  metric  TEXT NOT NULL,
  labels  TEXT NOT NULL DEFAULT '',
  target  REAL NOT NULL,
  set_by  TEXT NOT NULL,
  set_at  TEXT NOT NULL,
  PRIMARY KEY (team_id, metric, labels)
) STRICT;

CREATE TABLE metric_snapshots (
  team_id INTEGER NOT NULL REFERENCES teams(id),
  -- the UTC day, YYYY-MM-DD
  day     TEXT NOT NULL CHECK (length(day) = 10),
  metric  TEXT NOT NULL,
  labels  TEXT NOT NULL DEFAULT '',
  value   REAL NOT NULL,
  PRIMARY KEY (team_id, day, metric, labels)
) STRICT;
CREATE INDEX metric_snapshots_metric ON metric_snapshots (team_id, metric, day);
