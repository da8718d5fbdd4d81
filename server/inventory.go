package server

import (
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/store"
)

// The JSON shapes of the structured inventory (openapi.json).
type (
	scanRunJSON struct {
		Evidence       int64     `json:"evidence"`
		ScannerVersion string    `json:"scanner_version"`
		UploadedBy     string    `json:"uploaded_by"`
		UploadedAt     time.Time `json:"uploaded_at"`
		Findings       int       `json:"findings"`
	}
	scanChangeJSON struct {
		Run     scanRunJSON   `json:"run"`
		Base    *scanRunJSON  `json:"base"`
		Added   []findingJSON `json:"added"`
		Removed []findingJSON `json:"removed"`
		Kept    int           `json:"kept"`
	}
	lineageJSON struct {
		Kind     string `json:"kind"`
		Relation string `json:"relation"`
		Name     string `json:"name"`
		Ref      string `json:"ref,omitempty"`
	}
	packageJSON struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		Version   string `json:"version,omitempty"`
		Specifier string `json:"specifier,omitempty"`
		Manifest  string `json:"manifest"`
		Line      int    `json:"line,omitempty"`
		Severity  string `json:"severity,omitempty"`
	}
	ownerJSON struct {
		Owner  string `json:"owner"`
		Via    string `json:"via"`
		Asset  string `json:"asset"`
		Source string `json:"source"`
	}
	usageJSON struct {
		Model   string `json:"model"`
		Version string `json:"version"`
		Label   string `json:"label,omitempty"`
		How     string `json:"how,omitempty"`
	}
	discoveryJSON struct {
		ID         int64     `json:"id"`
		Source     string    `json:"source"`
		SHA256     string    `json:"sha256"`
		Size       int64     `json:"size"`
		UploadedBy string    `json:"uploaded_by"`
		UploadedAt time.Time `json:"uploaded_at"`
	}
	// discoveryResultJSON answers an upload: which assets are models of
	// the inventory, and which are not (yet).
	discoveryResultJSON struct {
		Discovery discoveryJSON         `json:"discovery"`
		Matched   []matchedAssetJSON    `json:"matched"`
		Unmatched []discoveredAssetJSON `json:"unmatched"`
	}
	matchedAssetJSON struct {
		Asset  string `json:"asset"`
		Model  string `json:"model"`
		Owners int    `json:"owners"`
	}
	discoveredAssetJSON struct {
		Kind  string `json:"kind"`
		Asset string `json:"asset"`
	}
)

func toScanRun(r store.ScanRun) scanRunJSON {
	return scanRunJSON{r.EvidenceID, r.ScannerVersion, r.UploadedBy, r.UploadedAt, r.Findings}
}

func toFindings(fs []store.Finding) []findingJSON {
	out := make([]findingJSON, len(fs))
	for i, f := range fs {
		out[i] = toFinding(f)
	}
	return out
}

func (s *Server) listScanRuns(c *call) error {
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	runs, err := s.st.ScanRuns(c.ctx, v.ID)
	if err != nil {
		return err
	}
	return paginate(c, runs, toScanRun)
}

