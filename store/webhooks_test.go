package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// checkWebhookSeeds checks the rows of the 0010_webhooks seed (from
// version 10).
func checkWebhookSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 10 {
		return
	}
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	ws := must[[]Webhook](t)(s.Webhooks(ctx, teams[0].ID))
	if len(ws) != 1 || ws[0].Format != "slack" || len(ws[0].Events) != 2 || ws[0].Events[1] != EventFindingCritical ||
		ws[0].Disabled || ws[0].CreatedAt != time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Fatalf("seed webhooks %+v", ws)
	}
	ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, teams[0].ID, ws[0].ID))
	if len(ds) != 1 || ds[0].EventID != "seed-event" || ds[0].Attempts != 2 || ds[0].LastError != "HTTP 500" ||
		!ds[0].DeliveredAt.IsZero() {
		t.Fatalf("seed deliveries %+v", ds)
	}
}

// testWebhook is a webhook of the fixture's team subscribed to events.
func testWebhook(f fixture, events ...string) Webhook {
	return Webhook{TeamID: f.team.ID, URL: "https://hooks.example/in", Format: "json", Events: events,
		Secret: "a shared secret of the test"}
}

// TestWebhookEventsInOutbox: each event type queues one delivery per
// enabled, subscribed webhook of the team, in the change's transaction;
// an unsubscribed or disabled webhook and another team get none.
func TestWebhookEventsInOutbox(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "Hook")
		other := newFixture(t, s, "Other")
		all := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, ChangeEvents...)))
		inc := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, EventIncidentOpened)))
		off := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, ChangeEvents...)))
		if err := s.DisableWebhook(ctx, tester, f.team.ID, off.ID); err != nil {
			t.Fatal(err)
		}
		elsewhere := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(other, ChangeEvents...)))

		crit := []FindingInput{
			{Rule: "PICKLE-GLOBAL", FileSHA256: sha("weightsHook"), Location: "a", Severity: finding.Critical, Message: "os.system"},
			{Rule: "PICKLE-GLOBAL", FileSHA256: sha("weightsHook"), Location: "b", Severity: finding.High, Message: "x"},
		}
		must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, crit))
		// Seen again: not new, no event.
		must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, crit))
		rel := must[Release](t)(s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "to prod", Tier: "low",
			Required: []string{"ml-engineer", "security"}}))
		// An approval that leaves security missing: waiting again, for it.
		must[ReleaseDecision](t)(s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: rel.ID,
			Role: "ml-engineer", Decision: DecisionApprove, Reason: "ok", Digest: rel.Digest}))
		must[Incident](t)(s.OpenIncident(ctx, tester, "alice", testIncident(f), nil))
		must[Drill](t)(s.ScheduleDrill(ctx, tester, testDrill(f)))

		got := map[string]int{}
		for _, d := range must[[]Delivery](t)(s.WebhookDeliveries(ctx, f.team.ID, all.ID)) {
			got[d.EventType]++
		}
		if len(got) != 4 || got[EventFindingCritical] != 1 || got[EventReleaseWaiting] != 2 ||
			got[EventIncidentOpened] != 1 || got[EventDrillScheduled] != 1 {
			t.Fatalf("deliveries of the subscribed webhook: %v", got)
		}
		if ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, f.team.ID, inc.ID)); len(ds) != 1 || ds[0].EventType != EventIncidentOpened {
			t.Fatalf("deliveries of the incident webhook: %+v", ds)
		}
		if ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, f.team.ID, off.ID)); len(ds) != 0 {
			t.Fatalf("the disabled webhook got %+v", ds)
		}
		if ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, other.team.ID, elsewhere.ID)); len(ds) != 0 {
			t.Fatalf("the other team's webhook got %+v", ds)
		}
		// Another team cannot read this team's deliveries.
		if ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, other.team.ID, all.ID)); len(ds) != 0 {
			t.Fatalf("cross-team read %+v", ds)
		}
		// The payload of the critical finding names the finding.
		due := must[[]Due](t)(s.Outbox().Claim(ctx, s.now().Add(time.Second), time.Minute, 100))
		found, waiting := false, []string{}
		for _, d := range due {
			if d.EventType == EventReleaseWaiting {
				var p struct {
					Data struct {
						WaitingFor []string `json:"waiting_for"`
					}
				}
				if err := json.Unmarshal(d.Payload, &p); err != nil {
					t.Fatal(err)
				}
				waiting = append(waiting, strings.Join(p.Data.WaitingFor, "+"))
			}
			if d.EventType == EventFindingCritical {
				var p struct {
					Type string
					Team int64
					Data struct {
						Findings []struct{ Rule, Location string }
					}
				}
				if err := json.Unmarshal(d.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if p.Team != f.team.ID || len(p.Data.Findings) != 1 || p.Data.Findings[0].Location != "a" {
					t.Fatalf("payload %s", d.Payload)
				}
				found = true
			}
		}
		if len(due) != 6 || !found || strings.Join(waiting, " ") != "ml-engineer+security security" {
			t.Fatalf("claimed %d, waiting for %q", len(due), waiting)
		}
	})
}

