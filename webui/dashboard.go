package webui

import (
	"context"
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// dashboardDays is how far back the dashboard's trends go.
const dashboardDays = 90

// metricRow is one series of a metric on the dashboard.
type metricRow struct {
	Def    store.MetricDef
	Value  store.MetricValue
	Shown  string // the value, for people: 87%, 3 h 20 min, 12
	Target string
	Gap    string
	// Trend is a small chart of the series' daily snapshots (inline SVG);
	// empty with fewer than two.
	Trend template.HTML
	// Records is the page that lists what the number counts.
	Records string
}

// teamDashboard is one team's metrics.
type teamDashboard struct {
	Team string
	Rows []metricRow
	Gaps int
}

// metricRecords is where the records behind each metric are, by metric.
var metricRecords = map[string]string{
	"model_versions":                    "/",
	"coverage_ratio":                    "/",
	"findings_open":                     "/",
	"findings_open_by_family":           "/",
	"findings_open_by_age":              "/",
	"accepted_risks_expired":            "/",
	"remediation_seconds":               "/",
	"incident_response_seconds":         "/incidents",
	"incident_response_p90_seconds":     "/incidents",
	"drills_run_quarter":                "/incidents",
	"drills_scheduled_quarter":          "/incidents",
	"versions_with_vulnerable_packages": "/",
	"signoff_wait_seconds":              "/releases",
	"training_overdue":                  "/training",
	"training_completion_ratio":         "/training",
	"procurement_reviews_pending":       "/procurement",
}

func (u *ui) dashboard(w http.ResponseWriter, r *http.Request, v *viewer) {
	var d []teamDashboard
	for _, id := range slices.Sorted(maps.Keys(v.teamNames)) {
		if !v.may(id, store.PermRead) {
			continue
		}
		t, err := u.teamDashboard(r.Context(), id, v.teamNames[id])
		if err != nil {
			u.serverError(w, v, err)
			return
		}
		d = append(d, t)
	}
	u.render(w, http.StatusOK, "dashboard", v, page{Title: "Dashboard", Data: d})
}

func (u *ui) teamDashboard(ctx context.Context, team int64, name string) (teamDashboard, error) {
	t := teamDashboard{Team: name}
	values, err := u.st.Metrics(ctx, team)
	if err != nil {
		return t, err
	}
	defs := map[string]store.MetricDef{}
	for _, def := range store.MetricDefs {
		defs[def.Name] = def
	}
	since := u.opts.Now().UTC().AddDate(0, 0, -dashboardDays)
	history := map[string][]store.MetricPoint{}
	for _, val := range values {
		def := defs[val.Name]
		if def.Sparse && val.Value == 0 && !val.HasTarget {
			continue
		}
		if _, ok := history[def.Name]; !ok {
			if history[def.Name], err = u.st.MetricHistory(ctx, team, def.Name, since); err != nil {
				return t, err
			}
		}
		row := metricRow{Def: def, Value: val, Shown: showMetric(def.Unit, val.Value), Records: metricRecords[def.Name]}
		if val.HasTarget {
			row.Target = showMetric(def.Unit, val.Target)
			if val.Gap > 0 {
				row.Gap = showMetric(def.Unit, val.Gap)
				t.Gaps++
			}
		}
		var points []float64
		for _, p := range history[def.Name] {
			if p.Series == val.Series() {
				points = append(points, p.Value)
			}
		}
		row.Trend = sparkline(points)
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// showMetric writes a value for people, by its unit.
func showMetric(unit string, v float64) string {
	switch unit {
	case "ratio":
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	case "seconds":
		return showDuration(time.Duration(v * float64(time.Second)))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// showDuration writes a duration in its two largest units.
func showDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
	days, hours, minutes := int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, minutes)
	}
	return fmt.Sprintf("%d min", minutes)
}

// sparkline draws points (oldest first) as an inline SVG polyline, 120 by
// 24 pixels: a chart without JavaScript. Fewer than two points draw none.
func sparkline(points []float64) template.HTML {
	if len(points) < 2 {
		return ""
	}
	lo, hi := slices.Min(points), slices.Max(points)
	span := hi - lo
	if span == 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		span = 1
	}
	var b strings.Builder
	for i, p := range points {
		x := float64(i) * 118 / float64(len(points)-1)
		y := 22 - (p-lo)/span*20
		if math.IsNaN(y) || math.IsInf(y, 0) {
			y = 22
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x+1, y)
	}
	// Only numbers go into the markup: safe to mark as HTML.
	return template.HTML(`<svg class="trend" width="120" height="24" viewBox="0 0 120 24" role="img" aria-label="trend">` +
		`<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="` + strings.TrimSpace(b.String()) + `"/></svg>`)
}
