package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/violet-mlsecops/violet/store"
)

// TestTrainingAndProcurementPages: HR adds a course and records a
// completion; procurement opens and decides a review; a viewer sees both
// without forms; another team sees neither.
func TestTrainingAndProcurementPages(t *testing.T) {
	w := newWorld(t)
	addUser(t, w, "hana", w.teamA, store.RoleHR)
	addUser(t, w, "pat", w.teamA, store.RoleProcurement)
	srv := w.server(t, Options{})
	team := fmt.Sprint(w.teamA.ID)

	hana := loggedIn(t, srv, "hana")
	tok := hana.csrf("/training")
	wantStatus(t, hana.post("/training", url.Values{"csrf": {tok}, "team": {team}, "action": {"course"}, "title": {"Ethical AI " + xss},
		"topic": {"ethical-ai"}, "roles": {"security", "viewer"}, "valid_days": {"365"}}), http.StatusSeeOther)
	page := hana.get("/training")
	if !strings.Contains(page.body, "Ethical AI &lt;script&gt;") || !strings.Contains(page.body, "2 overdue") {
		t.Fatalf("training page: %s", page.body)
	}
	courses := must[[]store.Course](t)(w.st.Courses(context.Background(), w.teamA.ID))
	bob := must[store.User](t)(w.st.UserByLogin(context.Background(), w.bob))
	today := time.Now().UTC().Format(time.DateOnly)
	wantStatus(t, hana.post("/training", url.Values{"csrf": {tok}, "team": {team}, "action": {"complete"}, "course": {fmt.Sprint(courses[0].ID)},
		"user": {fmt.Sprint(bob.ID)}, "completed_on": {today}}), http.StatusSeeOther)
	if page = hana.get("/training"); !strings.Contains(page.body, "1 overdue") {
		t.Errorf("after a completion: %s", page.body)
	}
	// A viewer sees the records, has no form, may not post.
	bobc := loggedIn(t, srv, w.bob)
	if p := bobc.get("/training"); strings.Contains(p.body, "course-form") || !strings.Contains(p.body, "Ethical AI") {
		t.Errorf("viewer's training page: %s", p.body)
	}
	wantStatus(t, bobc.post("/training", url.Values{"csrf": {bobc.csrf("/training")}, "team": {team}, "action": {"course"}, "title": {"x"}}), http.StatusForbidden)
	// Another team's member: not even the team.
	carol := loggedIn(t, srv, w.carol)
	if p := carol.get("/training"); strings.Contains(p.body, "Ethical AI") {
		t.Error("another team sees the course")
	}
	wantStatus(t, carol.post("/training", url.Values{"csrf": {carol.csrf("/training")}, "team": {team}, "action": {"course"}, "title": {"x"}}), http.StatusNotFound)

	pat := loggedIn(t, srv, "pat")
	ptok := pat.csrf("/procurement")
	wantStatus(t, pat.post("/procurement", url.Values{"csrf": {ptok}, "team": {team}, "action": {"open"}, "vendor": {"Acme " + xss},
		"product": {"acme-llm"}, "kind": {"llm-api"}, "hosting_region": {"eu-west-1"}, "models": {fmt.Sprint(w.modelA.ID)}}), http.StatusSeeOther)
	reviews := must[[]store.ProcurementReview](t)(w.st.ProcurementReviews(context.Background(), w.teamA.ID))
	if len(reviews) != 1 || reviews[0].Answers["hosting_region"] != "eu-west-1" || len(reviews[0].Models) != 1 {
		t.Fatalf("reviews %+v", reviews)
	}
	id := fmt.Sprint(reviews[0].ID)
	wantStatus(t, pat.post("/procurement", url.Values{"csrf": {ptok}, "team": {team}, "action": {"decide"}, "review": {id},
		"decision": {"approved-with-conditions"}}), http.StatusBadRequest)
	wantStatus(t, pat.post("/procurement", url.Values{"csrf": {ptok}, "team": {team}, "action": {"decide"}, "review": {id},
		"decision": {"approved-with-conditions"}, "conditions": {"EU only"}}), http.StatusSeeOther)
	if p := pat.get("/procurement"); !strings.Contains(p.body, "Acme &lt;script&gt;") || !strings.Contains(p.body, "Conditions: EU only") {
		t.Errorf("procurement page: %s", p.body)
	}
	wantStatus(t, hana.post("/procurement", url.Values{"csrf": {tok}, "team": {team}, "action": {"decide"}, "review": {id},
		"decision": {"rejected"}}), http.StatusForbidden)
	if p := bobc.get("/procurement"); strings.Contains(p.body, "open-review") || !strings.Contains(p.body, "acme-llm") {
		t.Errorf("viewer's procurement page: %s", p.body)
	}
}

