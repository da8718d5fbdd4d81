package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// OSVRecord is one OSV vulnerability or malware record (OSV schema 1.6,
// https://ossf.github.io/osv-schema/). Only the fields Violet uses are
// typed; ecosystem- and database-specific objects are kept raw.
type OSVRecord struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         string          `json:"modified,omitempty"`
	Published        string          `json:"published,omitempty"`
	Withdrawn        string          `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Related          []string        `json:"related,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []OSVSeverity   `json:"severity,omitempty"`
	Affected         []OSVAffected   `json:"affected,omitempty"`
	References       []OSVReference  `json:"references,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// OSVSeverity is a severity score: Type is "CVSS_V2", "CVSS_V3",
// "CVSS_V4" or "Ubuntu"; Score the vector ("CVSS:3.1/AV:N/...").
type OSVSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// OSVAffected is one affected package with its ranges and versions.
type OSVAffected struct {
	Package           OSVPackage      `json:"package"`
	Severity          []OSVSeverity   `json:"severity,omitempty"`
	Ranges            []OSVRange      `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// OSVPackage names a package in an ecosystem ("PyPI").
type OSVPackage struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl,omitempty"`
}

// OSVRange is a range of affected versions: Type "ECOSYSTEM", "SEMVER"
// or "GIT", with its events in order.
type OSVRange struct {
	Type             string          `json:"type"`
	Repo             string          `json:"repo,omitempty"`
	Events           []OSVEvent      `json:"events"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// OSVEvent is one range event; exactly one field is set.
type OSVEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// OSVReference is a link of a record.
type OSVReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Match is one record that affects a queried package version.
type Match struct {
	// Record is the OSV record.
	Record *OSVRecord
	// Fixed are the fixed versions of the ranges that matched (may be
	// empty: no fix, or matched by the explicit versions list only).
	Fixed []string
	// Malicious is true for malware records (id prefix "MAL-").
	Malicious bool
	// Severity is "critical", "high", "medium", "low" or "unknown".
	Severity string
	// Score is the CVSS v3 base score when the record has a v3 vector,
	// else 0.
	Score float64
}

// Severity levels of a Match.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityUnknown  = "unknown"
)

// ParseOSVRecord decodes and checks one OSV record: it must be a JSON
// object with an id.
func ParseOSVRecord(data []byte) (*OSVRecord, error) {
	var r OSVRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("bad OSV JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("bad OSV JSON: trailing data after the record")
	}
	if !osvID.MatchString(r.ID) {
		return nil, fmt.Errorf("bad OSV record: id %q", r.ID)
	}
	return &r, nil
}

// osvID is what an id looks like: a prefix, a dash, and more (MAL-2022-1,
// GHSA-xxxx-xxxx-xxxx, PYSEC-2023-18, MAL-0000-kam193-4c1f...).
var osvID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9._:-]{1,200}$`)

// PEP503Name is the PEP 503 normalized form of a package name:
// lower case, every run of "-", "_" and "." as one "-".
func PEP503Name(name string) string {
	var b strings.Builder
	sep := false
	for _, c := range strings.TrimSpace(name) {
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// MatchRecord says whether the OSV record r affects version of the PyPI
// package name, and if so describes the match. Withdrawn records never
// match.
func MatchRecord(r *OSVRecord, name, version string) (Match, bool) {
	if r == nil || r.Withdrawn != "" {
		return Match{}, false
	}
	norm := PEP503Name(name)
	v, verr := ParseVersion(version)
	hit := false
	var fixed []string
	for _, a := range r.Affected {
		if a.Package.Ecosystem != EcosystemPyPI || PEP503Name(a.Package.Name) != norm {
			continue
		}
		listed := false
		for _, s := range a.Versions {
			if s == version {
				listed = true
				break
			}
			if verr == nil {
				if w, err := ParseVersion(s); err == nil && w.Compare(v) == 0 {
					listed = true
					break
				}
			}
		}
		inRange := false
		for _, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" || verr != nil {
				continue
			}
			if rangeAffects(rg.Events, v) {
				inRange = true
				fixed = append(fixed, rangeFixed(rg)...)
			}
		}
		if listed && !inRange {
			for _, rg := range a.Ranges {
				if rg.Type == "ECOSYSTEM" {
					fixed = append(fixed, rangeFixed(rg)...)
				}
			}
		}
		hit = hit || listed || inRange
	}
	if !hit {
		return Match{}, false
	}
	return newMatch(r, fixed), true
}

