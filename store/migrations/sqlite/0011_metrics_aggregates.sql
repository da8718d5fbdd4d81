-- Each finding carries its current state (the last row of finding_states),
-- kept by a trigger, so that the metrics count open findings with an index
-- instead of reading every finding's history: state, the accepted risk's
-- expiry, and the time a fixed or false-positive finding took to resolve.

ALTER TABLE findings ADD COLUMN state TEXT NOT NULL DEFAULT 'open'
  CHECK (state IN ('open', 'accepted-risk', 'false-positive', 'fixed'));
ALTER TABLE findings ADD COLUMN state_expires_at TEXT;
ALTER TABLE findings ADD COLUMN resolve_seconds REAL;

UPDATE findings SET
  state = coalesce((SELECT s.state FROM finding_states s WHERE s.finding_id = findings.id ORDER BY s.id DESC LIMIT 1), 'open'),
  state_expires_at = (SELECT s.expires_at FROM finding_states s WHERE s.finding_id = findings.id ORDER BY s.id DESC LIMIT 1),
  resolve_seconds = (SELECT CASE WHEN s.state IN ('fixed', 'false-positive')
      THEN max(0, round((julianday(s.set_at) - julianday(findings.first_seen_at)) * 86400, 3)) END
    FROM finding_states s WHERE s.finding_id = findings.id ORDER BY s.id DESC LIMIT 1);

CREATE TRIGGER finding_states_current AFTER INSERT ON finding_states
BEGIN
  UPDATE findings SET state = NEW.state, state_expires_at = NEW.expires_at,
    resolve_seconds = CASE WHEN NEW.state IN ('fixed', 'false-positive')
      THEN max(0, round((julianday(NEW.set_at) - julianday(findings.first_seen_at)) * 86400, 3)) END
  WHERE id = NEW.finding_id;
END;

CREATE INDEX findings_current ON findings (model_id, state, severity, rule, first_seen_at);
CREATE INDEX findings_resolved ON findings (model_id, state, resolve_seconds);
