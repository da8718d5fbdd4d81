package server

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/violet-mlsecops/violet/store"
)

// scrape parses an answer of GET /metrics with Prometheus's own parser
// and indexes its samples by family and labels ("name" then
// `label="value",...` in the family's order).
func scrape(t *testing.T, body []byte) map[string]map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, body)
	}
	out := map[string]map[string]float64{}
	for name, f := range families {
		if f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
			t.Errorf("%s: type %v, help %q", name, f.GetType(), f.GetHelp())
		}
		out[name] = map[string]float64{}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			out[name][key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestMetricsEndpoints(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		ctx := context.Background()
		alpha, beta := e.team("alpha"), e.team(`beta "quoted" \ team`)
		viewer, admin := e.token(alpha, "alpha-viewer", store.RoleViewer), e.token(alpha, "alpha-admin", store.RoleAdmin)
		e.token(beta, "beta-viewer", store.RoleViewer)
		// alpha: one model with two versions, one scanned.
		m, err := e.st.CreateModel(ctx, system, store.Model{TeamID: alpha.ID, Name: "m", SourceKind: store.SourcePath, SourceRef: "/m"})
		if err != nil {
			t.Fatal(err)
		}
		for i, label := range []string{"v1", "v2"} {
			digest := "sha256:" + string(bytes.Repeat([]byte{byte('a' + i)}, 64))
			v, _, err := e.st.PutVersion(ctx, system, m.ID, digest, label, nil)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, _, err := e.st.AddEvidence(ctx, system, v.ID, store.EvidenceScan, []byte(`{"findings":[]}`)); err != nil {
					t.Fatal(err)
				}
			}
		}

		// A team member sees their team only.
		e.must(http.StatusUnauthorized, e.do("GET", "/metrics", "", nil))
		got := scrape(t, e.must(http.StatusOK, e.do("GET", "/metrics", viewer, nil)).body)
		if v := got["violet_model_versions"]; len(v) != 1 || v["team=alpha,"] != 2 {
			t.Errorf("model versions %v", v)
		}
		if v := got["violet_coverage_ratio"]["team=alpha,control=scanned,"]; v != 0.5 {
			t.Errorf("scanned coverage %v, want 0.5", v)
		}
		if len(got["violet_findings_open"]) != 5 || got["violet_teams"][""] != 1 {
			t.Errorf("findings %v, teams %v", got["violet_findings_open"], got["violet_teams"])
		}
		if _, ok := got["violet_scrape_duration_seconds"]; !ok {
			t.Error("no server health figure")
		}
		// The server's admin sees every team, odd names escaped.
		got = scrape(t, e.must(http.StatusOK, e.do("GET", "/metrics", e.admin, nil)).body)
		if v := got["violet_model_versions"]; len(v) != 3 || v[`team=beta "quoted" \ team,`] != 0 || v["team=alpha,"] != 2 {
			t.Errorf("model versions for the server's admin: %v", v)
		}

		// The first call of the day took the day's snapshot, once.
		hist, err := e.st.MetricHistory(ctx, alpha.ID, "model_versions", time.Now().Add(-24*time.Hour))
		if err != nil || len(hist) != 1 || hist[0].Value != 2 || hist[0].Day != time.Now().UTC().Format(time.DateOnly) {
			t.Fatalf("history %v, %v", hist, err)
		}

		// Targets: an admin of the team sets them, the members see the gap.
		e.must(http.StatusForbidden, e.do("PUT", "/api/v1/metrics/targets", viewer,
			map[string]any{"metric": "coverage_ratio", "series": "control=scanned", "target": 0.8}))
		e.must(http.StatusOK, e.do("PUT", "/api/v1/metrics/targets", admin,
			map[string]any{"metric": "coverage_ratio", "series": "control=scanned", "target": 0.8}))
		for _, bad := range []any{
			map[string]any{"metric": "nope", "target": 1},
			map[string]any{"metric": "coverage_ratio", "series": "control=scanned"},
			map[string]any{"metric": "coverage_ratio", "series": "control=scanned", "target": 2},
			map[string]any{"metric": "accepted_risks_expired", "target": -1},
			map[string]any{"metric": "model_versions", "target": 1},
			map[string]any{"metric": "model_versions", "target": "1"},
			[]byte(`{"metric":`),
		} {
			// 400 for a malformed body, 422 for a well-formed bad target.
			if r := e.do("PUT", "/api/v1/metrics/targets", admin, bad); r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Errorf("target %v: status %d: %s", bad, r.status, r.body)
			}
		}
		var out metricsJSON
		e.must(http.StatusOK, e.do("GET", "/api/v1/metrics", viewer, nil)).decode(t, &out)
		found := false
		for _, m := range out.Metrics {
			if m.Name == "coverage_ratio" && m.Series == "control=scanned" {
				found = m.Target != nil && *m.Target == 0.8 && m.Value == 0.5 && m.Gap > 0.3-1e-9 && m.Gap < 0.3+1e-9 && m.Help != ""
			} else if m.Target != nil {
				t.Errorf("a target never set: %+v", m)
			}
		}
		if out.Team != "alpha" || !found {
			t.Errorf("metrics %+v", out)
		}
	})
}
