package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The event types a webhook subscribes to. Each is written to the outbox
// in the transaction of the change that causes it, so that a crash never
// keeps the change and loses the event.
const (
	// EventFindingCritical: a scan recorded a new critical finding.
	EventFindingCritical = "finding.critical"
	// EventReleaseWaiting: a release was requested and waits for the
	// decisions of its required roles.
	EventReleaseWaiting = "release.waiting"
	// EventIncidentOpened: an incident (or a drill's incident) was opened.
	EventIncidentOpened = "incident.opened"
	// EventDrillScheduled: a drill was scheduled.
	EventDrillScheduled = "drill.scheduled"
)

// ChangeEvents lists the event types that a change to the records
// queues, in documentation order.
var ChangeEvents = []string{EventFindingCritical, EventReleaseWaiting, EventIncidentOpened, EventDrillScheduled}

// WebhookEvents lists every event type a webhook may subscribe to, in
// documentation order: those of changes, of the scan jobs and of time
// passing.
var WebhookEvents = slices.Concat(ChangeEvents, JobEvents, NoticeEvents)

// WebhookFormats lists the payload formats: the event as JSON, Slack's
// {"text": ...} and a Microsoft Teams MessageCard.
var WebhookFormats = []string{"json", "slack", "teams"}

// Bounds of a webhook's fields.
const (
	maxWebhookURL    = 2048
	minWebhookSecret = 16
	maxWebhookSecret = 256
	maxDeliveryError = 512
	// maxEventFindings is the most findings a finding.critical event lists.
	maxEventFindings = 50
)

// Webhook is a team's receiver of events. Secret is a shared HMAC key,
// stored as given: whoever reads the database can sign events.
type Webhook struct {
	ID        int64
	TeamID    int64
	URL       string
	Format    string   // one of WebhookFormats
	Events    []string // a subset of WebhookEvents
	Secret    string
	CreatedBy string
	CreatedAt time.Time
	Disabled  bool
}

// Delivery is one event for one webhook and its progress.
type Delivery struct {
	ID            int64
	WebhookID     int64
	EventID       string
	EventType     string
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time // zero until delivered
	FailedAt      time.Time // zero unless it failed for good
	LastError     string
}

// outboxEvent is an event queued by a write transaction.
type outboxEvent struct {
	typ     string
	team    int64
	payload map[string]any
	// id is the event's id when it is derived from what the event is
	// about (a reminder); "" draws a random one.
	id string
}

// event queues an event of the team for the outbox, written in the same
// transaction as the change and its audit records.
func (q *auditQueue) event(typ string, team int64, payload map[string]any) {
	q.events = append(q.events, outboxEvent{typ: typ, team: team, payload: payload})
}

// checkWebhook validates w's fields.
func checkWebhook(w Webhook) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("webhook: "+format+": %w", append(args, ErrInvalid)...)
	}
	u, err := url.Parse(w.URL)
	switch {
	case len(w.URL) > maxWebhookURL:
		return bad("url longer than %d bytes", maxWebhookURL)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		return bad("url %q: want an http or https URL without credentials", clip(w.URL))
	case len(w.Secret) < minWebhookSecret || len(w.Secret) > maxWebhookSecret || !utf8.ValidString(w.Secret):
		return bad("secret: want %d to %d bytes of UTF-8", minWebhookSecret, maxWebhookSecret)
	case len(w.Events) == 0:
		return bad("no events subscribed")
	}
	if err := oneOf("webhook format", w.Format, WebhookFormats); err != nil {
		return err
	}
	for _, e := range w.Events {
		if err := oneOf("webhook event", e, WebhookEvents); err != nil {
			return err
		}
	}
	return nil
}

// CreateWebhook adds a webhook to w.TeamID, created by a.
func (s *Store) CreateWebhook(ctx context.Context, a Actor, w Webhook) (Webhook, error) {
	if err := checkWebhook(w); err != nil {
		return Webhook{}, err
	}
	w.CreatedBy, w.CreatedAt, w.Disabled = a.Name, s.stamp(), false
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhooks (team_id, url, format, events, secret, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, w.TeamID, w.URL, w.Format, strings.Join(w.Events, " "),
			w.Secret, w.CreatedBy, fmtTime(w.CreatedAt)).Scan(&w.ID); err != nil {
			return err
		}
		log.add("webhook.create", objectID("webhook", w.ID), map[string]any{"team": w.TeamID, "url": w.URL,
			"format": w.Format, "events": w.Events})
		return nil
	})
	if err != nil {
		return Webhook{}, err
	}
	return w, nil
}