// TestBrowserTrainingAndProcurement: HR records a completion, procurement
// approves a vendor's model, in headless Chromium.
func TestBrowserTrainingAndProcurement(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	admin := store.Actor{Name: "admin", Remote: "127.0.0.1:1"}
	bg := context.Background()
	team := must[store.Team](t)(w.st.CreateTeam(bg, admin, "fraud"))
	addUser(t, w, "hana", team, store.RoleHR)
	addUser(t, w, "pat", team, store.RoleProcurement)
	eng := addUser(t, w, "eli", team, store.RoleMLEngineer)
	course := must[store.Course](t)(w.st.CreateCourse(bg, admin, store.Course{TeamID: team.ID, Title: "AI threat landscape",
		Topic: "threat-landscape", Roles: []string{"ml-engineer", "procurement"}, ValidDays: 365}))
	must[store.Model](t)(w.st.CreateModel(bg, admin, store.Model{TeamID: team.ID, Name: "acme-support-llm",
		SourceKind: store.SourceRegistry, SourceRef: "registry.acme.example/llm:7b"}))
	srv := w.server(t, Options{})
	dir := artifacts(t)
	var overdue, decision, pageText string
	complete := fmt.Sprintf("#complete-%d-%d", course.ID, eng.ID)
	err := chromedp.Do(ctx,
		signIn(srv.URL, "hana"),
		chromedp.Navigate(srv.URL+"/training"),
		chromedp.WaitVisible(chromedp.ID(complete)),
		screenshot(t, dir, "1-training"),
		chromedp.Click(chromedp.ID(complete)),
		chromedp.WaitVisible(chromedp.CSS("span.uptodate")),
		into(&overdue, chromedp.Text(chromedp.ID("#overdue-count"))),
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
		signIn(srv.URL, "pat"),
		chromedp.Navigate(srv.URL+"/procurement"),
		chromedp.WaitVisible(chromedp.ID(fmt.Sprintf("#open-review-%d", team.ID))),
		chromedp.SendKeys(chromedp.ID(fmt.Sprintf("#vendor-%d", team.ID)), "Acme AI"),
		chromedp.SendKeys(chromedp.ID(fmt.Sprintf("#product-%d", team.ID)), "acme-llm-7b"),
		chromedp.SetValue(chromedp.ID(fmt.Sprintf("#kind-%d", team.ID)), "vendor-model"),
		chromedp.SendKeys(chromedp.ID(fmt.Sprintf("#hosting_region-%d", team.ID)), "EU (Frankfurt)"),
		chromedp.SendKeys(chromedp.ID(fmt.Sprintf("#data_use-%d", team.ID)), "Prompts are not used for training; kept 30 days."),
		chromedp.Click(chromedp.CSS(`input[name="models"]`)),
		chromedp.Click(chromedp.ID(fmt.Sprintf("#open-button-%d", team.ID))),
		chromedp.WaitVisible(chromedp.CSS("article.review")),
		chromedp.SetValue(chromedp.CSS("article.review select"), "approved-with-conditions"),
		chromedp.SendKeys(chromedp.CSS("article.review input[name=conditions]"), "EU hosting only"),
		screenshot(t, dir, "2-procurement"),
		chromedp.Click(chromedp.CSS("article.review button")),
		chromedp.WaitVisible(chromedp.CSS("article.review h3 .verdict.pass")),
		into(&decision, chromedp.Text(chromedp.CSS("article.review h3 .verdict"))),
		into(&pageText, chromedp.Text(chromedp.CSS("main"))),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// Two must take the course (eli, pat); eli completed it.
	if overdue != "1 overdue" {
		t.Errorf("overdue after the completion: %q", overdue)
	}
	if decision != "approved-with-conditions" {
		t.Errorf("decision %q: %s", decision, pageText)
	}
	if os.Getenv("VIOLET_DOCS_SCREENSHOTS") != "" {
		for _, name := range []string{"1-training", "2-procurement"} {
			data, err := os.ReadFile(filepath.Join(dir, name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "docs", "images", "team-"+name+".png"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
