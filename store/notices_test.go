package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestQueueDueNotices: an overdue training and a drill due queue one event
// each, once however often the check runs; a completion that expires again
// notifies again; a started drill or one far ahead does not.
func TestQueueDueNotices(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		setClock(s, t0)
		f := newFixture(t, s, "a")
		hook := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, EventTrainingOverdue, EventDrillDue)))
		c := must[Course](t)(s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "t", Topic: "regulatory", Roles: []string{"ml-engineer"}, ValidDays: 30}))
		for _, at := range []time.Time{t0.Add(12 * time.Hour), t0.Add(72 * time.Hour), t0.Add(-time.Hour)} {
			must[Drill](t)(s.ScheduleDrill(ctx, tester, Drill{TeamID: f.team.ID, Scenario: DrillScenarios()[0].ID, ScheduledAt: at,
				Participants: []DrillParticipant{{Role: RoleSecurity}}}))
		}
		drills := must[[]Drill](t)(s.Drills(ctx, f.team.ID)) // newest first
		if _, _, err := s.StartDrill(ctx, tester, drills[0].ID, "alice"); err != nil {
			t.Fatal(err)
		}
		countEvents := func(typ string) int {
			t.Helper()
			var n int
			if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM webhook_outbox WHERE event_type = $1`, typ).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// The training never taken and the drill in 12 hours (the one in
		// 72 hours is not due, the one of an hour ago was started).
		if n := must[int](t)(s.QueueDueNotices(ctx, tester)); n != 2 {
			t.Fatalf("queued %d, want 2", n)
		}
		if n := must[int](t)(s.QueueDueNotices(ctx, tester)); n != 0 {
			t.Fatalf("queued %d again", n)
		}
		if countEvents(EventTrainingOverdue) != 1 || countEvents(EventDrillDue) != 1 {
			t.Fatalf("events: %d training, %d drill", countEvents(EventTrainingOverdue), countEvents(EventDrillDue))
		}
		if ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, f.team.ID, hook.ID)); len(ds) != 2 {
			t.Fatalf("deliveries %+v", ds)
		}
		// Completed: nothing more; 31 days on the completion expired and the
		// drill in 72 hours is due: two more.
		must[Completion](t)(s.RecordCompletion(ctx, tester, c.ID, f.user.ID, t0))
		if n := must[int](t)(s.QueueDueNotices(ctx, tester)); n != 0 {
			t.Fatalf("queued %d after the completion", n)
		}
		setClock(s, t0.AddDate(0, 0, 31))
		if n := must[int](t)(s.QueueDueNotices(ctx, tester)); n != 2 {
			t.Fatalf("queued %d after the expiry, want 2", n)
		}
		if countEvents(EventTrainingOverdue) != 2 || countEvents(EventDrillDue) != 2 {
			t.Fatalf("events: %d training, %d drill", countEvents(EventTrainingOverdue), countEvents(EventDrillDue))
		}
		verifyOK(t, s)
	})
}

// TestQueueWeeklyReport: one report.weekly event per team and ISO week.
func TestQueueWeeklyReport(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		monday := time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC)
		setClock(s, monday)
		f := newFixture(t, s, "a")
		hook := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, EventReportWeekly)))
		for i, want := range []bool{true, false} {
			if q := must[bool](t)(s.QueueWeeklyReport(ctx, tester, f.team.ID, text("# week"))); q != want {
				t.Fatalf("call %d: queued %v", i, q)
			}
		}
		setClock(s, monday.AddDate(0, 0, 6)) // Sunday: the same week
		if must[bool](t)(s.QueueWeeklyReport(ctx, tester, f.team.ID, text("# week"))) {
			t.Fatal("queued twice in a week")
		}
		setClock(s, monday.AddDate(0, 0, 7))
		if !must[bool](t)(s.QueueWeeklyReport(ctx, tester, f.team.ID, text("# next week"))) {
			t.Fatal("next week's report not queued")
		}
		if ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, f.team.ID, hook.ID)); len(ds) != 2 {
			t.Fatalf("deliveries %+v", ds)
		}
		setClock(s, monday.AddDate(0, 0, 14)) // a week with no report yet
		_, err := s.QueueWeeklyReport(ctx, tester, f.team.ID, text(strings.Repeat("x", maxReportEvent+1)))
		wantErr(t, err, ErrInvalid)
	})
}

// text renders a fixed report.
func text(s string) func() (string, error) { return func() (string, error) { return s, nil } }
