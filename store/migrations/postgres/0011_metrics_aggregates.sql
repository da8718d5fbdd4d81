-- Each finding carries its current state (the last row of finding_states),
-- kept by a trigger, so that the metrics count open findings with an index
-- instead of reading every finding's history: state, the accepted risk's
-- expiry, and the time a fixed or false-positive finding took to resolve.

ALTER TABLE findings ADD COLUMN state TEXT NOT NULL DEFAULT 'open'
  CHECK (state IN ('open', 'accepted-risk', 'false-positive', 'fixed'));
ALTER TABLE findings ADD COLUMN state_expires_at TIMESTAMPTZ;
ALTER TABLE findings ADD COLUMN resolve_seconds DOUBLE PRECISION;

UPDATE findings f SET state = s.state, state_expires_at = s.expires_at,
  resolve_seconds = CASE WHEN s.state IN ('fixed', 'false-positive')
    THEN greatest(0, extract(epoch FROM s.set_at - f.first_seen_at)) END
FROM (SELECT DISTINCT ON (finding_id) finding_id, state, expires_at, set_at
      FROM finding_states ORDER BY finding_id, id DESC) s
WHERE s.finding_id = f.id;

CREATE FUNCTION violet_finding_state_current() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE findings SET state = NEW.state, state_expires_at = NEW.expires_at,
    resolve_seconds = CASE WHEN NEW.state IN ('fixed', 'false-positive')
      THEN greatest(0, extract(epoch FROM NEW.set_at - findings.first_seen_at)) END
  WHERE id = NEW.finding_id;
  RETURN NEW;
END;
$$;
CREATE TRIGGER finding_states_current AFTER INSERT ON finding_states
  FOR EACH ROW EXECUTE FUNCTION violet_finding_state_current();

CREATE INDEX findings_current ON findings (model_id, state, severity, rule, first_seen_at);
CREATE INDEX findings_resolved ON findings (model_id, state, resolve_seconds);