// scanChanges answers what a scan run changed against the run before it:
// upload the report of a newer scanner over the same files and this shows
// the findings it adds and those it no longer reports.
func (s *Server) scanChanges(c *call) error {
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.r.PathValue("evidence"), 10, 64)
	if err != nil || id <= 0 {
		return fail(http.StatusBadRequest, "invalid_parameter", "evidence %q: want a positive integer", clipText(c.r.PathValue("evidence")))
	}
	ch, err := s.st.ScanChanges(c.ctx, v.ID, id)
	if err != nil {
		return err
	}
	out := scanChangeJSON{Run: toScanRun(ch.Run), Added: toFindings(ch.Added), Removed: toFindings(ch.Removed), Kept: ch.Kept}
	if ch.Base != nil {
		b := toScanRun(*ch.Base)
		out.Base = &b
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func (s *Server) listLineage(c *call) error {
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	links, err := s.st.Lineage(c.ctx, v.ID)
	if err != nil {
		return err
	}
	return paginate(c, links, func(l store.LineageLink) lineageJSON { return lineageJSON(l) })
}

func (s *Server) listPackages(c *call) error {
	_, v, err := s.version(c)
	if err != nil {
		return err
	}
	pkgs, err := s.st.Packages(c.ctx, v.ID)
	if err != nil {
		return err
	}
	return paginate(c, pkgs, func(p store.Package) packageJSON { return packageJSON(p) })
}

func (s *Server) listOwners(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	owners, err := s.st.ModelOwners(c.ctx, m.ID)
	if err != nil {
		return err
	}
	return paginate(c, owners, func(o store.ModelOwner) ownerJSON { return ownerJSON{o.Owner, o.Via, o.Asset, o.Source} })
}

// whereUsed answers which versions of the team's models derive from a
// model or a dataset, or use a Python package: exactly one of the query
// parameters model, dataset and package.
func (s *Server) whereUsed(c *call) error {
	q := c.r.URL.Query()
	var given []string
	for _, k := range []string{"model", "dataset", "package"} {
		if q.Has(k) {
			given = append(given, k)
		}
	}
	if len(given) != 1 || q.Get(given[0]) == "" {
		return fail(http.StatusBadRequest, "invalid_parameter", "give exactly one of model, dataset and package")
	}
	name := q.Get(given[0])
	var uses []store.Usage
	var err error
	switch given[0] {
	case "model":
		uses, err = s.st.LineageUsers(c.ctx, c.token.TeamID, store.LineageModel, name)
	case "dataset":
		uses, err = s.st.LineageUsers(c.ctx, c.token.TeamID, store.LineageDataset, name)
	default:
		uses, err = s.st.PackageUsers(c.ctx, c.token.TeamID, "PyPI", deps.PEP503Name(name))
	}
	if err != nil {
		return err
	}
	return paginate(c, uses, func(u store.Usage) usageJSON { return usageJSON{u.ModelName, u.Digest, u.Label, u.How} })
}

func toDiscovery(d store.Discovery) discoveryJSON {
	return discoveryJSON{d.ID, d.Source, d.SHA256, d.Size, d.UploadedBy, d.UploadedAt}
}

func (s *Server) listDiscoveries(c *call) error {
	list, err := s.st.Discoveries(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	return paginate(c, list, toDiscovery)
}

// discoveredAsset is what the server reads of an asset of a discover
// report (discover.Asset).
type discoveredAsset struct {
	Kind       string `json:"kind"`
	Path       string `json:"path"`
	HubID      string `json:"hub_id"`
	References []struct {
		Model    string `json:"model"`
		Provider string `json:"provider"`
	} `json:"references"`
	Owners []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	} `json:"owners"`
}

// modelAssetKinds are the discover kinds that are a model on disk, matched
// by path; the others name models by hub id.
var modelAssetKinds = map[string]bool{"model-file": true, "model-folder": true, "archive": true, "hf-cache": true}

// assetModels are the models of the team that an asset is or is part of,
// by the rules of docs/server.md: a Hugging Face model by its id (a cache
// snapshot's hub id, or a reference in code), a model on disk by its path
// (the model's source path ends with the asset's path, or with a folder
// that holds the asset). It returns the asset's name for each.
func assetModels(a discoveredAsset, models []store.Model) (names []string, out []store.Model) {
	for _, m := range models {
		match := ""
		switch m.SourceKind {
		case store.SourceHuggingFace:
			if a.HubID != "" && a.HubID == m.SourceRef {
				match = a.HubID
			}
			for _, r := range a.References {
				if r.Provider == "huggingface" && r.Model == m.SourceRef {
					match = a.Path + ": " + r.Model
				}
			}
		case store.SourcePath:
			if modelAssetKinds[a.Kind] && underPath(m.SourceRef, a.Path) {
				match = a.Path
			}
		}
		if match != "" {
			names, out = append(names, match), append(out, m)
		}
	}
	return names, out
}

// underPath reports whether the asset at rel (a slash path relative to the
// code base) is the model at ref (an absolute or relative path) or inside
// it: ref ends with rel or with one of rel's folders.
func underPath(ref, rel string) bool {
	ref = strings.TrimRight(ref, "/")
	for p := path.Clean(rel); p != "." && p != "/" && p != ".." && !strings.HasPrefix(p, "../"); p = path.Dir(p) {
		if ref == p || strings.HasSuffix(ref, "/"+p) {
			return true
		}
	}
	return false
}

// maxDiscoveryAssets bounds the assets of one discovery.
const maxDiscoveryAssets = 100_000

// addDiscovery stores a `violet discover --format json` report of a code
// base (query parameter source names it) for the token's team and takes
// the owners of the assets that are models of the team's inventory.
func (s *Server) addDiscovery(c *call) error {
	source := cleanText(c.r.URL.Query().Get("source"), 256, false)
	if source == "" {
		return fail(http.StatusBadRequest, "invalid_parameter", "source: name the code base (a repository), e.g. ?source=github.com/org/repo")
	}
	body, err := readReport(c, store.MaxEvidenceSize)
	if err != nil {
		return err
	}
	if !json.Valid(body) {
		return fail(http.StatusBadRequest, "invalid_json", "the report is not JSON")
	}
	var rep struct {
		SchemaVersion string            `json:"schema_version"`
		Assets        []discoveredAsset `json:"assets"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || rep.SchemaVersion == "" {
		return fail(http.StatusUnprocessableEntity, "invalid_report", "not a violet discover JSON report (violet discover --format json)")
	}
	if len(rep.Assets) > maxDiscoveryAssets {
		return fail(http.StatusRequestEntityTooLarge, "too_large", "the report lists %d assets, more than %d", len(rep.Assets), maxDiscoveryAssets)
	}
	models, err := s.st.Models(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	out := discoveryResultJSON{Matched: []matchedAssetJSON{}, Unmatched: []discoveredAssetJSON{}}
	var owners []store.ModelOwner
	type ownerKey struct {
		model      int64
		owner, via string
	}
	seen := map[ownerKey]bool{}
	for _, a := range rep.Assets {
		names, ms := assetModels(a, models)
		if len(ms) == 0 {
			if modelAssetKinds[a.Kind] || a.Kind == "model-reference" {
				out.Unmatched = append(out.Unmatched, discoveredAssetJSON{a.Kind, cleanText(a.Path, 4096, false)})
			}
			continue
		}
		for i, m := range ms {
			asset := cleanText(names[i], 4096, false)
			n := 0
			for _, o := range a.Owners {
				name := cleanText(o.Name, 512, false)
				k := ownerKey{m.ID, name, o.Source}
				if name == "" || (o.Source != store.OwnerViaCodeowners && o.Source != store.OwnerViaGit) {
					continue
				}
				n++
				if !seen[k] {
					seen[k] = true
					owners = append(owners, store.ModelOwner{ModelID: m.ID, Owner: name, Via: o.Source, Asset: asset})
				}
			}
			out.Matched = append(out.Matched, matchedAssetJSON{asset, m.Name, n})
		}
	}
	d, created, err := s.st.AddDiscovery(c.ctx, c.actor, c.token.TeamID, source, body, owners)
	if err != nil {
		return err
	}
	out.Discovery = toDiscovery(d)
	writeJSON(c.w, statusOf(created), out)
	return nil
}
