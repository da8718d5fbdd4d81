package webui

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/violet-mlsecops/violet/store"
)

// TestDashboard: the dashboard shows a team's figures as people read them,
// its targets and gaps, a trend from the daily snapshots, and links to the
// records; another team's figures are not shown.
func TestDashboard(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	admin := store.Actor{Name: "admin", Remote: "127.0.0.1:1"}
	if err := w.st.SetMetricTarget(ctx, admin, w.teamA.ID, "coverage_ratio", "control=verified", 1); err != nil {
		t.Fatal(err)
	}
	if err := w.st.SetMetricTarget(ctx, admin, w.teamA.ID, "coverage_ratio", "control=scanned", 1); err != nil {
		t.Fatal(err)
	}
	// Two days of snapshots: one open critical finding each day.
	for _, day := range []time.Time{time.Now().AddDate(0, 0, -2), time.Now().AddDate(0, 0, -1)} {
		if _, err := w.st.TakeSnapshot(ctx, admin, day); err != nil {
			t.Fatal(err)
		}
	}
	srv := w.server(t, Options{})
	r := loggedIn(t, srv, w.bob).get("/dashboard")
	wantStatus(t, r, http.StatusOK)
	row := func(id string) string {
		i := strings.Index(r.body, `id="`+id+`"`)
		if i < 0 {
			t.Fatalf("no row %s", id)
		}
		j := strings.Index(r.body[i:], "</tr>")
		return r.body[i : i+j]
	}
	// Team A: one version, scanned (100%, target met), not verified (0%,
	// target 100%: a gap), one open critical finding, with a trend.
	if s := row("coverage_ratio-scanned"); !strings.Contains(s, ">100%<") || strings.Contains(s, `class="sev high"`) {
		t.Errorf("scanned: %s", s)
	}
	if s := row("coverage_ratio-verified"); !strings.Contains(s, ">0%<") || !strings.Contains(s, `<span class="sev high">100%</span>`) {
		t.Errorf("verified: %s", s)
	}
	if s := row("findings_open-critical"); !strings.Contains(s, `<td class="value">1</td>`) || !strings.Contains(s, "<svg") {
		t.Errorf("open critical: %s", s)
	}
	for _, want := range []string{"1 below target", "Team Team &lt;script&gt;", `href="/training"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("dashboard: no %q", want)
		}
	}
	// The rule families: only those with open findings are listed.
	if n := strings.Count(r.body, `id="findings_open_by_family-`); n != 1 || strings.Contains(r.body, `id="findings_open_by_family-GGUF"`) {
		t.Errorf("%d rule family rows", n)
	}
	if strings.Contains(r.body, "team-b") {
		t.Error("bob sees team-b's figures")
	}
}

func TestShowMetric(t *testing.T) {
	for _, c := range []struct {
		unit string
		v    float64
		want string
	}{
		{"ratio", 0.875, "88%"}, {"ratio", 0, "0%"}, {"count", 12, "12"},
		{"seconds", 42, "42 s"}, {"seconds", 3600*3 + 20*60, "3 h 20 min"}, {"seconds", 86400*2 + 3600, "2 d 1 h"},
	} {
		if got := showMetric(c.unit, c.v); got != c.want {
			t.Errorf("showMetric(%s, %v) = %q, want %q", c.unit, c.v, got, c.want)
		}
	}
	if sparkline([]float64{1}) != "" || !strings.Contains(string(sparkline([]float64{1, 1, 2})), "polyline") {
		t.Error("sparkline")
	}
}

// TestBrowserDashboard renders the dashboard in headless Chromium (its
// screenshot is docs/team.md's).
func TestBrowserDashboard(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	admin := store.Actor{Name: "admin", Remote: "127.0.0.1:1"}
	if err := w.st.SetMetricTarget(context.Background(), admin, w.teamA.ID, "coverage_ratio", "control=verified", 1); err != nil {
		t.Fatal(err)
	}
	for d := 5; d > 0; d-- {
		if _, err := w.st.TakeSnapshot(context.Background(), admin, time.Now().AddDate(0, 0, -d)); err != nil {
			t.Fatal(err)
		}
	}
	srv := w.server(t, Options{})
	dir := artifacts(t)
	var trends string
	err := chromedp.Do(ctx,
		signIn(srv.URL, w.alice),
		chromedp.Navigate(srv.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("table.metrics")),
		into(&trends, chromedp.Evaluate[string](`String(document.querySelectorAll("svg.trend").length)`)),
		screenshot(t, dir, "dashboard"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if trends == "0" {
		t.Error("no trend drawn")
	}
	if os.Getenv("VIOLET_DOCS_SCREENSHOTS") != "" {
		data, err := os.ReadFile(filepath.Join(dir, "dashboard.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "images", "team-dashboard.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
