package deps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// Querier finds the OSV records that affect a package version: the
// offline database (*DB) or the OSV API (*Online).
type Querier interface {
	// QueryContext returns the records affecting one version.
	QueryContext(ctx context.Context, name, version string) ([]Match, error)
	// RecordsContext returns every record naming the package, for the
	// requirements that do not pin a version (see MatchSpec).
	RecordsContext(ctx context.Context, name string) ([]*OSVRecord, error)
}

// Result is what Check found.
type Result struct {
	// Root is the path CheckPath was given; "" for Check.
	Root string `json:"root,omitempty"`
	// Manifests are the files read.
	Manifests []*Manifest `json:"manifests"`
	// Findings are the problems, in file and line order.
	Findings []finding.Finding `json:"findings"`
	// Packages counts the packages checked; Pinned those with an exact
	// version (the others are matched only when every version they
	// allow is affected).
	Packages int `json:"packages"`
	Pinned   int `json:"pinned"`
}

// Check checks the packages of the manifests: against the advisories of q
// (nil: no vulnerability check), for typosquats of popular ML packages,
// and for unpinned, unhashed and direct-URL requirements and extra
// indexes. A package pinned in several files is looked up once. A q
// that is a Preparer is prepared first with the names of the packages;
// its error (an unreadable database) is Check's. The parts of a manifest
// that could not be read (Manifest.Unread) are DEPS-MALFORMED findings.
func Check(ctx context.Context, manifests []*Manifest, q Querier) (*Result, error) {
	r := &Result{Manifests: manifests}
	if p, ok := q.(Preparer); ok {
		if err := p.Prepare(ctx, packageNames(manifests)); err != nil {
			return nil, err
		}
	}
	type key struct{ name, version string }
	cache := map[key][]Match{}
	recordCache := map[string][]*OSVRecord{}
	for _, m := range manifests {
		r.checkManifest(m)
		for _, p := range m.Packages {
			r.Packages++
			loc := finding.Location{Path: p.File, Offset: -1, Line: p.Line}
			if p.Ecosystem != "" && p.Ecosystem != EcosystemPyPI {
				continue
			}
			if p.NormalizedName == "" { // a bare path or URL: only its source is judged
				r.checkPin(m, p, loc)
				continue
			}
			if target, how, ok := Typosquat(p.Name); ok {
				r.add(finding.New(finding.DepsTyposquat, loc, fmt.Sprintf("%s looks like %s (%s).", p.Name, target, how), p.Name))
			}
			r.checkPin(m, p, loc)
			if q == nil {
				continue
			}
			if p.Version == "" {
				if err := r.checkSpec(ctx, q, p, loc, recordCache); err != nil {
					return nil, err
				}
				continue
			}
			r.Pinned++
			k := key{p.NormalizedName, p.Version}
			matches, ok := cache[k]
			if !ok {
				var err error
				if matches, err = q.QueryContext(ctx, p.NormalizedName, p.Version); err != nil {
					return nil, err
				}
				cache[k] = matches
			}
			for _, mt := range matches {
				r.add(matchFinding(p, mt, loc))
			}
		}
	}
	slices.SortStableFunc(r.Findings, func(a, b finding.Finding) int {
		if c := strings.Compare(a.Location.Path, b.Location.Path); c != 0 {
			return c
		}
		return a.Location.Line - b.Location.Line
	})
	return r, nil
}

func (r *Result) add(f finding.Finding) { r.Findings = append(r.Findings, f) }

// packageNames are the PEP 503 names of the PyPI packages of the
// manifests, each once, in order.
func packageNames(manifests []*Manifest) []string {
	names := []string{}
	seen := map[string]bool{}
	for _, m := range manifests {
		for _, p := range m.Packages {
			if p.NormalizedName == "" || p.Ecosystem != "" && p.Ecosystem != EcosystemPyPI || seen[p.NormalizedName] {
				continue
			}
			seen[p.NormalizedName] = true
			names = append(names, p.NormalizedName)
		}
	}
	return names
}