// DisableWebhook disables webhook id of team teamID: its pending
// deliveries stop and no new ones are queued. Disabling twice is a no-op.
func (s *Store) DisableWebhook(ctx context.Context, a Actor, teamID, id int64) error {
	return s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var disabled int
		if err := tx.QueryRowContext(ctx, `SELECT disabled FROM webhooks WHERE id = $1 AND team_id = $2`,
			id, teamID).Scan(&disabled); err != nil {
			return err
		}
		if disabled == 1 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET disabled = 1 WHERE id = $1`, id); err != nil {
			return err
		}
		log.add("webhook.disable", objectID("webhook", id), nil)
		return nil
	})
}

const webhookColumns = `id, team_id, url, format, events, secret, created_by, created_at, disabled`

func scanWebhook(row scanner) (Webhook, error) {
	var w Webhook
	var events string
	var at dbTime
	var disabled int
	err := row.Scan(&w.ID, &w.TeamID, &w.URL, &w.Format, &events, &w.Secret, &w.CreatedBy, &at, &disabled)
	w.Events, w.CreatedAt, w.Disabled = strings.Fields(events), at.T, disabled == 1
	return w, err
}

// Webhooks returns the webhooks of team teamID, disabled ones included.
func (s *Store) Webhooks(ctx context.Context, teamID int64) ([]Webhook, error) {
	out, err := queryAll(ctx, s.rdb, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks WHERE team_id = $1 ORDER BY id`, teamID)
	return out, s.wrap(err)
}

// MaxDeliveryPage is the most deliveries that WebhookDeliveries returns.
const MaxDeliveryPage = 500

// WebhookDeliveries returns the last deliveries (at most MaxDeliveryPage)
// of webhook id of team teamID, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, teamID, id int64) ([]Delivery, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Delivery, error) {
		var d Delivery
		var next, done, failed dbTime
		err := row.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Attempts, &next, &done, &failed, &d.LastError)
		d.NextAttemptAt, d.DeliveredAt, d.FailedAt = next.T, done.T, failed.T
		return d, err
	}, fmt.Sprintf(`SELECT d.id, d.webhook_id, o.event_id, o.event_type, d.attempts, d.next_attempt_at, d.delivered_at,
		d.failed_at, d.last_error FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.outbox_id
		JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = $1 AND w.team_id = $2
		ORDER BY d.id DESC LIMIT %d`, MaxDeliveryPage), id, teamID)
	return out, s.wrap(err)
}

