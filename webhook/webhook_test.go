package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/store"
)

var tester = store.Actor{Name: "tester", Remote: "127.0.0.1:1"}

const secret = "the receiver's shared secret"

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// received is what a receiver got: verified events by type.
type receiver struct {
	mu     sync.Mutex
	events map[string]int
	bodies [][]byte
	fail   int // answer 500 to this many requests first
	srv    *httptest.Server
}

// newReceiver starts a receiver that checks every signature independently
// of Sign.
func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{events: map[string]int{}, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(req.Header.Get(TimestampHeader) + "." + string(body)))
		if req.Header.Get(SignatureHeader) != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("bad signature %q", req.Header.Get(SignatureHeader))
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		r.events[req.Header.Get(EventHeader)]++
		r.bodies = append(r.bodies, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() (map[string]int, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.events {
		out[k] = v
	}
	return out, append([][]byte(nil), r.bodies...)
}

// setup opens a store with a team, a version of a model with a scan
// report, and a webhook of the team to url in format for every event.
func setup(t *testing.T, url, format string) (*store.Store, store.Webhook, store.Model, store.Version, store.Evidence) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	team, err := s.CreateTeam(ctx, tester, "team")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateModel(ctx, tester, store.Model{TeamID: team.ID, Name: "m", SourceKind: store.SourceHuggingFace, SourceRef: "org/m"})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.PutVersion(ctx, tester, m.ID, "sha256:"+sha("v1"), "v1", []store.File{{Path: "model.pkl", SHA256: sha("w"), Size: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := s.AddEvidence(ctx, tester, v.ID, store.EvidenceScan, []byte(`{"findings":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.CreateWebhook(ctx, tester, store.Webhook{TeamID: team.ID, URL: url, Format: format,
		Events: store.ChangeEvents, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return s, w, m, v, ev
}

// TestEachEventIsDeliveredSigned: every event type reaches the receiver
// once, signed, as the event's JSON.
func TestEachEventIsDeliveredSigned(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	s, w, _, v, ev := setup(t, r.srv.URL, "json")
	if _, err := s.RecordFindings(ctx, tester, v.ID, ev.ID, []store.FindingInput{{Rule: "PICKLE-CODE-EXEC",
		FileSHA256: sha("w"), Location: "model.pkl@1", Severity: finding.Critical, Message: "os.system"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRelease(ctx, tester, store.Release{VersionID: v.ID, Title: "to prod", Tier: "low",
		Required: []string{"ml-engineer"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenIncident(ctx, tester, "alice", store.Incident{TeamID: w.TeamID, Type: store.IncidentMaliciousModel,
		Severity: "critical", Title: "pickle", Summary: "runs code"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScheduleDrill(ctx, tester, store.Drill{TeamID: w.TeamID, Scenario: "dependency-compromise",
		ScheduledAt:  time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Participants: []store.DrillParticipant{{Role: store.RoleSecurity}}}); err != nil {
		t.Fatal(err)
	}
	d := &Dispatcher{Outbox: s.Outbox(), Client: NewClient(true)}
	if n := d.Step(ctx); n != 4 {
		t.Fatalf("attempted %d", n)
	}
	if n := d.Step(ctx); n != 0 {
		t.Fatalf("attempted %d again", n)
	}
	events, bodies := r.got()
	if len(events) != 4 {
		t.Fatalf("received %v", events)
	}
	for _, e := range store.ChangeEvents {
		if events[e] != 1 {
			t.Errorf("%s received %d times", e, events[e])
		}
	}
	for _, b := range bodies {
		var e struct {
			ID, Type string
			Team     int64
		}
		if err := json.Unmarshal(b, &e); err != nil || len(e.ID) != 32 || e.Team != w.TeamID {
			t.Errorf("body %s: %v", b, err)
		}
	}
	ds, err := s.WebhookDeliveries(ctx, w.TeamID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ds {
		if x.DeliveredAt.IsZero() || x.Attempts != 1 {
			t.Errorf("delivery %+v", x)
		}
	}
}

// openIncident opens an incident of the webhook's team.
func openIncident(t *testing.T, s *store.Store, w store.Webhook) {
	t.Helper()
	if _, err := s.OpenIncident(context.Background(), tester, "alice", store.Incident{TeamID: w.TeamID,
		Type: store.IncidentMaliciousModel, Severity: "high", Title: "pickle", Summary: "runs code"}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestRetryWithBackoffThenSuccess: two 500s, retried after 1 s then 2 s,
// then delivered; nothing is attempted before its backoff.
func TestRetryWithBackoffThenSuccess(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 2)
	s, w, _, _, _ := setup(t, r.srv.URL, "json")
	openIncident(t, s, w)
	now := time.Now().Add(time.Second)
	d := &Dispatcher{Outbox: s.Outbox(), Client: NewClient(true), Backoff: time.Second, MaxAttempts: 5,
		Now: func() time.Time { return now }}
	for i, step := range []struct {
		advance time.Duration
		tried   int
	}{{0, 1}, {900 * time.Millisecond, 0}, {100 * time.Millisecond, 1}, {1900 * time.Millisecond, 0}, {100 * time.Millisecond, 1}, {time.Hour, 0}} {
		now = now.Add(step.advance)
		if n := d.Step(ctx); n != step.tried {
			t.Fatalf("step %d: attempted %d, want %d", i, n, step.tried)
		}
	}
	events, _ := r.got()
	ds, err := s.WebhookDeliveries(ctx, w.TeamID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if events[store.EventIncidentOpened] != 1 || len(ds) != 1 || ds[0].Attempts != 3 || ds[0].DeliveredAt.IsZero() ||
		ds[0].LastError != "" {
		t.Fatalf("events %v, deliveries %+v", events, ds)
	}
}

// TestPermanentFailureIsVisible: a receiver that always fails gets
// MaxAttempts attempts, then the delivery shows it failed and why.
func TestPermanentFailureIsVisible(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 1000)
	s, w, _, _, _ := setup(t, r.srv.URL, "slack")
	openIncident(t, s, w)
	now := time.Now().Add(time.Second)
	d := &Dispatcher{Outbox: s.Outbox(), Client: NewClient(true), Backoff: time.Second, MaxAttempts: 3,
		Now: func() time.Time { return now }}
	tried := 0
	for range 10 {
		tried += d.Step(ctx)
		now = now.Add(time.Hour)
	}
	ds, err := s.WebhookDeliveries(ctx, w.TeamID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tried != 3 || len(ds) != 1 || ds[0].Attempts != 3 || ds[0].FailedAt.IsZero() || !ds[0].DeliveredAt.IsZero() ||
		!strings.HasPrefix(ds[0].LastError, "HTTP 500") {
		t.Fatalf("tried %d, deliveries %+v", tried, ds)
	}
}

// TestChatFormats: Slack gets {"text"}, Teams a MessageCard, both naming
// the event; an unknown format or a broken payload is an error.
func TestChatFormats(t *testing.T) {
	payload := []byte(`{"id":"x","type":"incident.opened","team":7,"data":{"incident":3,"title":"pickle"}}`)
	b, err := Body("slack", payload)
	if err != nil {
		t.Fatal(err)
	}
	var slack map[string]string
	if err := json.Unmarshal(b, &slack); err != nil || len(slack) != 1 ||
		!strings.Contains(slack["text"], "Incident opened (team 7)") || !strings.Contains(slack["text"], `"title":"pickle"`) {
		t.Fatalf("slack %s", b)
	}
	b, err = Body("teams", payload)
	if err != nil {
		t.Fatal(err)
	}
	var teams map[string]string
	if err := json.Unmarshal(b, &teams); err != nil || teams["@type"] != "MessageCard" ||
		!strings.Contains(teams["summary"], "Incident opened") || !strings.Contains(teams["text"], `"incident":3`) {
		t.Fatalf("teams %s", b)
	}
	if b, err := Body("json", payload); err != nil || string(b) != string(payload) {
		t.Fatalf("json %s %v", b, err)
	}
	b, err = Body("slack", []byte(`{"type":"incident.opened","team":1,"data":{"title":"<!channel> & co"}}`))
	slack = nil
	if err != nil || json.Unmarshal(b, &slack) != nil || strings.Contains(slack["text"], "<!channel>") ||
		!strings.Contains(slack["text"], `&lt;!channel&gt; &amp; co`) {
		t.Fatalf("slack escaping: %s %v", b, err)
	}
	if _, err := Body("xml", payload); err == nil {
		t.Fatal("xml accepted")
	}
	if _, err := Body("slack", []byte("{")); err == nil {
		t.Fatal("broken payload accepted")
	}
}

// TestSlackDelivery: a Slack webhook receives the Slack body, signed.
func TestSlackDelivery(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	s, w, _, _, _ := setup(t, r.srv.URL, "slack")
	openIncident(t, s, w)
	(&Dispatcher{Outbox: s.Outbox(), Client: NewClient(true)}).Step(ctx)
	_, bodies := r.got()
	if len(bodies) != 1 || !strings.HasPrefix(string(bodies[0]), `{"text":"Violet: Incident opened`) {
		t.Fatalf("bodies %q", bodies)
	}
}

// TestPrivateAddressesRefused: without allowPrivate the client does not
// connect to loopback, private or link-local addresses, and no redirect
// is followed.
func TestPrivateAddressesRefused(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit = true
		http.Redirect(w, r, "http://169.254.169.254/latest", http.StatusFound)
	}))
	defer srv.Close()
	for _, u := range []string{srv.URL, "http://10.0.0.1:9/", "http://169.254.169.254/", "http://[::1]:9/", "http://0.0.0.0:9/"} {
		d := store.Due{EventType: "incident.opened", Payload: []byte(`{}`), Webhook: store.Webhook{URL: u, Format: "json", Secret: secret}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := Send(ctx, NewClient(false), d, time.Now())
		cancel()
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("%s: %v, want ErrPrivateAddress", u, err)
		}
	}
	if hit {
		t.Fatal("the loopback receiver was called")
	}
	d := store.Due{EventType: "incident.opened", Payload: []byte(`{}`), Webhook: store.Webhook{URL: srv.URL, Format: "json", Secret: secret}}
	if err := Send(context.Background(), NewClient(true), d, time.Now()); err == nil || !strings.HasPrefix(err.Error(), "HTTP 302") {
		t.Fatalf("redirect: %v", err)
	}
}