// checkManifest reports what concerns the whole file: the parts that
// could not be read, extra indexes.
func (r *Result) checkManifest(m *Manifest) {
	for _, u := range m.Unread {
		r.add(finding.New(finding.DepsMalformed, finding.Location{Path: u.File, Offset: -1, Line: u.Line}, u.Error()+": these packages are not checked", ""))
	}
	if len(m.ExtraIndexURLs) == 0 {
		return
	}
	loc := finding.Location{Path: m.Path, Offset: -1}
	primary := m.IndexURL
	if primary == "" {
		primary = "https://pypi.org/simple"
	}
	r.add(finding.New(finding.DepsConfusion, loc, fmt.Sprintf("%s adds %s beside %s: a package name on both is installed from whichever has the highest version.",
		m.Path, strings.Join(m.ExtraIndexURLs, ", "), primary), strings.Join(m.ExtraIndexURLs, " ")))
}

// checkPin reports a requirement without an exact version, without a
// hash, or from a URL, a VCS or a path. Lockfiles pin by design.
func (r *Result) checkPin(m *Manifest, p Package, loc finding.Location) {
	switch p.Source {
	case SourceURL, SourceVCS, SourcePath:
		r.add(finding.New(finding.DepsDirectURL, loc, fmt.Sprintf("%s is installed from %s %s, not from an index.", p.Name, p.Source, p.URL), p.URL))
		return
	}
	if m.Locked {
		return
	}
	if p.Version == "" {
		spec := p.Specifier
		if spec == "" {
			spec = "any version"
		}
		r.add(finding.New(finding.DepsUnpinned, loc, fmt.Sprintf("%s is not pinned (%s): the version installed changes over time.", p.Name, spec), p.Name+p.Specifier))
		return
	}
	if len(p.Hashes) == 0 {
		r.add(finding.New(finding.DepsNoHash, loc, fmt.Sprintf("%s==%s has no --hash: a replaced file would be installed without notice.", p.Name, p.Version), p.Name+"=="+p.Version))
	}
}

// checkSpec reports the advisories that affect every version an
// unpinned requirement allows: a malicious package whatever its version
// (torchtriton), or a range that stops before the fix (torch<2.6,
// torch~=2.5.0). A specifier ParseSpecifier cannot read is left to
// DEPS-UNPINNED. records caches the records by name.
func (r *Result) checkSpec(ctx context.Context, q Querier, p Package, loc finding.Location, records map[string][]*OSVRecord) error {
	if p.Source != SourceIndex {
		return nil
	}
	set, err := ParseSpecifier(p.Specifier)
	if err != nil {
		return nil
	}
	recs, ok := records[p.NormalizedName]
	if !ok {
		if recs, err = q.RecordsContext(ctx, p.NormalizedName); err != nil {
			return err
		}
		records[p.NormalizedName] = recs
	}
	for _, rec := range recs {
		if mt, ok := MatchSpec(rec, p.NormalizedName, set); ok {
			r.add(matchFinding(p, mt, loc))
		}
	}
	return nil
}

// requirementText names a requirement in messages: "torch 2.5.1",
// "torch<2.6 (every version it allows)", "torchtriton (any version)".
func requirementText(p Package) string {
	switch {
	case p.Version != "":
		return p.Name + " " + p.Version
	case p.Specifier != "":
		return p.Name + p.Specifier + " (every version it allows)"
	}
	return p.Name + " (any version)"
}

// severityOf maps OSV severities to finding severities.
var severityOf = map[string]finding.Severity{
	"critical": finding.Critical, "high": finding.High, "medium": finding.Medium, "moderate": finding.Medium,
	"low": finding.Low,
}

// matchFinding turns an OSV match into a finding: malware is critical,
// a vulnerability has the record's severity (high when unknown).
func matchFinding(p Package, mt Match, loc finding.Location) finding.Finding {
	id := mt.ID()
	if mt.Malicious {
		return finding.New(finding.DepsMalicious, loc, fmt.Sprintf("%s is malicious (%s): %s", requirementText(p), id, mt.Summary()), id)
	}
	msg := fmt.Sprintf("%s is affected by %s", requirementText(p), id)
	if aliases := mt.Aliases(); len(aliases) > 0 {
		msg += " (" + strings.Join(aliases, ", ") + ")"
	}
	if s := mt.Summary(); s != "" {
		msg += ": " + s
	}
	if len(mt.Fixed) > 0 {
		msg += ". Fixed in " + strings.Join(mt.Fixed, ", ") + "."
	} else {
		msg += ". No fixed version is known."
	}
	f := finding.New(finding.DepsVulnerable, loc, msg, id)
	if s, ok := severityOf[strings.ToLower(mt.Severity)]; ok {
		f = f.WithSeverity(s)
	}
	return f
}

