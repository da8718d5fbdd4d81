package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/release"
)

// MetricDef defines one security metric: what is counted and from which
// records (Help), its unit, its label (when it has one series per label
// value) and which way is better, which says how a gap to a target is
// measured. MetricDefs is the table of them all; docs/metrics.md is
// generated from it.
type MetricDef struct {
	Name string
	Help string
	Unit string // "count", "ratio" or "seconds"
	// Label names the label of a metric with several series and Values
	// its values, in order; both empty for a single series.
	Label  string
	Values []string
	// Better is "higher" (a value under the target is a gap: coverage),
	// "lower" (a value over it is: open findings), or "" for a count
	// that is neither good nor bad, which takes no target.
	Better string
	// Sparse marks a metric of many series, most of them 0 (the rule
	// families): the web UI's dashboard lists only its series that are not
	// 0 or have a target; the API and Prometheus give every series.
	Sparse bool
	figure func(d *metricData, value string) float64
}

// MetricValue is one series of a metric for a team, with the team's
// target and the gap to it (how far the value falls short of the target
// in the bad direction; 0 when met or when there is no target).
type MetricValue struct {
	Name       string
	Label      string
	LabelValue string
	Value      float64
	HasTarget  bool
	Target     float64
	Gap        float64
}

// Series is the series' key within its metric: "label=value", or "" for
// a metric with one series.
func (v MetricValue) Series() string { return seriesKey(v.Label, v.LabelValue) }

// MetricPoint is one day's value of a series in a team's history.
type MetricPoint struct {
	Day    string // YYYY-MM-DD, UTC
	Series string
	Value  float64
}

// metricData is what the figures are computed from, loaded once per team.
type metricData struct {
	versions    int
	covered     map[string]int       // control -> versions that have it
	open        map[string]int       // severity -> findings open now
	family      map[string]int       // rule family -> findings open now
	age         map[string]int       // age bucket -> findings open now
	expired     int                  // accepted risks past their expiry
	remediation map[string]float64   // stat -> seconds from first seen to fixed or false-positive
	response    map[string][]float64 // phase -> incidents' seconds to detect, to contain (sorted)
	drills      map[string]int       // "scheduled", "run" -> drills of the current quarter
	overdue     int                  // training due and not done or expired
	training    map[string][2]int    // role -> (pairs due, pairs complete)
	pending     int                  // procurement reviews not decided
	exposed     int                  // versions whose newest deps report has a high or critical package
	signoff     map[string][]float64 // role -> seconds from release request to its counted approval
}

// Coverage controls, severities, rule families, ages, statistics and
// roles: the label values of the labelled metrics.
var (
	coverageControls = []string{"scanned", "verified", "ml-bom", "threat-model", "released"}
	signoffRoles     = []string{"security", "ml-engineer", "legal-compliance", "sme", "procurement", "hr"}
	metricSeverities = []string{"info", "low", "medium", "high", "critical"}
	remediationStats = []string{"mean", "p90"}
	responsePhases   = []string{"detect", "contain"}
	ruleFamilies     = catalogueFamilies()
	trainingRoles    = func() []string {
		var out []string
		for _, r := range Roles() {
			out = append(out, string(r))
		}
		return out
	}()
)

// ageBuckets are the ages of open findings, youngest first: a finding
// falls in the first bucket whose bound its age is under.
var ageBuckets = []struct {
	name  string
	under time.Duration // 0: no bound
}{
	{"under-7d", 7 * 24 * time.Hour},
	{"7-30d", 30 * 24 * time.Hour},
	{"30-90d", 90 * 24 * time.Hour},
	{"over-90d", 0},
}

// ruleFamily is the family of a rule id: what comes before its first
// dash ("PICKLE" of PICKLE-GLOBAL), when the catalogue knows that family;
// "other" for any other rule (an uploaded report may name any).
func ruleFamily(rule string) string {
	fam, _, _ := strings.Cut(rule, "-")
	if slices.Contains(ruleFamilies, fam) {
		return fam
	}
	return "other"
}

// catalogueFamilies lists the rule families of the catalogue, sorted,
// then "other".
func catalogueFamilies() []string {
	var out []string
	for _, r := range finding.Rules() {
		fam, _, _ := strings.Cut(r.ID, "-")
		if !slices.Contains(out, fam) {
			out = append(out, fam)
		}
	}
	slices.Sort(out)
	return append(out, "other")
}