// newMatch describes a match of r with the fixed versions of the ranges
// that matched: malware is critical, a vulnerability has the record's
// severity.
func newMatch(r *OSVRecord, fixed []string) Match {
	m := Match{Record: r, Fixed: dedupe(fixed), Malicious: strings.HasPrefix(r.ID, "MAL-")}
	m.Severity, m.Score = recordSeverity(r)
	if m.Malicious {
		m.Severity = SeverityCritical
	}
	return m
}

// MatchSpec says whether the OSV record r affects every version of the
// PyPI package name that set allows (an unpinned requirement, read by
// ParseSpecifier): some ECOSYSTEM range of the record covers set
// entirely. A record that affects only some of them does not match: which
// one gets installed is not known. Withdrawn records never match, nor
// does an empty set.
func MatchSpec(r *OSVRecord, name string, set VersionSet) (Match, bool) {
	if r == nil || r.Withdrawn != "" || set.Empty() {
		return Match{}, false
	}
	norm := PEP503Name(name)
	hit := false
	var fixed []string
	for _, a := range r.Affected {
		if a.Package.Ecosystem != EcosystemPyPI || PEP503Name(a.Package.Name) != norm {
			continue
		}
		for _, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" {
				continue
			}
			for _, iv := range rangeIntervals(rg.Events) {
				if set.Within(iv.Lo, iv.Hi) {
					hit = true
					fixed = append(fixed, rangeFixed(rg)...)
					break
				}
			}
		}
	}
	if !hit {
		return Match{}, false
	}
	return newMatch(r, fixed), true
}

// rangeIntervals are the intervals of versions an ECOSYSTEM range
// affects, evaluated as rangeAffects does: from each introduced to the
// next fixed (excluded) or last_affected (included), or without end;
// cut at the lowest limit. A range with an event whose version does not
// parse has none: it cannot be said to cover anything.
func rangeIntervals(events []OSVEvent) []VersionSet {
	var evs []event
	var limit *Version
	for _, e := range events {
		var err error
		var w Version
		switch {
		case e.Introduced == "0":
			evs = append(evs, event{kind: 0, zero: true})
		case e.Introduced != "":
			w, err = ParseVersion(e.Introduced)
			evs = append(evs, event{kind: 0, v: w})
		case e.LastAffected != "":
			w, err = ParseVersion(e.LastAffected)
			evs = append(evs, event{kind: 1, v: w})
		case e.Fixed != "":
			w, err = ParseVersion(e.Fixed)
			evs = append(evs, event{kind: 2, v: w})
		case e.Limit != "" && e.Limit != "*":
			if w, err = ParseVersion(e.Limit); err == nil && (limit == nil || w.Compare(*limit) < 0) {
				limit = &w
			}
		}
		if err != nil {
			return nil
		}
	}
	sortEvents(evs)
	var out []VersionSet
	var cur VersionSet
	affected := false
	for _, e := range evs {
		switch {
		case e.kind == 0 && !affected:
			affected = true
			cur = VersionSet{}
			if !e.zero {
				cur.Lo = Bound{Set: true, V: e.v, Inclusive: true}
			}
		case e.kind == 1 && affected:
			affected = false
			cur.Hi = Bound{Set: true, V: e.v, Inclusive: true}
			out = append(out, cur)
		case e.kind == 2 && affected:
			affected = false
			cur.Hi = Bound{Set: true, V: e.v}
			out = append(out, cur)
		}
	}
	if affected {
		out = append(out, cur)
	}
	if limit != nil {
		end := Bound{Set: true, V: *limit}
		for i := range out {
			if upperAbove(out[i].Hi, end) {
				out[i].Hi = end
			}
		}
	}
	return out
}

func rangeFixed(rg OSVRange) []string {
	var f []string
	for _, e := range rg.Events {
		if e.Fixed != "" {
			f = append(f, e.Fixed)
		}
	}
	return f
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

type event struct {
	kind int // 0 introduced, 1 last_affected, 2 fixed, 3 limit
	v    Version
	zero bool // introduced "0": before every version
}

// sortEvents orders range events by version, introduced "0" first, and
// at one version introduced, last_affected, fixed.
func sortEvents(evs []event) {
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.zero || b.zero {
			return a.zero && !b.zero
		}
		if c := a.v.Compare(b.v); c != 0 {
			return c < 0
		}
		return a.kind < b.kind
	})
}