// CheckPath finds the dependency files under root (or reads root when it
// is a file), parses them and checks them. A file that cannot be parsed
// is a DEPS-MALFORMED finding at the line the parser names, and a folder
// that cannot be read one at the folder: both make the result
// incomplete, and the other files are still checked. Only an unreadable
// root, or an error of q, is an error.
func CheckPath(ctx context.Context, root string, q Querier) (*Result, error) {
	files, unreadable, err := FindFiles(root)
	if err != nil {
		return nil, err
	}
	within := root
	if info, err := os.Stat(root); err == nil && !info.IsDir() {
		within = filepath.Dir(root)
	}
	var manifests []*Manifest
	var broken []finding.Finding
	for _, u := range unreadable {
		broken = append(broken, finding.New(finding.DepsMalformed, finding.Location{Path: u.File, Offset: -1},
			u.Error()+": the dependency files in it are not checked", ""))
	}
	for _, f := range files {
		m, err := ParseFileWithin(f, within)
		if err != nil {
			loc := finding.Location{Path: f, Offset: -1}
			if pe, ok := err.(*ParseError); ok {
				loc.Line = pe.Line
			}
			broken = append(broken, finding.New(finding.DepsMalformed, loc, err.Error(), ""))
			manifests = append(manifests, &Manifest{Path: f, Kind: "unreadable"})
			continue
		}
		manifests = append(manifests, m)
	}
	r, err := Check(ctx, manifests, q)
	if err != nil {
		return nil, err
	}
	r.Findings = append(broken, r.Findings...)
	r.Root = root
	return r, nil
}

// Report is the result as a report of the scanner's shape, one file per
// dependency file with the packages it declares, for the text, JSON and
// SARIF writers and the exit code. Its target is the root CheckPath was
// given (else each dependency file), as a scan's is.
func (r *Result) Report(toolVersion string, started time.Time, failOn finding.Severity) *report.Report {
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Tool: report.Tool{Name: "violet deps", Version: toolVersion},
		StartedAt: started, FailOn: failOn, Summary: report.Summary{Formats: map[string]int{}, Findings: map[string]int{}}}
	if r.Root != "" {
		rep.Targets = []string{r.Root}
	}
	index := map[string]int{}
	for _, m := range r.Manifests {
		index[m.Path] = len(rep.Files)
		if r.Root == "" {
			rep.Targets = append(rep.Targets, m.Path)
		}
		var pkgs []report.Package
		for _, p := range m.Packages {
			pkgs = append(pkgs, report.Package{Ecosystem: p.Ecosystem, Name: p.NormalizedName, Version: p.Version,
				Specifier: p.Specifier, Line: p.Line})
		}
		rep.Files = append(rep.Files, report.File{Path: m.Path, Formats: []string{m.Kind}, Packages: pkgs})
		rep.Summary.Files++
		rep.Summary.Scanned++
		rep.Summary.Formats[m.Kind]++
	}
	for _, f := range r.Findings {
		i, ok := index[f.Location.Path]
		if !ok {
			i = len(rep.Files)
			index[f.Location.Path] = i
			rep.Files = append(rep.Files, report.File{Path: f.Location.Path})
		}
		rep.Files[i].Findings = append(rep.Files[i].Findings, f)
		rep.Files[i].Incomplete = rep.Files[i].Incomplete || f.Incomplete
		rep.Summary.Findings[f.Severity.String()]++
	}
	for _, f := range rep.Files {
		if f.Incomplete {
			rep.Summary.Incomplete++
		}
	}
	rep.DurationMS = time.Since(started).Milliseconds()
	return rep
}
