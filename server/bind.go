package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/store"
)

// comparePaths orders paths by their components, as package sign orders a
// manifest's resources ("a/b" before "a.b": '/' splits, it is not a byte).
func comparePaths(a, b string) int {
	return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
}

// RootDigest is the manifest digest of files as violet hash computes it
// with the default parameters (method files, SHA-256): the SHA-256 of the
// files' raw SHA-256 digests in path-component order, "sha256:<hex>". It
// is "" when a file's SHA-256 is not 64 lower-case hex digits.
func RootDigest(files []store.File) string {
	files = slices.Clone(files)
	slices.SortFunc(files, func(x, y store.File) int { return comparePaths(x.Path, y.Path) })
	h := sha256.New()
	for _, f := range files {
		raw, err := hex.DecodeString(f.SHA256)
		if err != nil || len(raw) != sha256.Size || strings.ToLower(f.SHA256) != f.SHA256 {
			return ""
		}
		h.Write(raw)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// checkVersionDigest checks that digest is the manifest digest of files:
// a version's identity is bound to its content, so that evidence bound to
// the files is bound to the digest too.
func checkVersionDigest(digest string, files []store.File) error {
	if len(files) == 0 {
		return fail(http.StatusUnprocessableEntity, "invalid", "a version lists at least one file")
	}
	got := RootDigest(files)
	if got == "" {
		return fail(http.StatusUnprocessableEntity, "invalid", "a file's sha256 is not 64 lower-case hex digits")
	}
	if got != digest {
		return fail(http.StatusUnprocessableEntity, "digest_mismatch",
			"%s is not the manifest digest of these files (%s, as violet hash computes it with the default parameters)", clipText(digest), got)
	}
	return nil
}

// bindFiles checks that the files a report names are the version's files:
// the same paths, and the same SHA-256 where the report gives one. A
// report about fewer files, more files or other bytes is not evidence
// about this version (422 evidence_mismatch).
func bindFiles(what string, got, want []store.File) error {
	byPath := make(map[string]string, len(want))
	for _, f := range want {
		byPath[f.Path] = f.SHA256
	}
	seen := map[string]bool{}
	for _, f := range got {
		sum, ok := byPath[f.Path]
		switch {
		case !ok:
			return fail(http.StatusUnprocessableEntity, "evidence_mismatch", "%s names %q, which is not a file of this version", what, clipText(f.Path))
		case f.SHA256 != "" && f.SHA256 != sum:
			return fail(http.StatusUnprocessableEntity, "evidence_mismatch", "%s gives %q the SHA-256 %s; the version's file is %s", what, clipText(f.Path), clipText(f.SHA256), sum)
		}
		seen[f.Path] = true
	}
	for _, f := range want {
		if !seen[f.Path] {
			return fail(http.StatusUnprocessableEntity, "evidence_mismatch", "%s does not cover %q, a file of this version", what, clipText(f.Path))
		}
	}
	return nil
}

// bindScan checks a scan report (report.Report, one target) against the
// version's files and returns its findings as the store records them: the
// file by the version's SHA-256, the location relative to the model.
func bindScan(data []byte, files []store.File) ([]store.FindingInput, error) {
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fail(http.StatusUnprocessableEntity, "invalid_report", "not a violet scan report: %v", err)
	}
	if r.Tool.Name != "violet" || len(r.Targets) != 1 {
		return nil, fail(http.StatusUnprocessableEntity, "invalid_report",
			"not a violet scan report of one target (tool %q, %d targets): upload the scan of the model's folder or file", clipText(r.Tool.Name), len(r.Targets))
	}
	target := r.Targets[0]
	single := len(files) == 1 && files[0].Path == "."
	sums := map[string]string{}
	for _, f := range files {
		sums[f.Path] = f.SHA256
	}
	var named []store.File
	var out []store.FindingInput
	for _, f := range r.Files {
		name, err := report.AttestedName(target, f.Path)
		if err != nil {
			return nil, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the report names %q outside its target", clipText(f.Path))
		}
		if single && filepath.Clean(f.Path) == filepath.Clean(target) {
			name = "."
		}
		named = append(named, store.File{Path: name, SHA256: f.SHA256})
		for _, x := range f.Findings {
			if !ruleID.MatchString(x.Rule) {
				return nil, fail(http.StatusUnprocessableEntity, "invalid_report", "a finding's rule %q is not a rule id", clipText(x.Rule))
			}
			if _, err := x.Severity.MarshalText(); err != nil {
				return nil, fail(http.StatusUnprocessableEntity, "invalid_report", "a finding of rule %s: %v", x.Rule, err)
			}
			loc := name
			for _, m := range x.Location.Member {
				loc += "!" + m
			}
			if x.Location.Offset >= 0 {
				loc += "@" + strconv.FormatInt(x.Location.Offset, 10)
			}
			if x.Location.Line > 0 {
				loc += ":" + strconv.Itoa(x.Location.Line)
			}
			out = append(out, store.FindingInput{Rule: x.Rule, FileSHA256: sums[name], Severity: x.Severity,
				Location: cleanText(loc, 4096, false), Message: cleanText(x.Message, 8192, true)})
		}
	}
	if err := bindFiles("the scan report", named, files); err != nil {
		return nil, err
	}
	if len(out) > store.MaxFindings {
		return nil, fail(http.StatusRequestEntityTooLarge, "too_large", "the report holds %d findings, more than %d", len(out), store.MaxFindings)
	}
	return out, nil
}

// ruleID is the form of a rule id the store takes, checked before the
// report is stored: a report whose findings could not be recorded is not
// stored either.
var ruleID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)

