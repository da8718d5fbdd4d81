package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"
)

// The event types of the reminders that QueueDueNotices writes: they come
// from time passing, not from a change, so the server's hourly check
// queues them, once each.
const (
	// EventTrainingOverdue: a member's course is overdue (never completed,
	// or the last completion expired).
	EventTrainingOverdue = "training.overdue"
	// EventDrillDue: a drill not started is scheduled within DrillDueWithin
	// (or its day has passed).
	EventDrillDue = "drill.due"
	// EventReportWeekly: the team's weekly report (Markdown), once per
	// ISO week.
	EventReportWeekly = "report.weekly"
)

// NoticeEvents lists the event types that come from time passing (part
// of WebhookEvents).
var NoticeEvents = []string{EventTrainingOverdue, EventDrillDue, EventReportWeekly}

// maxReportEvent bounds the report text a report.weekly event carries.
const maxReportEvent = 256 << 10

// DrillDueWithin is how long before its scheduled time a drill is due.
const DrillDueWithin = 24 * time.Hour

// noticeID is the outbox event id of a reminder: derived from what it is
// about, so that the same reminder is queued once however often the check
// runs (32 hex digits, like the ids of other events).
func noticeID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// QueueDueNotices queues, for every team, a training.overdue event for each
// overdue pair of a member and a course (once per pair and last
// completion: a completion that expires again notifies again) and a
// drill.due event for each drill not started that is scheduled within
// DrillDueWithin of now or before (once per drill). It returns how many
// events it queued; one audit record ("notices.queue") covers a call
// that queued any.
func (s *Store) QueueDueNotices(ctx context.Context, a Actor) (int, error) {
	teams, err := s.Teams(ctx)
	if err != nil {
		return 0, err
	}
	type notice struct {
		key, typ string
		team     int64
		payload  map[string]any
	}
	var due []notice
	now := s.stamp()
	for _, t := range teams {
		status, err := s.TrainingStatus(ctx, t.ID)
		if err != nil {
			return 0, err
		}
		for _, x := range status {
			if !x.Overdue {
				continue
			}
			var last int64
			payload := map[string]any{"course": x.Course.ID, "title": x.Course.Title, "login": x.Login, "role": x.Role}
			if x.Last != nil {
				last = x.Last.ID
				payload["expired_at"] = fmtTime(x.Last.ExpiresAt)
			}
			due = append(due, notice{fmt.Sprintf("%s/%d/%d/%d/%d", EventTrainingOverdue, t.ID, x.Course.ID, x.UserID, last),
				EventTrainingOverdue, t.ID, payload})
		}
		drills, err := s.Drills(ctx, t.ID)
		if err != nil {
			return 0, err
		}
		for _, d := range drills {
			if d.StartedAt.IsZero() && d.ScheduledAt.Sub(now) <= DrillDueWithin {
				due = append(due, notice{fmt.Sprintf("%s/%d", EventDrillDue, d.ID), EventDrillDue, t.ID,
					map[string]any{"drill": d.ID, "scenario": d.Scenario, "scheduled_at": fmtTime(d.ScheduledAt)}})
			}
		}
	}
	queued := 0
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		for _, n := range due {
			seen, err := eventQueued(ctx, tx, noticeID(n.key))
			if err != nil {
				return err
			}
			if !seen {
				log.events = append(log.events, outboxEvent{typ: n.typ, team: n.team, payload: n.payload, id: noticeID(n.key)})
				queued++
			}
		}
		if queued > 0 {
			log.add("notices.queue", "notices/"+fmtTime(now), map[string]any{"events": queued})
		}
		return nil
	})
	return queued, err
}

// QueueWeeklyReport queues the team's weekly report (Markdown, from
// render) for the webhooks, once per ISO week of now: it returns false,
// without rendering, when that week's report was queued already. A report
// over 256 KiB is refused.
func (s *Store) QueueWeeklyReport(ctx context.Context, a Actor, teamID int64, render func() (string, error)) (bool, error) {
	year, week := s.stamp().ISOWeek()
	period := fmt.Sprintf("%d-W%02d", year, week)
	id := noticeID(fmt.Sprintf("%s/%d/%s", EventReportWeekly, teamID, period))
	if seen, err := eventQueued(ctx, s.rdb, id); err != nil || seen {
		return false, s.wrap(err)
	}
	markdown, err := render()
	if err != nil {
		return false, err
	}
	if len(markdown) > maxReportEvent {
		return false, fmt.Errorf("weekly report of %d bytes: over %d: %w", len(markdown), maxReportEvent, ErrInvalid)
	}
	// Checked again in the transaction: another server may have queued it.
	queued := false
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		seen, err := eventQueued(ctx, tx, id)
		if err != nil {
			return err
		}
		if queued = !seen; queued {
			log.events = append(log.events, outboxEvent{typ: EventReportWeekly, team: teamID, id: id,
				payload: map[string]any{"week": period, "markdown": markdown}})
			log.add("report.weekly", objectID("team", teamID), map[string]any{"week": period})
		}
		return nil
	})
	return queued, err
}

// eventQueued reports whether the outbox holds event id (a notice's id,
// derived from what it is about: queued once, by any server).
func eventQueued(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, id string) (bool, error) {
	var seen bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_outbox WHERE event_id = $1)`, id).Scan(&seen)
	return seen, err
}
