package store

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// checkMetricsSeeds checks the rows of the 0009_metrics seed (from
// version 9).
func checkMetricsSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 9 {
		return
	}
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	figures := must[[]MetricValue](t)(s.Metrics(ctx, teams[0].ID))
	got := byName(figures)["coverage_ratio{control=scanned}"]
	if !got.HasTarget || got.Target != 0.75 {
		t.Fatalf("seed target: %+v", got)
	}
	hist := must[[]MetricPoint](t)(s.MetricHistory(ctx, teams[0].ID, "model_versions", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
	if len(hist) != 1 || hist[0].Day != "2025-01-02" || hist[0].Value != 1 {
		t.Fatalf("seed history %+v", hist)
	}
}

// byName indexes figures by "name{series}" (or "name").
func byName(figures []MetricValue) map[string]MetricValue {
	out := map[string]MetricValue{}
	for _, v := range figures {
		key := v.Name
		if v.Series() != "" {
			key += "{" + v.Series() + "}"
		}
		out[key] = v
	}
	return out
}

// wantFigures fails unless every figure of want has the value given, and
// every other figure its value without data: 0, but 1 for the training
// completion of a role (nothing is due, nothing is missing).
func wantFigures(t *testing.T, figures []MetricValue, want map[string]float64) {
	t.Helper()
	got := byName(figures)
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("no figure %s", k)
		}
	}
	for k, v := range got {
		w, ok := want[k]
		if !ok && v.Name == "training_completion_ratio" {
			w = 1
		}
		if math.Abs(v.Value-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, v.Value, w)
		}
	}
}