// cleanText makes a text of a report storable: control characters (but
// newlines and tabs where multiline) replaced, spaces around trimmed, cut
// to max bytes on a character boundary.
func cleanText(s string, max int, multiline bool) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if !multiline {
		s = strings.TrimSpace(s)
	}
	for len(s) > max {
		_, size := lastRune(s)
		s = s[:len(s)-size]
	}
	return s
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0x80 || s[i] >= 0xC0 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// bomFiles returns the files a CycloneDX BOM lists: its components of type
// file (nested ones too, in metadata.component as well) with their SHA-256 and violet:file:size; a BOM of
// a single-file model (no file component) gives the model component's
// SHA-256 as the file ".".
func bomFiles(data []byte) ([]store.File, error) {
	var doc struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component *bomComponent `json:"component"`
		} `json:"metadata"`
		Components []bomComponent `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil || doc.BOMFormat != "CycloneDX" {
		return nil, fail(http.StatusBadRequest, "invalid_bom", "not a CycloneDX JSON BOM")
	}
	var files []store.File
	var walk func(cs []bomComponent, depth int) error
	walk = func(cs []bomComponent, depth int) error {
		if depth > 32 {
			return fail(http.StatusUnprocessableEntity, "invalid_bom", "components nested more than 32 deep")
		}
		for _, c := range cs {
			if c.Type == "file" {
				files = append(files, store.File{Path: c.Name, SHA256: c.sha256(), Size: c.size()})
			}
			if err := walk(c.Components, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	// violet bom nests the files in the model's component, in metadata.
	if doc.Metadata.Component != nil {
		if err := walk([]bomComponent{*doc.Metadata.Component}, 0); err != nil {
			return nil, err
		}
	}
	if err := walk(doc.Components, 0); err != nil {
		return nil, err
	}
	if len(files) == 0 && doc.Metadata.Component != nil && doc.Metadata.Component.sha256() != "" {
		files = append(files, store.File{Path: ".", SHA256: doc.Metadata.Component.sha256()})
	}
	if len(files) > store.MaxVersionFiles {
		return nil, fail(http.StatusRequestEntityTooLarge, "too_large", "the BOM lists %d files, more than %d", len(files), store.MaxVersionFiles)
	}
	for _, f := range files {
		if f.SHA256 == "" {
			return nil, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the BOM's file %q has no SHA-256", clipText(f.Path))
		}
	}
	return files, nil
}

// bomComponent is what bomFiles reads of a CycloneDX component.
type bomComponent struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Hashes []struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	} `json:"hashes"`
	Properties []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
	Components []bomComponent `json:"components"`
}

func (c *bomComponent) sha256() string {
	for _, h := range c.Hashes {
		if h.Alg == "SHA-256" {
			return strings.ToLower(h.Content)
		}
	}
	return ""
}

func (c *bomComponent) size() int64 {
	for _, p := range c.Properties {
		if p.Name == "violet:file:size" {
			if n, err := strconv.ParseInt(p.Value, 10, 64); err == nil && n >= 0 {
				return n
			}
		}
	}
	return 0
}