// quarterStart is the first instant of t's calendar quarter, UTC.
func quarterStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month()-(t.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
}

// MetricDefs is the table of metric definitions, in display order.
var MetricDefs = []MetricDef{
	{Name: "model_versions", Unit: "count",
		Help:   "Model versions (manifest digests) of the team's models: every row of model_versions. The models are not deleted; a model without versions adds none.",
		figure: func(d *metricData, _ string) float64 { return float64(d.versions) }},
	{Name: "coverage_ratio", Unit: "ratio", Label: "control", Values: coverageControls, Better: "higher",
		Help: "Share of the team's model versions with a control: scanned (a scan evidence), verified (a verify " +
			"evidence), ml-bom (a bom evidence), threat-model (its model has a threat model), released (a release request " +
			"of the version that every required role approved, each by another person, none rejecting: package release's " +
			"judgement). 0 when the team has no versions.",
		figure: func(d *metricData, control string) float64 { return ratio(d.covered[control], d.versions) }},
	{Name: "findings_open", Unit: "count", Label: "severity", Values: metricSeverities, Better: "lower",
		Help: "Findings of the team's models whose effective state is open: never triaged, set back to open, or an " +
			"accepted risk past its expiry.",
		figure: func(d *metricData, sev string) float64 { return float64(d.open[sev]) }},
	{Name: "findings_open_by_family", Unit: "count", Label: "family", Values: ruleFamilies, Better: "lower", Sparse: true,
		Help: "The open findings (as findings_open counts them) by rule family: what comes before the first dash of " +
			"the rule id (PICKLE of PICKLE-GLOBAL), as the rule catalogue names the families; other for any other rule.",
		figure: func(d *metricData, fam string) float64 { return float64(d.family[fam]) }},
	{Name: "findings_open_by_age", Unit: "count", Label: "age", Values: bucketNames(), Better: "lower",
		Help: "The open findings (as findings_open counts them) by the time since their first sighting: under 7 days, " +
			"7 to 30, 30 to 90, over 90.",
		figure: func(d *metricData, age string) float64 { return float64(d.age[age]) }},
	{Name: "accepted_risks_expired", Unit: "count", Better: "lower",
		Help:   "Findings whose last state is accepted-risk with an expiry at or before now (they count as open too).",
		figure: func(d *metricData, _ string) float64 { return float64(d.expired) }},
	{Name: "remediation_seconds", Unit: "seconds", Label: "stat", Values: remediationStats, Better: "lower",
		Help: "Time to remediate: for each finding whose last state is fixed or false-positive, the time from its " +
			"first sighting to that state change; mean and 90th percentile (nearest rank). 0 when none is remediated.",
		figure: func(d *metricData, stat string) float64 { return d.remediation[stat] }},
	{Name: "incident_response_seconds", Unit: "seconds", Label: "phase", Values: responsePhases, Better: "lower",
		Help: "Mean time of the team's incidents, drills' included: detect (from when the compromise began to its " +
			"detection, for incidents whose start is known) and contain (from detection to containment, for contained " +
			"ones). 0 when there is none.",
		figure: func(d *metricData, phase string) float64 { return remediationStat(d.response[phase], "mean") }},
	{Name: "incident_response_p90_seconds", Unit: "seconds", Label: "phase", Values: responsePhases, Better: "lower",
		Help: "The 90th percentile (nearest rank) of the same times as incident_response_seconds: the slow tail of " +
			"detection and containment. 0 when there is none.",
		figure: func(d *metricData, phase string) float64 { return remediationStat(d.response[phase], "p90") }},
	{Name: "drills_run_quarter", Unit: "count", Better: "higher",
		Help: "Drills of the team started in the current calendar quarter (UTC). Set the team's plan for a quarter as " +
			"the target: the gap is the drills still to run.",
		figure: func(d *metricData, _ string) float64 { return float64(d.drills["run"]) }},
	{Name: "drills_scheduled_quarter", Unit: "count",
		Help:   "Drills of the team scheduled for a day of the current calendar quarter (UTC), run or not.",
		figure: func(d *metricData, _ string) float64 { return float64(d.drills["scheduled"]) }},
	{Name: "versions_with_vulnerable_packages", Unit: "count", Better: "lower",
		Help: "Model versions of the team whose newest violet deps report names a package with a high or critical " +
			"finding (a known vulnerability, a malicious or typosquatted package).",
		figure: func(d *metricData, _ string) float64 { return float64(d.exposed) }},
	{Name: "signoff_wait_seconds", Unit: "seconds", Label: "role", Values: signoffRoles, Better: "lower",
		Help: "Where release decisions wait: for each role, the mean time from a release request to that role's " +
			"approval, over the team's releases whose latest decision of the role approves the release's version. " +
			"0 when the role has approved none.",
		figure: func(d *metricData, role string) float64 { return remediationStat(d.signoff[role], "mean") }},
	{Name: "training_overdue", Unit: "count", Better: "lower",
		Help: "Pairs of a team member and a course their role must take that they never completed or whose last " +
			"completion expired (the training status's overdue rows).",
		figure: func(d *metricData, _ string) float64 { return float64(d.overdue) }},
	{Name: "training_completion_ratio", Unit: "ratio", Label: "role", Values: trainingRoles, Better: "higher",
		Help: "For each role, the share of the pairs of a member holding the role and a course the role must take " +
			"that are complete (a completion not expired). 1 when the role has no course due (nothing is missing).",
		figure: func(d *metricData, role string) float64 {
			t := d.training[role]
			if t[0] == 0 {
				return 1
			}
			return ratio(t[1], t[0])
		}},
	{Name: "procurement_reviews_pending", Unit: "count", Better: "lower",
		Help:   "Procurement reviews of third-party AI of the team still pending a decision.",
		figure: func(d *metricData, _ string) float64 { return float64(d.pending) }},
}