// TestWebhookOutboxRollsBack: a change and its event commit together: a
// change that fails leaves no event, an event that cannot be written
// undoes the change.
func TestWebhookOutboxRollsBack(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	f := newFixture(t, s, "Roll")
	must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, ChangeEvents...)))
	// A drill whose participant is not a member fails after its insert.
	d := testDrill(f)
	d.Participants = []DrillParticipant{{Role: RoleMLEngineer, Login: "nobody"}}
	if _, err := s.ScheduleDrill(ctx, tester, d); err == nil {
		t.Fatal("drill with an unknown participant scheduled")
	}
	if n := count(t, s, "webhook_outbox"); n != 0 {
		t.Fatalf("%d outbox rows after a failed change", n)
	}
	if n := count(t, s, "webhook_deliveries"); n != 0 {
		t.Fatalf("%d deliveries after a failed change", n)
	}
	// And the other way: when the event cannot be written, the change is
	// rolled back with it.
	incidents := count(t, s, "incidents")
	if _, err := s.db.Exec(`DROP TABLE webhook_deliveries`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenIncident(ctx, tester, "alice", testIncident(f), nil); err == nil {
		t.Fatal("incident opened without its event")
	}
	if n := count(t, s, "incidents"); n != incidents {
		t.Fatalf("incidents %d, want %d: the change outlived its lost event", n, incidents)
	}
}

// TestOutboxLeaseBackoffAndGiveUp: a claim leases a delivery; a failure
// schedules it after an exponential backoff; the last allowed failure
// fails it for good; a delivered one is never claimed again.
func TestOutboxLeaseBackoffAndGiveUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		setClock(s, t0)
		f := newFixture(t, s, "Lease")
		w := must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, EventIncidentOpened)))
		must[Incident](t)(s.OpenIncident(ctx, tester, "alice", testIncident(f), nil))
		must[Incident](t)(s.OpenIncident(ctx, tester, "alice", testIncident(f), nil))
		o := s.Outbox()
		claim := func(at time.Time) []Due {
			t.Helper()
			return must[[]Due](t)(o.Claim(ctx, at, time.Minute, 10))
		}
		due := claim(t0)
		if len(due) != 2 || due[0].Webhook.ID != w.ID || due[0].Webhook.Secret != w.Secret || due[0].Attempts != 0 {
			t.Fatalf("claim %+v", due)
		}
		if again := claim(t0.Add(30 * time.Second)); len(again) != 0 {
			t.Fatalf("leased deliveries claimed again: %+v", again)
		}
		// The first is delivered; the lease of the second ends (a dead
		// dispatcher) and it is claimed again.
		if err := o.Delivered(ctx, due[0].ID, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Minute)
		if again := claim(at); len(again) != 1 || again[0].ID != due[1].ID {
			t.Fatalf("after the lease: %+v", again)
		}
		// Three attempts at most, backoff 10 s then 20 s.
		for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second} {
			if err := o.Failed(ctx, due[1].ID, at, "HTTP 500: boom", 3, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if early := claim(at.Add(wait - time.Microsecond)); len(early) != 0 {
				t.Fatalf("attempt %d: claimed before its backoff", i+2)
			}
			at = at.Add(wait)
			if d := claim(at); len(d) != 1 || d[0].Attempts != i+1 {
				t.Fatalf("attempt %d: %+v", i+2, d)
			}
		}
		if err := o.Failed(ctx, due[1].ID, at, "HTTP 500: boom", 3, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := claim(at.Add(24 * time.Hour)); len(d) != 0 {
			t.Fatalf("claimed after giving up / delivering: %+v", d)
		}
		ds := must[[]Delivery](t)(s.WebhookDeliveries(ctx, f.team.ID, w.ID))
		if len(ds) != 2 || ds[0].Attempts != 3 || ds[0].FailedAt != at || ds[0].LastError != "HTTP 500: boom" ||
			ds[1].Attempts != 1 || ds[1].DeliveredAt != t0.Add(time.Second) {
			t.Fatalf("deliveries %+v", ds)
		}
		// A disabled webhook's pending deliveries are not claimed.
		must[Incident](t)(s.OpenIncident(ctx, tester, "alice", testIncident(f), nil))
		if err := s.DisableWebhook(ctx, tester, f.team.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		if d := claim(at.Add(48 * time.Hour)); len(d) != 0 {
			t.Fatalf("claimed for a disabled webhook: %+v", d)
		}
	})
}

// TestCreateWebhookRefusesBadInput: each bad field is ErrInvalid.
func TestCreateWebhookRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	f := newFixture(t, s, "Bad")
	long := make([]byte, 3000)
	for i := range long {
		long[i] = 'a'
	}
	for name, change := range map[string]func(*Webhook){
		"ftp url":       func(w *Webhook) { w.URL = "ftp://hooks.example/x" },
		"no host":       func(w *Webhook) { w.URL = "https:///x" },
		"credentials":   func(w *Webhook) { w.URL = "https://u:p@hooks.example/x" },
		"long url":      func(w *Webhook) { w.URL = "https://hooks.example/" + string(long) },
		"short secret":  func(w *Webhook) { w.Secret = "short" },
		"no events":     func(w *Webhook) { w.Events = nil },
		"unknown event": func(w *Webhook) { w.Events = []string{"model.deleted"} },
		"format":        func(w *Webhook) { w.Format = "xml" },
	} {
		w := testWebhook(f, EventIncidentOpened)
		change(&w)
		if _, err := s.CreateWebhook(ctx, tester, w); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			wantErr(t, err, ErrInvalid)
		}
	}
	wantErr(t, s.DisableWebhook(ctx, tester, f.team.ID, 999), ErrNotFound)
}