func TestMetricsKnownAnswers(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		setClock(s, t0)

		// No data: a team without models has only zeros, coverage included.
		empty := must[Team](t)(s.CreateTeam(ctx, tester, "empty team"))
		wantFigures(t, must[[]MetricValue](t)(s.Metrics(ctx, empty.ID)), nil)

		// One sample: one version with one scan and no finding.
		one := newFixture(t, s, "one")
		wantFigures(t, must[[]MetricValue](t)(s.Metrics(ctx, one.team.ID)), map[string]float64{
			"model_versions": 1, "coverage_ratio{control=scanned}": 1})

		// Team a: v1 scanned, verified, with an ML-BOM; v2 scanned only; a
		// model without versions; a threat model on the first model.
		a := newFixture(t, s, "a")
		for _, kind := range []string{EvidenceVerify, EvidenceBOM} {
			if _, _, err := s.AddEvidence(ctx, tester, a.version.ID, kind, []byte(`{"kind":"`+kind+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		v2, _, err := s.PutVersion(ctx, tester, a.model.ID, "sha256:"+sha("v2a"), "v2", []File{{Path: "m.bin", SHA256: sha("w2"), Size: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AddEvidence(ctx, tester, v2.ID, EvidenceScan, []byte(`{"findings":[1]}`)); err != nil {
			t.Fatal(err)
		}
		must[Model](t)(s.CreateModel(ctx, tester, Model{TeamID: a.team.ID, Name: "no versions", SourceKind: SourcePath, SourceRef: "/m"}))
		must[ThreatModel](t)(s.PutThreatModel(ctx, tester, ThreatModel{ModelID: a.model.ID, Assets: "weights", EntryPoints: "api"}))

		// Five findings, first seen at t0.
		var in []FindingInput
		for i, sev := range []finding.Severity{finding.High, finding.Critical, finding.Medium, finding.Low, finding.Info} {
			in = append(in, FindingInput{Rule: "R" + fmt.Sprint(i), FileSHA256: sha("weightsa"), Location: fmt.Sprint(i), Severity: sev, Message: "m"})
		}
		ids := must[[]int64](t)(s.RecordFindings(ctx, tester, a.version.ID, a.scan.ID, in))
		set := func(at time.Time, id int64, st FindingState) {
			t.Helper()
			setClock(s, at)
			if _, err := s.SetFindingState(ctx, tester, id, st); err != nil {
				t.Fatal(err)
			}
		}
		set(t0, ids[1], FindingState{State: StateAcceptedRisk, Reason: "r", ExpiresAt: t0.Add(time.Hour)})
		set(t0, ids[2], FindingState{State: StateAcceptedRisk, Reason: "r", ExpiresAt: t0.Add(1000 * time.Hour)})
		set(t0.Add(100*time.Second), ids[3], FindingState{State: StateFixed})
		set(t0.Add(300*time.Second), ids[4], FindingState{State: StateFalsePositive, Reason: "test data"})
		// Another team's open finding does not count for team a.
		b := newFixture(t, s, "b")
		must[[]int64](t)(s.RecordFindings(ctx, tester, b.version.ID, b.scan.ID, []FindingInput{
			{Rule: "R", FileSHA256: sha("weightsb"), Location: "x", Severity: finding.High, Message: "m"}}))

		// A pending procurement review, a decided one; a course the fixture's
		// ml-engineer never took; an incident that began at t0-1h, detected
		// at t0 and contained at t0+30m, and one of unknown start.
		must[ProcurementReview](t)(s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: a.team.ID, Vendor: "v", Product: "p", Kind: "llm-api"}))
		r := must[ProcurementReview](t)(s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: a.team.ID, Vendor: "w", Product: "p", Kind: "llm-api"}))
		must[ProcurementReview](t)(s.DecideProcurementReview(ctx, tester, r.ID, "rejected", ""))
		must[Course](t)(s.CreateCourse(ctx, tester, Course{TeamID: a.team.ID, Title: "t", Topic: "regulatory", Roles: []string{"ml-engineer"}, ValidDays: 30}))
		setClock(s, t0.Add(time.Hour))
		inc := Incident{TeamID: a.team.ID, Type: IncidentMaliciousModel, Severity: "high", Title: "x", Summary: "y",
			BeganAt: t0.Add(-time.Hour), DetectedAt: t0}
		i1 := must[Incident](t)(s.OpenIncident(ctx, tester, "alice", inc, nil))
		if _, _, err := s.SetIncidentState(ctx, tester, i1.ID, "alice", IncidentContained, t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		inc.BeganAt, inc.Title = time.Time{}, "unknown start"
		must[Incident](t)(s.OpenIncident(ctx, tester, "alice", inc, nil))

		// Two hours on, the first accepted risk has expired.
		setClock(s, t0.Add(2*time.Hour))
		want := map[string]float64{
			"model_versions":                               2,
			"coverage_ratio{control=scanned}":              1,
			"coverage_ratio{control=verified}":             0.5,
			"coverage_ratio{control=ml-bom}":               0.5,
			"coverage_ratio{control=threat-model}":         1,
			"findings_open{severity=high}":                 1,
			"findings_open{severity=critical}":             1,
			"findings_open_by_family{family=other}":        2,
			"findings_open_by_age{age=under-7d}":           2,
			"accepted_risks_expired":                       1,
			"remediation_seconds{stat=mean}":               200,
			"remediation_seconds{stat=p90}":                300,
			"incident_response_seconds{phase=detect}":      3600,
			"incident_response_seconds{phase=contain}":     1800,
			"incident_response_p90_seconds{phase=detect}":  3600,
			"incident_response_p90_seconds{phase=contain}": 1800,
			"training_overdue":                             1,
			"training_completion_ratio{role=ml-engineer}":  0,
			"procurement_reviews_pending":                  1,
		}
		wantFigures(t, must[[]MetricValue](t)(s.Metrics(ctx, a.team.ID)), want)

		// Targets and gaps, both directions.
		if err := s.SetMetricTarget(ctx, tester, a.team.ID, "coverage_ratio", "control=verified", 0.9); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMetricTarget(ctx, tester, a.team.ID, "findings_open", "severity=critical", 0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMetricTarget(ctx, tester, a.team.ID, "findings_open", "severity=high", 5); err != nil {
			t.Fatal(err)
		}
		got := byName(must[[]MetricValue](t)(s.Metrics(ctx, a.team.ID)))
		for key, gap := range map[string]float64{"coverage_ratio{control=verified}": 0.4,
			"findings_open{severity=critical}": 1, "findings_open{severity=high}": 0} {
			if v := got[key]; !v.HasTarget || math.Abs(v.Gap-gap) > 1e-9 {
				t.Errorf("%s: %+v, want gap %v", key, v, gap)
			}
		}
		if got["model_versions"].HasTarget {
			t.Error("a target that was never set")
		}
		// Bad targets.
		for _, bad := range []struct {
			metric, series string
			target         float64
		}{
			{"nope", "", 1}, {"coverage_ratio", "", 1}, {"coverage_ratio", "control=nope", 1},
			{"model_versions", "", 1}, {"accepted_risks_expired", "x=y", 1}, {"accepted_risks_expired", "", math.NaN()},
			{"accepted_risks_expired", "", math.Inf(1)}, {"accepted_risks_expired", "", -1}, {"coverage_ratio", "control=scanned", 1.5},
		} {
			wantErr(t, s.SetMetricTarget(ctx, tester, a.team.ID, bad.metric, bad.series, bad.target), ErrInvalid)
		}
		_, err = s.MetricHistory(ctx, a.team.ID, "nope", t0)
		wantErr(t, err, ErrInvalid)
	})
}

// TestMetricsFamiliesAgesDrillsTraining checks the figures by rule
// family and age, the drills of the quarter and the training by role.
func TestMetricsFamiliesAgesDrillsTraining(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		now := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC) // Q2: April to June
		f := newFixture(t, s, "a")

		// Findings first seen 100, 40, 10 and 1 day ago, and one exactly 7
		// days ago (a bound belongs to the older bucket); one is fixed.
		var ids []int64
		for i, x := range []struct {
			rule string
			days int
		}{{"PICKLE-GLOBAL", 100}, {"PICKLE-GLOBAL", 40}, {"ARCHIVE-TRAVERSAL", 10}, {"R", 1}, {"KERAS-LAMBDA", 7}, {"PICKLE-GLOBAL", 1}} {
			setClock(s, now.AddDate(0, 0, -x.days))
			ids = append(ids, must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, []FindingInput{
				{Rule: x.rule, FileSHA256: sha("weightsa"), Location: fmt.Sprint(i), Severity: finding.High, Message: "m"}}))...)
		}
		setClock(s, now.Add(-time.Hour))
		if _, err := s.SetFindingState(ctx, tester, ids[5], FindingState{State: StateFixed}); err != nil {
			t.Fatal(err)
		}

		// Drills: one scheduled last quarter and started this one, one
		// scheduled this quarter and not run, one for next quarter.
		for _, at := range []time.Time{now.AddDate(0, -2, 0), now.AddDate(0, 0, 3), now.AddDate(0, 2, 0)} {
			setClock(s, now.AddDate(0, -3, 0))
			must[Drill](t)(s.ScheduleDrill(ctx, tester, Drill{TeamID: f.team.ID, Scenario: DrillScenarios()[0].ID, ScheduledAt: at,
				Participants: []DrillParticipant{{Role: RoleSecurity}}}))
		}
		drills := must[[]Drill](t)(s.Drills(ctx, f.team.ID))
		setClock(s, now.AddDate(0, 0, -1))
		if _, _, err := s.StartDrill(ctx, tester, drills[len(drills)-1].ID, "alice"); err != nil {
			t.Fatal(err)
		}

		// Training: two ml-engineers, one security; a course for each role;
		// one ml-engineer completed theirs, the other's completion expired.
		second := must[User](t)(s.CreateUser(ctx, tester, "bob", "Bob", ""))
		sec := must[User](t)(s.CreateUser(ctx, tester, "carol", "Carol", ""))
		for _, m := range []Membership{{TeamID: f.team.ID, UserID: second.ID, Role: RoleMLEngineer},
			{TeamID: f.team.ID, UserID: sec.ID, Role: RoleSecurity}} {
			if err := s.AddMember(ctx, tester, m); err != nil {
				t.Fatal(err)
			}
		}
		ml := must[Course](t)(s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "ml", Topic: "regulatory", Roles: []string{"ml-engineer"}, ValidDays: 30}))
		must[Course](t)(s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "sec", Topic: "regulatory", Roles: []string{"security"}, ValidDays: 30}))
		must[Completion](t)(s.RecordCompletion(ctx, tester, ml.ID, f.user.ID, now.AddDate(0, 0, -2)))
		must[Completion](t)(s.RecordCompletion(ctx, tester, ml.ID, second.ID, now.AddDate(0, 0, -40)))

		setClock(s, now)
		got := byName(must[[]MetricValue](t)(s.Metrics(ctx, f.team.ID)))
		for key, want := range map[string]float64{
			"findings_open{severity=high}":                5,
			"findings_open_by_family{family=PICKLE}":      2,
			"findings_open_by_family{family=ARCHIVE}":     1,
			"findings_open_by_family{family=KERAS}":       1,
			"findings_open_by_family{family=other}":       1,
			"findings_open_by_family{family=DEPS}":        0,
			"findings_open_by_age{age=under-7d}":          1,
			"findings_open_by_age{age=7-30d}":             2,
			"findings_open_by_age{age=30-90d}":            1,
			"findings_open_by_age{age=over-90d}":          1,
			"remediation_seconds{stat=mean}":              86400 - 3600,
			"drills_run_quarter":                          1,
			"drills_scheduled_quarter":                    1,
			"training_overdue":                            2,
			"training_completion_ratio{role=ml-engineer}": 0.5,
			"training_completion_ratio{role=security}":    0,
			"training_completion_ratio{role=hr}":          1,
			"incident_response_p90_seconds{phase=detect}": 0,
			"coverage_ratio{control=scanned}":             1,
		} {
			if v, ok := got[key]; !ok || math.Abs(v.Value-want) > 1e-9 {
				t.Errorf("%s = %+v, want %v", key, v, want)
			}
		}
		var byAge, byFamily float64
		for _, v := range got {
			switch v.Name {
			case "findings_open_by_age":
				byAge += v.Value
			case "findings_open_by_family":
				byFamily += v.Value
			}
		}
		if byAge != 5 || byFamily != 5 {
			t.Errorf("by age %v, by family %v: each must sum to the 5 open findings", byAge, byFamily)
		}
		// The drills' plan as a target: the gap is what is left to run.
		if err := s.SetMetricTarget(ctx, tester, f.team.ID, "drills_run_quarter", "", 3); err != nil {
			t.Fatal(err)
		}
		if v := byName(must[[]MetricValue](t)(s.Metrics(ctx, f.team.ID)))["drills_run_quarter"]; v.Gap != 2 {
			t.Errorf("drills gap %+v, want 2", v)
		}
	})
}