// bucketNames are the names of ageBuckets, in order.
func bucketNames() []string {
	var out []string
	for _, b := range ageBuckets {
		out = append(out, b.name)
	}
	return out
}

// metricDef returns the definition of a metric by name.
func metricDef(name string) (MetricDef, bool) {
	i := slices.IndexFunc(MetricDefs, func(d MetricDef) bool { return d.Name == name })
	if i < 0 {
		return MetricDef{}, false
	}
	return MetricDefs[i], true
}

func seriesKey(label, value string) string {
	if label == "" {
		return ""
	}
	return label + "=" + value
}

func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// remediationStat is the mean or the nearest-rank 90th percentile of
// sorted seconds; 0 for none.
func remediationStat(sorted []float64, stat string) float64 {
	if len(sorted) == 0 {
		return 0
	}
	if stat == "p90" {
		return sorted[int(math.Ceil(0.9*float64(len(sorted))))-1]
	}
	var sum float64
	for _, x := range sorted {
		sum += x
	}
	return sum / float64(len(sorted))
}

// loadMetricData reads what a team's figures are computed from. The
// findings are counted by SQL aggregates over their current state (kept on
// each finding by a trigger, migration 0011), so that a call costs one
// index range per team, not a read of every finding's history.
func (s *Store) loadMetricData(ctx context.Context, teamID int64) (*metricData, error) {
	d := &metricData{covered: map[string]int{}, open: map[string]int{}, family: map[string]int{}, age: map[string]int{},
		remediation: map[string]float64{}}
	now := s.stamp()
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		const versions = `FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.team_id = $1`
		if err := tx.QueryRowContext(ctx, `SELECT count(*) `+versions, teamID).Scan(&d.versions); err != nil {
			return err
		}
		for control, cond := range map[string]string{
			"scanned":      `EXISTS (SELECT 1 FROM evidence e WHERE e.version_id = v.id AND e.kind = 'scan')`,
			"verified":     `EXISTS (SELECT 1 FROM evidence e WHERE e.version_id = v.id AND e.kind = 'verify')`,
			"ml-bom":       `EXISTS (SELECT 1 FROM evidence e WHERE e.version_id = v.id AND e.kind = 'bom')`,
			"threat-model": `EXISTS (SELECT 1 FROM threat_models t WHERE t.model_id = m.id)`,
		} {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) `+versions+` AND `+cond, teamID).Scan(&n); err != nil {
				return err
			}
			d.covered[control] = n
		}
		if err := loadOpenFindings(ctx, tx, teamID, now, d); err != nil {
			return err
		}
		return loadRemediation(ctx, tx, teamID, d)
	})
	if err != nil {
		return nil, err
	}
	return d, s.loadPeopleData(ctx, teamID, d)
}

// loadOpenFindings counts a team's open findings (never triaged, set back
// to open, or an accepted risk past its expiry) by severity, rule family
// and age, grouped in SQL: the open ones in the order of the index
// findings_current (no sort), the expired accepted risks (few) apart.
func loadOpenFindings(ctx context.Context, tx *sql.Tx, teamID int64, now time.Time, d *metricData) error {
	// older[i] counts the findings first seen at or before the i-th bound.
	var older strings.Builder
	args := []any{teamID}
	for _, b := range ageBuckets[:len(ageBuckets)-1] {
		args = append(args, fmtTime(now.Add(-b.under)))
		fmt.Fprintf(&older, ", sum(CASE WHEN f.first_seen_at <= $%d THEN 1 ELSE 0 END)", len(args))
	}
	expiredArgs := append(slices.Clip(args), fmtTime(now))
	for _, q := range []struct {
		where   string
		args    []any
		expired bool
	}{
		{`f.state = 'open'`, args, false},
		{fmt.Sprintf(`f.state = 'accepted-risk' AND f.state_expires_at <= $%d`, len(expiredArgs)), expiredArgs, true},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT f.severity, f.rule, count(*)`+older.String()+`
			FROM findings f JOIN models m ON m.id = f.model_id WHERE m.team_id = $1 AND `+q.where+`
			GROUP BY f.severity, f.rule`, q.args...)
		if err != nil {
			return err
		}
		if err := addOpenFindings(rows, d, q.expired); err != nil {
			return err
		}
	}
	return nil
}

