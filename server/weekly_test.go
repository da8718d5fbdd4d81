package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// TestWeeklyReport: the report compares the figures with the snapshot of
// a week ago, lists the period's releases and incidents, escapes every
// text (Markdown and HTML), and refuses an unknown format.
func TestWeeklyReport(t *testing.T) {
	e := newEnv(t, "", Options{})
	team := e.team("ml")
	tok := e.token(team, "eng", store.RoleMLEngineer)
	ctx := context.Background()
	// A week ago the team had no version; now it has one.
	if _, err := e.st.TakeSnapshot(ctx, system, time.Now().AddDate(0, 0, -6)); err != nil {
		t.Fatal(err)
	}
	_, files := modelDir(t)
	e.putModel(tok, "m", files)
	versions := must2v(t, e, team)
	if _, err := e.st.CreateRelease(ctx, system, store.Release{VersionID: versions[0].ID, Title: "to prod <b>|x|</b>", Tier: "low",
		Required: []string{"security"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetMetricTarget(ctx, system, team.ID, "coverage_ratio", "control=verified", 1); err != nil {
		t.Fatal(err)
	}
	md := e.must(http.StatusOK, e.do("GET", "/api/v1/reports/weekly", tok, nil))
	body := string(md.body)
	for _, want := range []string{"# Violet weekly report: team ml", "| model\\_versions |  | 1 | 0 |  |  |",
		"| coverage\\_ratio | verified | 0% | 0% | 100% | 100% |", "to prod \\<b\\>\\|x\\|\\</b\\>", "waiting for security"} {
		if !strings.Contains(body, want) {
			t.Errorf("markdown: no %q in\n%s", want, body)
		}
	}
	html := e.must(http.StatusOK, e.do("GET", "/api/v1/reports/weekly?format=html", tok, nil))
	if !strings.Contains(string(html.body), "to prod &lt;b&gt;|x|&lt;/b&gt;") || strings.Contains(string(html.body), "<b>") {
		t.Errorf("html: %s", html.body)
	}
	e.must(http.StatusBadRequest, e.do("GET", "/api/v1/reports/weekly?format=pdf", tok, nil))
}

func must2v(t *testing.T, e *env, team store.Team) []store.Version {
	t.Helper()
	v, err := e.st.Versions(context.Background(), mustModel(t, e, team, "m").ID)
	if err != nil || len(v) == 0 {
		t.Fatalf("versions %v %v", v, err)
	}
	return v
}
