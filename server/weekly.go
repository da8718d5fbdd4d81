package server

import (
	"bytes"
	"context"
	"embed"
	htmltemplate "html/template"
	"net/http"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/violet-mlsecops/violet/release"
	"github.com/violet-mlsecops/violet/store"
)

//go:embed reports/weekly.md.tmpl reports/weekly.html.tmpl
var reportTemplates embed.FS

// The weekly report's templates: Markdown (texts escaped by md) and HTML
// (escaped by html/template).
var (
	weeklyMarkdown = texttemplate.Must(texttemplate.New("weekly.md.tmpl").Funcs(texttemplate.FuncMap{"md": mdText}).
			ParseFS(reportTemplates, "reports/weekly.md.tmpl"))
	weeklyHTML = htmltemplate.Must(htmltemplate.ParseFS(reportTemplates, "reports/weekly.html.tmpl"))
)

// mdText makes a text safe in a Markdown table cell or list item: no line
// breaks, pipes and the characters that start markup escaped.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()<>#+-.!|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// weeklyData is what the weekly report shows.
type weeklyData struct {
	Team, From, To string
	Rows           []weeklyRow
	Releases       []weeklyRelease
	Incidents      []store.Incident
}

// weeklyRow is a series of a metric now and a week before.
type weeklyRow struct {
	Name, Series, Now, Before, Target, Gap string
}

// weeklyRelease is a release requested in the period, with its status.
type weeklyRelease struct {
	Title, Model, Tier, Status string
}

// figure writes a value by its unit.
func figure(unit string, v float64) string {
	if unit == "ratio" {
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	}
	if unit == "seconds" {
		return time.Duration(v * float64(time.Second)).Round(time.Second).String()
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// weeklyReport answers GET /api/v1/reports/weekly?format=markdown|html:
// the token's team's figures now and a week ago (from the daily
// snapshots), its gaps to targets, and the releases and incidents of the
// last seven days.
func (s *Server) weeklyReport(c *call) error {
	format := c.r.URL.Query().Get("format")
	if format == "" {
		format = "markdown"
	}
	if format != "markdown" && format != "html" {
		return fail(http.StatusBadRequest, "invalid_parameter", "format %q: want markdown or html", clipText(format))
	}
	team, err := s.ownTeam(c)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	report, err := WeeklyReport(c.ctx, s.st, team, now, format)
	if err != nil {
		return err
	}
	contentType := "text/markdown; charset=utf-8"
	if format == "html" {
		contentType = "text/html; charset=utf-8"
	}
	d := weeklyData{To: now.Format(time.DateOnly)}
	c.w.Header().Set("Content-Type", contentType)
	c.w.Header().Set("Content-Disposition", `attachment; filename="violet-weekly-`+d.To+map[string]string{"html": ".html", "markdown": ".md"}[format]+`"`)
	c.w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_, err = c.w.Write(report)
	return err
}

// WeeklyReport writes a team's weekly report for the seven days before
// now, as "markdown" or "html": what GET /api/v1/reports/weekly answers
// and what violet serve sends to the webhooks once a week.
func WeeklyReport(ctx context.Context, st *store.Store, team store.Team, now time.Time, format string) ([]byte, error) {
	d, err := loadWeekly(ctx, st, team, now)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if format == "html" {
		err = weeklyHTML.Execute(&b, d)
	} else {
		err = weeklyMarkdown.Execute(&b, d)
	}
	return b.Bytes(), err
}

func loadWeekly(ctx context.Context, st *store.Store, team store.Team, now time.Time) (weeklyData, error) {
	since := now.AddDate(0, 0, -7)
	d := weeklyData{Team: team.Name, From: since.Format(time.DateOnly), To: now.Format(time.DateOnly)}
	values, err := st.Metrics(ctx, team.ID)
	if err != nil {
		return d, err
	}
	units := map[string]string{}
	for _, def := range store.MetricDefs {
		units[def.Name] = def.Unit
	}
	before := map[string]map[string]float64{}
	for _, v := range values {
		if _, ok := before[v.Name]; !ok {
			before[v.Name] = map[string]float64{}
			points, err := st.MetricHistory(ctx, team.ID, v.Name, since)
			if err != nil {
				return d, err
			}
			// The oldest snapshot of the period stands for a week ago.
			for i := len(points) - 1; i >= 0; i-- {
				before[v.Name][points[i].Series] = points[i].Value
			}
		}
		row := weeklyRow{Name: v.Name, Series: v.LabelValue, Now: figure(units[v.Name], v.Value)}
		if b, ok := before[v.Name][v.Series()]; ok {
			row.Before = figure(units[v.Name], b)
		}
		if v.HasTarget {
			row.Target = figure(units[v.Name], v.Target)
			row.Gap = figure(units[v.Name], v.Gap)
		}
		d.Rows = append(d.Rows, row)
	}
	rels, err := st.Releases(ctx, team.ID, "")
	if err != nil {
		return d, err
	}
	for _, r := range rels {
		if r.RequestedAt.Before(since) {
			continue
		}
		ds, err := st.ReleaseDecisions(ctx, r.ID)
		if err != nil {
			return d, err
		}
		rec := releaseRecord(team.Name, r, ds)
		judged := release.Judge(rec.Required, rec.Digest, rec.Decisions)
		status := "approved"
		switch {
		case len(judged.Rejected) > 0:
			status = "rejected by " + strings.Join(judged.Rejected, ", ")
		case !judged.Approved:
			status = "waiting for " + strings.Join(judged.Missing, ", ")
		}
		d.Releases = append(d.Releases, weeklyRelease{r.Title, r.Model, r.Tier, status})
	}
	incidents, err := st.Incidents(ctx, team.ID)
	if err != nil {
		return d, err
	}
	for _, i := range incidents {
		if !i.OpenedAt.Before(since) {
			d.Incidents = append(d.Incidents, i)
		}
	}
	return d, nil
}