// addOpenFindings adds rows of (severity, rule, count, older than each
// age bound) to d; expired says they are accepted risks past expiry.
func addOpenFindings(rows *sql.Rows, d *metricData, expired bool) error {
	defer rows.Close()
	for rows.Next() {
		var sev, rule string
		var n int
		older := make([]int, len(ageBuckets)-1)
		dest := []any{&sev, &rule, &n}
		for i := range older {
			dest = append(dest, &older[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		d.open[sev] += n
		d.family[ruleFamily(rule)] += n
		if expired {
			d.expired += n
		}
		// The bounds grow: a finding older than bound i+1 is older than i.
		younger := n
		for i, b := range ageBuckets {
			if i < len(older) {
				d.age[b.name] += younger - older[i]
				younger = older[i]
			} else {
				d.age[b.name] += younger
			}
		}
	}
	return rows.Err()
}

// loadRemediation computes the mean and the nearest-rank 90th percentile
// of the time the team's fixed and false-positive findings took, in SQL:
// the percentile is the row at its rank in the index order.
func loadRemediation(ctx context.Context, tx *sql.Tx, teamID int64, d *metricData) error {
	const resolved = ` FROM findings f JOIN models m ON m.id = f.model_id
		WHERE m.team_id = $1 AND f.state IN ('fixed', 'false-positive')`
	var n int
	var mean float64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(avg(f.resolve_seconds), 0)`+resolved, teamID).Scan(&n, &mean); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	d.remediation["mean"] = mean
	rank := int(math.Ceil(0.9*float64(n))) - 1
	var p90 float64
	err := tx.QueryRowContext(ctx, `SELECT f.resolve_seconds`+resolved+` ORDER BY f.resolve_seconds LIMIT 1 OFFSET $2`,
		teamID, rank).Scan(&p90)
	d.remediation["p90"] = p90
	return err
}

// loadPeopleData adds the figures of incidents, drills, training and
// procurement, through the same store methods as their own pages.
func (s *Store) loadPeopleData(ctx context.Context, teamID int64, d *metricData) error {
	incidents, err := s.Incidents(ctx, teamID)
	if err != nil {
		return err
	}
	d.response = map[string][]float64{}
	for _, i := range incidents {
		if t, ok := i.TimeToDetect(); ok {
			d.response["detect"] = append(d.response["detect"], t.Seconds())
		}
		if t, ok := i.TimeToContain(); ok {
			d.response["contain"] = append(d.response["contain"], t.Seconds())
		}
	}
	for _, times := range d.response {
		slices.Sort(times)
	}
	drills, err := s.Drills(ctx, teamID)
	if err != nil {
		return err
	}
	d.drills = map[string]int{}
	quarter := quarterStart(s.stamp())
	next := quarter.AddDate(0, 3, 0)
	in := func(t time.Time) bool { return !t.Before(quarter) && t.Before(next) }
	for _, x := range drills {
		if in(x.ScheduledAt) {
			d.drills["scheduled"]++
		}
		if in(x.StartedAt) {
			d.drills["run"]++
		}
	}
	due, err := s.TrainingStatus(ctx, teamID)
	if err != nil {
		return err
	}
	d.training = map[string][2]int{}
	for _, t := range due {
		c := d.training[t.Role]
		c[0]++
		if t.Overdue {
			d.overdue++
		} else {
			c[1]++
		}
		d.training[t.Role] = c
	}
	if err := s.loadReleaseData(ctx, teamID, d); err != nil {
		return err
	}
	reviews, err := s.ProcurementReviews(ctx, teamID)
	if err != nil {
		return err
	}
	for _, r := range reviews {
		if r.Decision == "pending" {
			d.pending++
		}
	}
	return nil
}

// loadReleaseData adds the figures of releases and dependencies: the
// versions released with every sign-off (judged by package release, as
// the server and the gate judge them), the wait for each role's approval,
// and the versions exposed by their packages.
func (s *Store) loadReleaseData(ctx context.Context, teamID int64, d *metricData) error {
	releases, err := s.Releases(ctx, teamID, "")
	if err != nil {
		return err
	}
	decided, err := s.teamReleaseDecisions(ctx, teamID)
	if err != nil {
		return err
	}
	d.signoff = map[string][]float64{}
	released := map[int64]bool{}
	for _, r := range releases {
		ds := decided[r.ID]
		decisions := make([]release.Decision, len(ds))
		for i, x := range ds {
			decisions[i] = release.Decision{Role: x.Role, Decision: x.Decision, Digest: x.Digest, By: x.DecidedBy}
		}
		if release.Judge(r.Required, r.Digest, decisions).Approved {
			released[r.VersionID] = true
		}
		latest := map[string]ReleaseDecision{}
		for _, x := range ds {
			latest[x.Role] = x
		}
		for _, role := range r.Required {
			if x, ok := latest[role]; ok && x.Decision == DecisionApprove && x.Digest == r.Digest {
				d.signoff[role] = append(d.signoff[role], max(0, x.DecidedAt.Sub(r.RequestedAt).Seconds()))
			}
		}
	}
	d.covered["released"] = len(released)
	return s.rdb.QueryRowContext(ctx, `SELECT count(DISTINCT p.version_id) FROM version_packages p
		JOIN model_versions v ON v.id = p.version_id JOIN models m ON m.id = v.model_id
		WHERE m.team_id = $1 AND p.severity IN ('high', 'critical') AND `+newestOf("p", EvidenceDeps), teamID).Scan(&d.exposed)
}

// Metrics returns the figures of a team, every series of every metric of
// MetricDefs in order, with the team's targets and the gaps to them.
//
// The figures are kept for at most the store's metrics max age
// (SetMetricsMaxAge, DefaultMetricsMaxAge) and until this store commits a
// change: a dashboard, a Prometheus scrape and a report in a row compute
// them once. A change committed by another process (a worker, another
// server on the same PostgreSQL) shows within the max age.
func (s *Store) Metrics(ctx context.Context, teamID int64) ([]MetricValue, error) {
	return s.metrics.get(teamID, s.now(), s.writes.Load(), func() ([]MetricValue, error) {
		return s.computeMetrics(ctx, teamID)
	})
}

// computeMetrics computes a team's figures from the records.
func (s *Store) computeMetrics(ctx context.Context, teamID int64) ([]MetricValue, error) {
	d, err := s.loadMetricData(ctx, teamID)
	if err != nil {
		return nil, err
	}
	targets := map[[2]string]float64{}
	rows, err := s.rdb.QueryContext(ctx, `SELECT metric, labels, target FROM metric_targets WHERE team_id = $1`, teamID)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var metric, labels string
		var target float64
		if err := rows.Scan(&metric, &labels, &target); err != nil {
			return nil, s.wrap(err)
		}
		targets[[2]string{metric, labels}] = target
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err)
	}
	var out []MetricValue
	for _, def := range MetricDefs {
		values := def.Values
		if def.Label == "" {
			values = []string{""}
		}
		for _, lv := range values {
			v := MetricValue{Name: def.Name, Label: def.Label, LabelValue: lv, Value: def.figure(d, lv)}
			v.Target, v.HasTarget = targets[[2]string{def.Name, v.Series()}]
			if v.HasTarget {
				if def.Better == "higher" {
					v.Gap = max(0, v.Target-v.Value)
				} else {
					v.Gap = max(0, v.Value-v.Target)
				}
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// SetMetricTarget sets (or replaces) a team's target for one series of a
// metric: series is "label=value" for a labelled metric, "" otherwise.
// An unknown metric or series, or a target that is not a finite number
// (or is negative, or over 1 for a ratio), is ErrInvalid.
func (s *Store) SetMetricTarget(ctx context.Context, a Actor, teamID int64, metric, series string, target float64) error {
	def, ok := metricDef(metric)
	if !ok {
		return fmt.Errorf("unknown metric %q: %w", metric, ErrInvalid)
	}
	valid := []string{""}
	if def.Label != "" {
		valid = nil
		for _, v := range def.Values {
			valid = append(valid, seriesKey(def.Label, v))
		}
	}
	if def.Better == "" {
		return fmt.Errorf("metric %s is neither good nor bad and takes no target: %w", metric, ErrInvalid)
	}
	if !slices.Contains(valid, series) {
		return fmt.Errorf("metric %s has no series %q (it has %q): %w", metric, series, valid, ErrInvalid)
	}
	if math.IsNaN(target) || math.IsInf(target, 0) || target < 0 || (def.Unit == "ratio" && target > 1) {
		return fmt.Errorf("target %v of %s: must be a finite number, not negative (at most 1 for a ratio): %w",
			target, metric, ErrInvalid)
	}
	return s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO metric_targets (team_id, metric, labels, target, set_by, set_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (team_id, metric, labels) DO UPDATE SET target = excluded.target,
				set_by = excluded.set_by, set_at = excluded.set_at`,
			teamID, metric, series, target, a.Name, fmtTime(s.stamp())); err != nil {
			return err
		}
		log.add("metric.target", objectID("team", teamID), map[string]any{"metric": metric, "series": series, "target": target})
		return nil
	})
}

