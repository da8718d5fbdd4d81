-- Webhooks and their outbox (issue 17). A webhook is a team's receiver
-- URL; the outbox holds every event, written in the transaction of the
-- change that caused it; a delivery is one event for one webhook, retried
-- until delivered or failed for good. The secret is a shared HMAC key,
-- stored as given.

CREATE TABLE webhooks (
  id         INTEGER PRIMARY KEY,
  team_id    INTEGER NOT NULL REFERENCES teams(id),
  url        TEXT NOT NULL,
  format     TEXT NOT NULL CHECK (format IN ('json', 'slack', 'teams')),
  -- the event types subscribed, separated by single spaces
  events     TEXT NOT NULL,
  secret     TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;
CREATE INDEX webhooks_team ON webhooks (team_id);

CREATE TABLE webhook_outbox (
  id         INTEGER PRIMARY KEY,
  event_id   TEXT NOT NULL UNIQUE,
  team_id    INTEGER NOT NULL REFERENCES teams(id),
  event_type TEXT NOT NULL,
  payload    TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY,
  outbox_id       INTEGER NOT NULL REFERENCES webhook_outbox(id),
  webhook_id      INTEGER NOT NULL REFERENCES webhooks(id),
  attempts        INTEGER NOT NULL DEFAULT 0,
  -- due time; a claim moves it forward by the lease
  next_attempt_at TEXT NOT NULL,
  delivered_at    TEXT,
  failed_at       TEXT,
  last_error      TEXT NOT NULL DEFAULT '',
  UNIQUE (outbox_id, webhook_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