func TestMetricSnapshots(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		day1 := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
		setClock(s, day1)
		f := newFixture(t, s, "a")
		teams := must[[]Team](t)(s.Teams(ctx))
		series := 0
		for _, d := range MetricDefs {
			series += max(1, len(d.Values))
		}
		n := must[int](t)(s.TakeSnapshot(ctx, tester, day1))
		if n != series*len(teams) {
			t.Fatalf("snapshot wrote %d rows, want %d", n, series*len(teams))
		}
		// Idempotent per day, even after the figures change.
		if _, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v2"), "v2", nil); err != nil {
			t.Fatal(err)
		}
		if n := must[int](t)(s.TakeSnapshot(ctx, tester, day1.Add(-time.Hour))); n != 0 {
			t.Fatalf("second snapshot of the day wrote %d rows", n)
		}
		day2 := day1.Add(2 * time.Hour)
		if n := must[int](t)(s.TakeSnapshot(ctx, tester, day2)); n != series*len(teams) {
			t.Fatalf("next day's snapshot wrote %d rows", n)
		}
		hist := must[[]MetricPoint](t)(s.MetricHistory(ctx, f.team.ID, "model_versions", day1))
		want := []MetricPoint{{"2026-03-01", "", 1}, {"2026-03-02", "", 2}}
		if fmt.Sprint(hist) != fmt.Sprint(want) {
			t.Fatalf("history %v, want %v", hist, want)
		}
		if hist := must[[]MetricPoint](t)(s.MetricHistory(ctx, f.team.ID, "model_versions", day2)); len(hist) != 1 {
			t.Fatalf("history since day 2: %v", hist)
		}
		cov := must[[]MetricPoint](t)(s.MetricHistory(ctx, f.team.ID, "coverage_ratio", day1))
		if len(cov) != 2*len(coverageControls) {
			t.Fatalf("coverage history %v", cov)
		}
	})
}

