package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// metricJSON is one series of a metric with its definition, target and
// gap (openapi.json).
type metricJSON struct {
	Name   string   `json:"name"`
	Help   string   `json:"help"`
	Unit   string   `json:"unit"`
	Series string   `json:"series"`
	Value  float64  `json:"value"`
	Target *float64 `json:"target"`
	Gap    float64  `json:"gap"`
	Better string   `json:"better"`
}

// metricsJSON is a team's figures (openapi.json).
type metricsJSON struct {
	Team    string       `json:"team"`
	Metrics []metricJSON `json:"metrics"`
}

func (s *Server) metricsOf(c *call, team store.Team) (metricsJSON, error) {
	figures, err := s.st.Metrics(c.ctx, team.ID)
	if err != nil {
		return metricsJSON{}, err
	}
	defs := map[string]store.MetricDef{}
	for _, d := range store.MetricDefs {
		defs[d.Name] = d
	}
	out := metricsJSON{Team: team.Name, Metrics: []metricJSON{}}
	for _, v := range figures {
		d := defs[v.Name]
		m := metricJSON{Name: v.Name, Help: d.Help, Unit: d.Unit, Series: v.Series(), Value: v.Value, Gap: v.Gap,
			Better: d.Better}
		if v.HasTarget {
			m.Target = &v.Target
		}
		out.Metrics = append(out.Metrics, m)
	}
	return out, nil
}

// ownTeam is the token's team.
func (s *Server) ownTeam(c *call) (store.Team, error) {
	teams, err := s.st.Teams(c.ctx)
	if err != nil {
		return store.Team{}, err
	}
	for _, t := range teams {
		if t.ID == c.token.TeamID {
			return t, nil
		}
	}
	return store.Team{}, fmt.Errorf("server: the team %d of token %d is not in the store", c.token.TeamID, c.token.ID)
}

// snapshot takes the day's snapshot of every team's figures unless taken:
// the first metrics call of a UTC day takes it (store.TakeSnapshot is
// idempotent per day).
func (s *Server) snapshot(c *call) error {
	_, err := s.st.TakeSnapshot(c.ctx, c.actor, time.Now())
	return err
}

// writeOwnMetrics answers the figures of the token's team.
func (s *Server) writeOwnMetrics(c *call) error {
	team, err := s.ownTeam(c)
	if err != nil {
		return err
	}
	out, err := s.metricsOf(c, team)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func (s *Server) getMetrics(c *call) error {
	if err := s.snapshot(c); err != nil {
		return err
	}
	return s.writeOwnMetrics(c)
}

func (s *Server) setMetricTarget(c *call) error {
	var in struct {
		Metric string   `json:"metric"`
		Series string   `json:"series"`
		Target *float64 `json:"target"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Target == nil {
		return fail(http.StatusBadRequest, "invalid", "the target is missing")
	}
	if err := s.st.SetMetricTarget(c.ctx, c.actor, c.token.TeamID, in.Metric, in.Series, *in.Target); err != nil {
		return err
	}
	return s.writeOwnMetrics(c)
}

// prometheus answers GET /metrics in the Prometheus text format: every
// series of every metric with a team label, for the token's team, or for
// every team when the token is an admin of team admin; then the server's
// own figures.
func (s *Server) prometheus(c *call) error {
	start := time.Now()
	if err := s.snapshot(c); err != nil {
		return err
	}
	teams, err := s.st.Teams(c.ctx)
	if err != nil {
		return err
	}
	own, err := s.ownTeam(c)
	if err != nil {
		return err
	}
	if !administers(c.token.Role, own.Name, "") {
		teams = []store.Team{own}
	}
	series := map[string][]string{}
	for _, t := range teams {
		figures, err := s.st.Metrics(c.ctx, t.ID)
		if err != nil {
			return err
		}
		for _, v := range figures {
			labels := `team="` + escapeLabel(t.Name) + `"`
			if v.Label != "" {
				labels += `,` + v.Label + `="` + escapeLabel(v.LabelValue) + `"`
			}
			series[v.Name] = append(series[v.Name], "violet_"+v.Name+"{"+labels+"} "+formatFloat(v.Value))
		}
	}
	var b strings.Builder
	for _, d := range store.MetricDefs {
		fmt.Fprintf(&b, "# HELP violet_%s %s\n# TYPE violet_%s gauge\n", d.Name, escapeHelp(d.Help), d.Name)
		for _, line := range series[d.Name] {
			b.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&b, "# HELP violet_teams Teams whose figures this answer shows.\n# TYPE violet_teams gauge\nviolet_teams %d\n", len(teams))
	fmt.Fprintf(&b, "# HELP violet_scrape_duration_seconds Time the server took to compute this answer.\n"+
		"# TYPE violet_scrape_duration_seconds gauge\nviolet_scrape_duration_seconds %s\n", formatFloat(time.Since(start).Seconds()))
	c.w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_, err = c.w.Write([]byte(b.String()))
	if err != nil {
		s.log.Debug("metrics: writing the answer", "err", err)
	}
	return nil
}

// escapeLabel and escapeHelp escape as the text format wants.
var (
	escapeLabel = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace
	escapeHelp  = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace
)

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