// rangeAffects evaluates an ECOSYSTEM range per the OSV specification:
// events sorted by version; introduced sets affected at or above it,
// fixed clears it at or above, last_affected clears it above; a version
// at or above a limit is never affected. Events whose version does not
// parse are ignored.
func rangeAffects(events []OSVEvent, v Version) bool {
	var evs []event
	var limits []Version
	for _, e := range events {
		switch {
		case e.Introduced != "":
			if e.Introduced == "0" {
				evs = append(evs, event{kind: 0, zero: true})
			} else if w, err := ParseVersion(e.Introduced); err == nil {
				evs = append(evs, event{kind: 0, v: w})
			}
		case e.LastAffected != "":
			if w, err := ParseVersion(e.LastAffected); err == nil {
				evs = append(evs, event{kind: 1, v: w})
			}
		case e.Fixed != "":
			if w, err := ParseVersion(e.Fixed); err == nil {
				evs = append(evs, event{kind: 2, v: w})
			}
		case e.Limit != "":
			if e.Limit == "*" {
				continue
			}
			if w, err := ParseVersion(e.Limit); err == nil {
				limits = append(limits, w)
			}
		}
	}
	sortEvents(evs)
	affected := false
	for _, e := range evs {
		switch e.kind {
		case 0:
			if e.zero || v.Compare(e.v) >= 0 {
				affected = true
			}
		case 1:
			if v.Compare(e.v) > 0 {
				affected = false
			}
		case 2:
			if v.Compare(e.v) >= 0 {
				affected = false
			}
		}
	}
	for _, l := range limits {
		if v.Compare(l) >= 0 {
			return false
		}
	}
	return affected
}

// cvssScorers score the OSV severity types Violet reads; the highest base
// score of a record wins.
var cvssScorers = map[string]func(string) (float64, error){
	"CVSS_V3": CVSS3BaseScore,
	"CVSS_V4": CVSS4BaseScore,
}

// recordSeverity rates a record: the highest CVSS v3 or v4 base score of
// the record or its affected entries, else GitHub's database_specific
// severity ("CRITICAL", "HIGH", "MODERATE", "LOW"), else unknown.
func recordSeverity(r *OSVRecord) (string, float64) {
	best := -1.0
	check := func(ss []OSVSeverity) {
		for _, s := range ss {
			score, ok := cvssScorers[s.Type]
			if !ok {
				continue
			}
			if sc, err := score(s.Score); err == nil && sc > best {
				best = sc
			}
		}
	}
	check(r.Severity)
	for _, a := range r.Affected {
		check(a.Severity)
	}
	if best >= 0 {
		return severityOfScore(best), best
	}
	if s := dbSeverity(r.DatabaseSpecific); s != "" {
		return s, 0
	}
	for _, a := range r.Affected {
		if s := dbSeverity(a.DatabaseSpecific); s != "" {
			return s, 0
		}
		if s := dbSeverity(a.EcosystemSpecific); s != "" {
			return s, 0
		}
	}
	return SeverityUnknown, 0
}

func dbSeverity(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var ds struct {
		Severity any `json:"severity"`
	}
	if json.Unmarshal(raw, &ds) != nil {
		return ""
	}
	s, _ := ds.Severity.(string)
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return SeverityCritical
	case "HIGH":
		return SeverityHigh
	case "MODERATE", "MEDIUM":
		return SeverityMedium
	case "LOW":
		return SeverityLow
	}
	return ""
}

// severityOfScore maps a CVSS base score to its qualitative rating
// (CVSS v3.1 specification, section 5); 0.0 ("none") counts as low.
func severityOfScore(s float64) string {
	switch {
	case s >= 9.0:
		return SeverityCritical
	case s >= 7.0:
		return SeverityHigh
	case s >= 4.0:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// ID is the record's id ("GHSA-53q9-r3pm-6pq6").
func (m Match) ID() string {
	if m.Record == nil {
		return ""
	}
	return m.Record.ID
}

// Summary is the record's summary, else the first line of its details.
func (m Match) Summary() string {
	if m.Record == nil {
		return ""
	}
	if m.Record.Summary != "" {
		return m.Record.Summary
	}
	d, _, _ := strings.Cut(strings.TrimSpace(m.Record.Details), "\n")
	return d
}

// Aliases are the record's other ids (CVE, PYSEC, GHSA).
func (m Match) Aliases() []string {
	if m.Record == nil {
		return nil
	}
	return m.Record.Aliases
}