// BenchmarkMetrics measures Metrics for a team of 10,000 versions and
// 1,000,000 findings (100,000 with -short), built with bulk SQL (SQLite).
func BenchmarkMetrics(b *testing.B) {
	nFindings := 1_000_000
	if testing.Short() {
		nFindings = 100_000
	}
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	team, err := s.CreateTeam(ctx, tester, "bench")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const stamp = "2026-01-01T00:00:00.000000Z"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	exec := func(q string, args ...any) {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	exec(`INSERT INTO models (id, team_id, name, source_kind, source_ref, created_at) VALUES (1, $1, 'm', 'path', '/m', $2)`, team.ID, stamp)
	exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
		INSERT INTO model_versions (id, model_id, digest, created_at) SELECT i, 1, printf('sha256:%064d', i), $1 FROM n`, stamp)
	exec(`INSERT INTO evidence (version_id, kind, sha256, size, report, uploaded_by, uploaded_at)
		SELECT id, 'scan', printf('%064d', id), 2, X'7B7D', 'b', $1 FROM model_versions WHERE id % 2 = 0`, stamp)
	exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO findings (id, model_id, rule, file_sha256, location, severity, message, first_seen_at)
		SELECT i, 1, 'R', printf('%064d', i % 10000), i, CASE i % 5 WHEN 0 THEN 'info' WHEN 1 THEN 'low'
			WHEN 2 THEN 'medium' WHEN 3 THEN 'high' ELSE 'critical' END, 'm', $2 FROM n`, nFindings, stamp)
	exec(`INSERT INTO finding_states (finding_id, state, reason, set_by, set_at)
		SELECT id, 'fixed', '', 'b', '2026-01-02T00:00:00.000000Z' FROM findings WHERE id % 3 = 0`)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture: 10000 versions, %d findings, built in %s", nFindings, time.Since(start).Round(time.Millisecond))
	// computed: every call computes the figures (max age 0), what the
	// first call after a change costs; cached: the calls in between.
	for _, maxAge := range []struct {
		name string
		d    time.Duration
	}{{"computed", 0}, {"cached", DefaultMetricsMaxAge}} {
		b.Run(maxAge.name, func(b *testing.B) {
			s.SetMetricsMaxAge(maxAge.d)
			for b.Loop() {
				if _, err := s.Metrics(ctx, team.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMetricsCache: figures are kept until this store commits a change
// or the max age passes; max age 0 computes every call.
func TestMetricsCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		setClock(s, t0)
		f := newFixture(t, s, "a")
		versions := func() float64 {
			t.Helper()
			return byName(must[[]MetricValue](t)(s.Metrics(ctx, f.team.ID)))["model_versions"].Value
		}
		if v := versions(); v != 1 {
			t.Fatalf("versions %v", v)
		}
		// A version written behind the store's back (as another process
		// would) is not seen while the figures are fresh...
		if _, err := s.db.ExecContext(ctx, `INSERT INTO model_versions (model_id, digest, label, created_at)
			VALUES ($1, $2, 'raw', $3)`, f.model.ID, "sha256:"+sha("raw"), fmtTime(t0)); err != nil {
			t.Fatal(err)
		}
		if v := versions(); v != 1 {
			t.Fatalf("cached versions %v", v)
		}
		// ...and is once they are older than the max age.
		setClock(s, t0.Add(DefaultMetricsMaxAge))
		if v := versions(); v != 2 {
			t.Fatalf("after the max age: versions %v", v)
		}
		// A change committed through the store shows at once.
		if _, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v3"), "v3", nil); err != nil {
			t.Fatal(err)
		}
		if v := versions(); v != 3 {
			t.Fatalf("after a write: versions %v", v)
		}
		// A clock set back does not serve figures from the future.
		if _, err := s.db.ExecContext(ctx, `INSERT INTO model_versions (model_id, digest, label, created_at)
			VALUES ($1, $2, 'raw2', $3)`, f.model.ID, "sha256:"+sha("raw2"), fmtTime(t0)); err != nil {
			t.Fatal(err)
		}
		setClock(s, t0)
		if v := versions(); v != 4 {
			t.Fatalf("clock set back: versions %v", v)
		}
		// Max age 0: every call computes.
		s.SetMetricsMaxAge(0)
		if _, err := s.db.ExecContext(ctx, `INSERT INTO model_versions (model_id, digest, label, created_at)
			VALUES ($1, $2, 'raw3', $3)`, f.model.ID, "sha256:"+sha("raw3"), fmtTime(t0)); err != nil {
			t.Fatal(err)
		}
		if v := versions(); v != 5 {
			t.Fatalf("max age 0: versions %v", v)
		}
		// Callers get copies: changing one changes no other.
		a := must[[]MetricValue](t)(s.Metrics(ctx, f.team.ID))
		a[0].Value = -1
		if v := versions(); v != 5 {
			t.Fatalf("a caller's copy changed the figures: %v", v)
		}
	})
}

var updateDocs = flag.Bool("update", false, "rewrite the generated table of docs/metrics.md")

// metricsTable is the table of docs/metrics.md, generated from MetricDefs.
func metricsTable() string {
	var b strings.Builder
	b.WriteString("| metric (Prometheus name) | labels | unit | better | definition |\n|---|---|---|---|---|\n")
	for _, d := range MetricDefs {
		labels := "team"
		if d.Label != "" {
			labels += ", " + d.Label + ": " + strings.Join(d.Values, ", ")
		}
		better := d.Better
		if better == "" {
			better = "(no target)"
		}
		fmt.Fprintf(&b, "| `violet_%s` | %s | %s | %s | %s |\n", d.Name, labels, d.Unit, better, d.Help)
	}
	return b.String()
}

// TestMetricsDocumented checks that docs/metrics.md holds the definition
// of every metric, as MetricDefs says it (go test -run MetricsDocumented
// -update rewrites it).
func TestMetricsDocumented(t *testing.T) {
	const path, begin, end = "../docs/metrics.md", "<!-- metrics table: generated, go test ./store -run MetricsDocumented -update -->\n", "<!-- end of the metrics table -->\n"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no generated table between %q and %q", path, begin, end)
	}
	want := doc[:i+len(begin)] + metricsTable() + doc[j:]
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Errorf("%s is out of date with MetricDefs: go test ./store -run MetricsDocumented -update", path)
	}
}

