package webui

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/violet-mlsecops/violet/store"
)

// docsScreenshots is the variable that makes TestBrowserIncident write
// the screenshots of docs/team.md to docs/images.
const docsScreenshots = "VIOLET_DOCS_SCREENSHOTS"

// withTorch gives the versions of both teams a deps report naming torch.
func withTorch(t *testing.T, w *world) {
	t.Helper()
	for _, v := range []store.Version{w.versionA, w.versionB} {
		if _, _, err := w.st.AddDepsEvidence(context.Background(), admin, v.ID, []byte(`{"deps":`+strconv.FormatInt(v.ID, 10)+`}`),
			[]store.Package{{Ecosystem: "PyPI", Name: "torch", Version: "2.5.0", Manifest: "requirements.txt", Line: 1}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserIncident: a security user finds the versions that depend on
// a package, opens an incident with them, adds to its timeline and marks
// it contained, in headless Chromium; a viewer of the team sees it without
// a form, and a user of another team does not see it at all.
func TestBrowserIncident(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	withTorch(t, w)
	srv := w.server(t, Options{})
	dir := artifacts(t)
	note := "pinned torch to the internal index " + xss
	var results, location, state, timeline, contain, scripts, bobForms, bobState string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.SendKeys(chromedp.ID("#username"), w.alice),
		chromedp.SendKeys(chromedp.ID("#password"), "password"+w.alice),
		chromedp.Click(chromedp.ID("#signin")),
		chromedp.WaitVisible(chromedp.ID("#q")),
		chromedp.Click(chromedp.CSS(`nav a[href="/incidents"]`)),
		chromedp.WaitVisible(chromedp.ID("#blast-q")),
		chromedp.SetValue(chromedp.ID("#blast-kind"), "package"),
		chromedp.SendKeys(chromedp.ID("#blast-q"), "Torch"),
		chromedp.Click(chromedp.ID("#blast-run")),
		chromedp.WaitVisible(chromedp.CSS("table#blast-results")),
		into(&results, chromedp.Text(chromedp.CSS("table#blast-results"))),
		chromedp.SendKeys(chromedp.ID("#incident-title"), "torch from a rogue index "+xss),
		chromedp.SetValue(chromedp.ID("#incident-type"), store.IncidentCompromisedDependency),
		chromedp.SetValue(chromedp.ID("#incident-severity"), "critical"),
		screenshot(t, dir, "1-blast-radius"),
		chromedp.Click(chromedp.ID("#open-incident")),
		chromedp.WaitVisible(chromedp.CSS("table#timeline")),
		into(&location, chromedp.Location()),
		chromedp.SendKeys(chromedp.ID("#event-text"), note),
		chromedp.Click(chromedp.ID("#add-event")),
		// Opened, 1 version attached, the note.
		chromedp.WaitVisible(chromedp.CSS(`table#timeline[data-events="3"]`)),
		chromedp.Click(chromedp.ID("#mark-contained")),
		chromedp.WaitVisible(chromedp.ID("#time-to-contain")),
		into(&state, chromedp.Text(chromedp.ID("#incident-state"))),
		into(&timeline, chromedp.Text(chromedp.CSS("table#timeline"))),
		into(&contain, chromedp.Text(chromedp.ID("#time-to-contain"))),
		into(&scripts, chromedp.Evaluate[string](`String(document.querySelectorAll("script").length)`)),
		screenshot(t, dir, "2-incident"),
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
		// The viewer.
		chromedp.SendKeys(chromedp.ID("#username"), w.bob),
		chromedp.SendKeys(chromedp.ID("#password"), "password"+w.bob),
		chromedp.Click(chromedp.ID("#signin")),
		chromedp.WaitVisible(chromedp.ID("#q")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Navigate(location)(ctx, tg)
			return err
		}),
		chromedp.WaitVisible(chromedp.CSS("table#timeline")),
		into(&bobState, chromedp.Text(chromedp.ID("#incident-state"))),
		into(&bobForms, chromedp.Evaluate[string](`String(document.querySelectorAll("main form").length)`)),
		screenshot(t, dir, "3-viewer"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(results, xss+" model") || !strings.Contains(results, "2.5.0") || strings.Contains(results, "secret-model") {
		t.Errorf("blast radius %q: want the team's model (as text) at torch 2.5.0 only", results)
	}
	if state != "contained" || bobState != "contained" || contain == "" {
		t.Errorf("state %q (viewer %q), time to contain %q", state, bobState, contain)
	}
	if !strings.Contains(timeline, note) || !strings.Contains(timeline, "marked contained") || !strings.Contains(timeline, w.alice) {
		t.Errorf("timeline %q", timeline)
	}
	if scripts != "0" {
		t.Errorf("the incident page holds %s script elements", scripts)
	}
	if bobForms != "0" {
		t.Errorf("the viewer's incident page holds %s forms", bobForms)
	}
	id, err := strconv.ParseInt(location[strings.LastIndex(location, "/")+1:], 10, 64)
	if err != nil {
		t.Fatalf("location %q", location)
	}
	inc := must[store.Incident](t)(w.st.Incident(context.Background(), id))
	aff := must[[]store.Affected](t)(w.st.IncidentAffected(context.Background(), id))
	if inc.TeamID != w.teamA.ID || inc.Type != store.IncidentCompromisedDependency || inc.Severity != "critical" ||
		len(aff) != 1 || aff[0].VersionID != w.versionA.ID || aff[0].Why != store.AffectedPackage {
		t.Fatalf("stored %+v with %+v", inc, aff)
	}
	if os.Getenv(docsScreenshots) != "" {
		for from, to := range map[string]string{"1-blast-radius": "incidents-blast-radius", "2-incident": "incidents-incident"} {
			png, err := os.ReadFile(filepath.Join(dir, from+".png"))
			if err == nil {
				err = os.WriteFile(filepath.Join("..", "docs", "images", to+".png"), png, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestIncidentPagesRefuse: without JavaScript, a viewer can neither open
// an incident nor change one, nor schedule a drill (403, nothing stored);
// a user of another team gets 404 for the incident and the drill; a form
// without the CSRF token is refused.
func TestIncidentPagesRefuse(t *testing.T) {
	w := newWorld(t)
	withTorch(t, w)
	srv := w.server(t, Options{})
	ctx := context.Background()
	inc := must[store.Incident](t)(w.st.OpenIncident(ctx, admin, "setup", store.Incident{TeamID: w.teamA.ID,
		Type: store.IncidentOther, Severity: "low", Title: "t"}, nil))
	d := must[store.Drill](t)(w.st.ScheduleDrill(ctx, admin, store.Drill{TeamID: w.teamA.ID, Scenario: "leaked-signing-key",
		ScheduledAt: time.Now(), Participants: []store.DrillParticipant{{Role: store.RoleSecurity}}}))
	ip, dp := "/incidents/"+strconv.FormatInt(inc.ID, 10), "/drills/"+strconv.FormatInt(d.ID, 10)
	team := strconv.FormatInt(w.teamA.ID, 10)

	bob := loggedIn(t, srv, w.bob)
	csrf := bob.csrf(ip)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{ip, url.Values{"action": {"contained"}}},
		{ip, url.Values{"action": {"event"}, "text": {"x"}}},
		{"/incidents", url.Values{"team": {team}, "kind": {"package"}, "q": {"torch"}, "title": {"t"}, "type": {"other"}, "severity": {"low"}}},
		{"/drills", url.Values{"team": {team}, "scenario": {"leaked-signing-key"}, "scheduled_at": {"2026-03-01T09:00"}, "role": {"security"}}},
		{dp, url.Values{"action": {"start"}}},
	} {
		c.form.Set("csrf", csrf)
		wantStatus(t, bob.post(c.path, c.form), http.StatusForbidden)
	}
	if got := must[store.Incident](t)(w.st.Incident(ctx, inc.ID)); got.State != store.IncidentOpen {
		t.Errorf("the viewer changed the state to %s", got.State)
	}
	if ev := must[[]store.IncidentEvent](t)(w.st.IncidentEvents(ctx, inc.ID)); len(ev) != 1 {
		t.Errorf("timeline %+v", ev)
	}
	if l := must[[]store.Incident](t)(w.st.Incidents(ctx, w.teamA.ID)); len(l) != 1 {
		t.Errorf("incidents %+v", l)
	}
	if got := must[store.Drill](t)(w.st.Drill(ctx, d.ID)); !got.StartedAt.IsZero() {
		t.Error("the viewer started the drill")
	}

	carol := loggedIn(t, srv, w.carol)
	wantStatus(t, carol.get(ip), http.StatusNotFound)
	wantStatus(t, carol.get(dp), http.StatusNotFound)
	wantStatus(t, carol.post(ip, url.Values{"csrf": {carol.csrf("/incidents")}, "action": {"event"}, "text": {"x"}}), http.StatusNotFound)
	if r := carol.get("/incidents?team=" + team + "&kind=package&q=torch"); r.StatusCode != http.StatusBadRequest ||
		strings.Contains(r.body, "blast-results") {
		t.Errorf("another team's blast radius: %d %s", r.StatusCode, r.body)
	}

	alice := loggedIn(t, srv, w.alice)
	wantStatus(t, alice.post(ip, url.Values{"action": {"contained"}}), http.StatusForbidden)
	wantStatus(t, alice.post(ip, url.Values{"csrf": {alice.csrf(ip)}, "action": {"contained"}}), http.StatusSeeOther)
	if got := must[store.Incident](t)(w.st.Incident(ctx, inc.ID)); got.State != store.IncidentContained {
		t.Errorf("state %s after alice contained it", got.State)
	}
}

// TestBrowserDrill: a security user schedules a drill of the library with
// the roles taking part, starts it (its incident opens, not yet
// detected), marks it detected and contained, and closes the drill with
// findings and follow-up actions; the drill shows both response times.
func TestBrowserDrill(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	srv := w.server(t, Options{})
	dir := artifacts(t)
	var participants, detectedBefore, drillState, detect, contain, follow, closedState string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.SendKeys(chromedp.ID("#username"), w.alice),
		chromedp.SendKeys(chromedp.ID("#password"), "password"+w.alice),
		chromedp.Click(chromedp.ID("#signin")),
		chromedp.WaitVisible(chromedp.ID("#q")),
		chromedp.Navigate(srv.URL+"/incidents"),
		chromedp.WaitVisible(chromedp.ID("#schedule-drill")),
		chromedp.SetValue(chromedp.ID("#drill-scenario"), "leaked-signing-key"),
		chromedp.Click(chromedp.ID("#role-security")),
		chromedp.Click(chromedp.ID("#role-legal-compliance")),
		chromedp.Click(chromedp.ID("#schedule-drill")),
		chromedp.WaitVisible(chromedp.ID("#start-drill")),
		into(&participants, chromedp.Text(chromedp.ID("#participants"))),
		screenshot(t, dir, "1-scheduled"),
		chromedp.Click(chromedp.ID("#start-drill")),
		chromedp.WaitVisible(chromedp.ID("#mark-detected")),
		into(&detectedBefore, chromedp.Text(chromedp.ID("#detected-at"))),
		chromedp.Click(chromedp.ID("#mark-detected")),
		chromedp.WaitNotPresent(chromedp.ID("#mark-detected")),
		chromedp.Click(chromedp.ID("#mark-contained")),
		chromedp.WaitVisible(chromedp.ID("#time-to-contain")),
		into(&drillState, chromedp.Text(chromedp.ID("#incident-state"))),
		screenshot(t, dir, "2-drill-incident"),
		chromedp.Click(chromedp.CSS(`a[href^="/drills/"]`)),
		chromedp.WaitVisible(chromedp.ID("#close-drill")),
		chromedp.SendKeys(chromedp.ID("#drill-findings-text"), "nobody knew where the verifiers' trusted keys live "+xss),
		chromedp.SendKeys(chromedp.ID("#drill-follow-ups"), "list every verifier\nrotate the CI key yearly"),
		chromedp.Click(chromedp.ID("#close-drill")),
		chromedp.WaitVisible(chromedp.ID("#follow-ups")),
		into(&detect, chromedp.Text(chromedp.ID("#drill-detect"))),
		into(&contain, chromedp.Text(chromedp.ID("#drill-contain"))),
		into(&follow, chromedp.Text(chromedp.ID("#follow-ups"))),
		into(&closedState, chromedp.Text(chromedp.CSS("#drill-incident + .state"))),
		screenshot(t, dir, "3-closed"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(participants, "security") || !strings.Contains(participants, "legal-compliance") {
		t.Errorf("participants %q", participants)
	}
	if detectedBefore != "not yet" || drillState != "contained" || closedState != "resolved" {
		t.Errorf("detected %q before the mark; state %q, after the close %q", detectedBefore, drillState, closedState)
	}
	if detect == "" || strings.Contains(detect, "not") || contain == "" || strings.Contains(contain, "not") {
		t.Errorf("times to detect %q and contain %q", detect, contain)
	}
	if !strings.Contains(follow, "list every verifier") || !strings.Contains(follow, "rotate the CI key yearly") {
		t.Errorf("follow-up actions %q", follow)
	}
	drills := must[[]store.Drill](t)(w.st.Drills(context.Background(), w.teamA.ID))
	if len(drills) != 1 {
		t.Fatalf("drills %+v", drills)
	}
	d := must[store.Drill](t)(w.st.Drill(context.Background(), drills[0].ID))
	if d.ClosedAt.IsZero() || len(d.FollowUps) != 2 || d.Findings != "nobody knew where the verifiers' trusted keys live "+xss {
		t.Errorf("stored %+v", d)
	}
}