// insertOutbox writes the events queued in q to the outbox, in tx, and
// queues one delivery per enabled webhook of the event's team subscribed
// to its type.
func (s *Store) insertOutbox(ctx context.Context, tx *sql.Tx, q *auditQueue) error {
	for _, e := range q.events {
		id := e.id
		if id == "" {
			b := make([]byte, 16)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			id = hex.EncodeToString(b)
		}
		at := s.stamp()
		payload, err := json.Marshal(map[string]any{"id": id, "type": e.typ, "team": e.team, "at": fmtTime(at), "data": e.payload})
		if err != nil {
			return fmt.Errorf("webhook payload: %w", err)
		}
		var outboxID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_outbox (event_id, team_id, event_type, payload, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, id, e.team, e.typ, string(payload), fmtTime(at)).Scan(&outboxID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (outbox_id, webhook_id, next_attempt_at)
			SELECT $1, id, $2 FROM webhooks WHERE team_id = $3 AND disabled = 0 AND ' ' || events || ' ' LIKE $4`,
			outboxID, fmtTime(at), e.team, "% "+e.typ+" %"); err != nil {
			return err
		}
	}
	return nil
}

// releaseWaiting queues EventReleaseWaiting for release r when some of
// its required roles have not approved (their last decision is not an
// approval), naming them.
func releaseWaiting(ctx context.Context, tx *sql.Tx, log *auditQueue, r Release) error {
	missing, err := rolesWaiting(ctx, tx, r.ID, r.Required)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		log.event(EventReleaseWaiting, r.TeamID, map[string]any{"release": r.ID, "model": r.Model, "title": r.Title,
			"digest": r.Digest, "waiting_for": missing})
	}
	return nil
}

// rolesWaiting lists the roles of required whose last decision on release
// releaseID is not an approval: none when the release is approved.
func rolesWaiting(ctx context.Context, tx *sql.Tx, releaseID int64, required []string) ([]string, error) {
	type decision struct{ role, decision string }
	ds, err := queryAll(ctx, tx, func(row scanner) (decision, error) {
		var d decision
		return d, row.Scan(&d.role, &d.decision)
	}, `SELECT role, decision FROM release_decisions WHERE release_id = $1 ORDER BY id`, releaseID)
	if err != nil {
		return nil, err
	}
	last := map[string]string{}
	for _, d := range ds {
		last[d.role] = d.decision
	}
	missing := []string{}
	for _, role := range required {
		if last[role] != DecisionApprove {
			missing = append(missing, role)
		}
	}
	return missing, nil
}

// Outbox is the webhook dispatcher's side of the store: it claims due
// deliveries and records their outcome. Its bookkeeping is not audited
// (the deliveries table is its record); it is not part of *Store's API so
// that only the dispatcher uses it.
type Outbox struct{ s *Store }

// Outbox returns the dispatcher's handle on the store.
func (s *Store) Outbox() *Outbox { return &Outbox{s} }

// Due is a claimed delivery: what to send, and where.
type Due struct {
	ID        int64
	Attempts  int // attempts made before this one
	EventType string
	Payload   []byte // the event, as JSON
	Webhook   Webhook
}

// Claim claims up to limit deliveries due at now, leasing each for lease:
// a dispatcher that dies mid-send leaves it to be claimed again when the
// lease ends (at-least-once delivery). Two dispatchers never claim the
// same delivery at the same time.
func (o *Outbox) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Due, error) {
	s := o.s
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	due, err := queryAll(ctx, tx, func(row scanner) (Due, error) {
		var d Due
		var payload string
		w, err := scanWebhook(scanFunc(func(dest ...any) error {
			return row.Scan(append([]any{&d.ID, &d.Attempts, &d.EventType, &payload}, dest...)...)
		}))
		d.Payload, d.Webhook = []byte(payload), w
		return d, err
	}, fmt.Sprintf(`SELECT d.id, d.attempts, o.event_type, o.payload, w.id, w.team_id, w.url, w.format, w.events,
		w.secret, w.created_by, w.created_at, w.disabled
		FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.outbox_id JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1 AND w.disabled = 0
		ORDER BY d.next_attempt_at, d.id LIMIT %d`, max(limit, 1)), fmtTime(now))
	if err != nil {
		return nil, s.wrap(err)
	}
	var out []Due
	for _, d := range due {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1
			WHERE id = $2 AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3`,
			fmtTime(now.Add(lease)), d.ID, fmtTime(now))
		if err != nil {
			return nil, s.wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, s.wrap(err)
		} else if n == 1 {
			out = append(out, d)
		}
	}
	return out, s.wrap(tx.Commit())
}

// scanFunc adapts a function to scanner.
type scanFunc func(dest ...any) error

// Scan implements scanner.
func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// Delivered records that delivery id was delivered at now.
func (o *Outbox) Delivered(ctx context.Context, id int64, now time.Time) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = $1,
		last_error = '' WHERE id = $2`, fmtTime(now), id)
	return o.s.wrap(err)
}

// Failed records a failed attempt of delivery id at now: after
// maxAttempts attempts the delivery fails for good, else it is due again
// after backoff·2^(attempts-1), capped at an hour.
func (o *Outbox) Failed(ctx context.Context, id int64, now time.Time, cause string, maxAttempts int, backoff time.Duration) error {
	s := o.s
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var attempts int
	if err := tx.QueryRowContext(ctx, `SELECT attempts FROM webhook_deliveries WHERE id = $1`, id).Scan(&attempts); err != nil {
		return s.wrap(err)
	}
	attempts++
	cause = clipUTF8(cause, maxDeliveryError)
	if attempts >= maxAttempts {
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = $1, failed_at = $2, last_error = $3
			WHERE id = $4`, attempts, fmtTime(now), cause, id)
	} else {
		wait := min(backoff<<min(attempts-1, 20), time.Hour)
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = $1, next_attempt_at = $2, last_error = $3
			WHERE id = $4`, attempts, fmtTime(now.Add(wait)), cause, id)
	}
	if err != nil {
		return s.wrap(err)
	}
	return s.wrap(tx.Commit())
}