// TestGrafanaDashboard checks that the example dashboard is JSON and that
// its queries name only metrics that exist.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../docs/grafana-violet.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"violet_teams": true, "violet_scrape_duration_seconds": true}
	for _, d := range MetricDefs {
		known["violet_"+d.Name] = true
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, name := range regexp.MustCompile(`violet_[a-z_0-9]+`).FindAllString(q.Expr, -1) {
				if !known[name] {
					t.Errorf("panel %q: unknown metric %s", p.Title, name)
				}
				used[name] = true
			}
		}
	}
	for _, d := range MetricDefs {
		if !used["violet_"+d.Name] {
			t.Errorf("no panel of the dashboard shows violet_%s", d.Name)
		}
	}
}

// TestReleaseAndExposureMetrics: the released coverage counts versions
// whose release every required role approved; the sign-off wait is per
// role, from the request to the approval that counts; exposure counts the
// versions whose newest deps report has a high or critical package.
func TestReleaseAndExposureMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		setClock(s, t0)
		f := newFixture(t, s, "a")
		sec := must[User](t)(s.CreateUser(ctx, tester, "sec", "", ""))
		if err := s.AddMember(ctx, tester, Membership{TeamID: f.team.ID, UserID: sec.ID, Role: RoleSecurity}); err != nil {
			t.Fatal(err)
		}
		v2, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v2"), "v2", []File{{Path: "m.bin", SHA256: sha("w2"), Size: 1}})
		if err != nil {
			t.Fatal(err)
		}
		r1 := must[Release](t)(s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "v1", Tier: "medium",
			Required: []string{"ml-engineer", "security"}}))
		r2 := must[Release](t)(s.CreateRelease(ctx, tester, Release{VersionID: v2.ID, Title: "v2", Tier: "low", Required: []string{"security"}}))
		decide := func(r Release, user int64, role, decision string, after time.Duration) {
			setClock(s, t0.Add(after))
			must[ReleaseDecision](t)(s.DecideRelease(ctx, tester, user, ReleaseDecision{ReleaseID: r.ID, Role: role, Decision: decision,
				Reason: "r", Digest: r.Digest}))
		}
		decide(r1, sec.ID, "security", DecisionApprove, time.Hour)         // waits 1 h
		decide(r1, f.user.ID, "ml-engineer", DecisionApprove, 3*time.Hour) // waits 3 h: v1 released
		decide(r2, sec.ID, "security", DecisionReject, 5*time.Hour)        // v2 not released, no wait counted
		if _, _, err := s.AddDepsEvidence(ctx, tester, v2.ID, []byte(`{"d":1}`), []Package{
			{Ecosystem: "PyPI", Name: "torch", Version: "2.5.0", Manifest: "requirements.txt", Line: 1, Severity: "critical"}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AddDepsEvidence(ctx, tester, f.version.ID, []byte(`{"d":2}`), []Package{
			{Ecosystem: "PyPI", Name: "numpy", Version: "2.0.0", Manifest: "requirements.txt", Line: 1, Severity: "low"}}); err != nil {
			t.Fatal(err)
		}
		wantFigures(t, must[[]MetricValue](t)(s.Metrics(ctx, f.team.ID)), map[string]float64{
			"model_versions": 2, "coverage_ratio{control=scanned}": 0.5, "coverage_ratio{control=released}": 0.5,
			"signoff_wait_seconds{role=security}": 3600, "signoff_wait_seconds{role=ml-engineer}": 3 * 3600,
			"versions_with_vulnerable_packages": 1,
		})
	})
}