// TakeSnapshot records every team's current figures as the snapshot of
// day (its UTC date). It is idempotent per day: a team that already has
// that day's snapshot keeps it. It returns the number of rows written;
// one audit record ("metrics.snapshot") covers a call that wrote any.
func (s *Store) TakeSnapshot(ctx context.Context, a Actor, day time.Time) (int, error) {
	date := day.UTC().Format(time.DateOnly)
	teams, err := s.Teams(ctx)
	if err != nil {
		return 0, err
	}
	figures := map[int64][]MetricValue{}
	for _, t := range teams {
		var done bool
		if err := s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM metric_snapshots WHERE team_id = $1 AND day = $2)`,
			t.ID, date).Scan(&done); err != nil {
			return 0, s.wrap(err)
		}
		if done {
			continue
		}
		if figures[t.ID], err = s.Metrics(ctx, t.ID); err != nil {
			return 0, err
		}
	}
	if len(figures) == 0 {
		return 0, nil
	}
	var n int
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		for _, t := range teams {
			for _, v := range figures[t.ID] {
				res, err := tx.ExecContext(ctx, `INSERT INTO metric_snapshots (team_id, day, metric, labels, value)
					VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, t.ID, date, v.Name, v.Series(), v.Value)
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				n += int(k)
			}
		}
		if n > 0 {
			log.add("metrics.snapshot", "metrics/"+date, map[string]any{"rows": n})
		}
		return nil
	})
	return n, err
}

// MetricHistory returns a team's daily snapshots of a metric from the
// day since on (inclusive), by day and series.
func (s *Store) MetricHistory(ctx context.Context, teamID int64, metric string, since time.Time) ([]MetricPoint, error) {
	if _, ok := metricDef(metric); !ok {
		return nil, fmt.Errorf("unknown metric %q: %w", metric, ErrInvalid)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT day, labels, value FROM metric_snapshots
		WHERE team_id = $1 AND metric = $2 AND day >= $3 ORDER BY day, labels`,
		teamID, metric, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []MetricPoint
	for rows.Next() {
		var p MetricPoint
		if err := rows.Scan(&p.Day, &p.Series, &p.Value); err != nil {
			return nil, s.wrap(err)
		}
		out = append(out, p)
	}
	return out, s.wrap(rows.Err())
}
