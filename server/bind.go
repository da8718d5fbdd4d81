package server

import (
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

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
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
		case !ok && OutsideVersion(f.Path):
			// The git files and the signature are not part of a version
			// (violet hash leaves them out): a report may name them.
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

// OutsideVersion reports whether a model's file is one that violet hash
// leaves out of the version: the reference tool's ignore paths (the git
// files) and the signature's default place.
func OutsideVersion(name string) bool {
	return sign.Ignored(name, append(sign.DefaultIgnorePaths(), "model.sig"))
}

// sha256Pattern is a lower-case hex SHA-256.
var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// bindScan checks a scan report (report.Report, one target) against the
// version's files and returns its findings as the store records them: the
// file by the version's SHA-256, the location relative to the model.
// The scanner's version, the second result, is the report's tool.version.
func bindScan(data []byte, files []store.File) ([]store.FindingInput, string, error) {
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, "", fail(http.StatusUnprocessableEntity, "invalid_report", "not a violet scan report: %v", err)
	}
	if r.Tool.Name != "violet" || len(r.Targets) != 1 {
		return nil, "", fail(http.StatusUnprocessableEntity, "invalid_report",
			"not a violet scan report of one target (tool %q, %d targets): upload the scan of the model's folder or file", clipText(r.Tool.Name), len(r.Targets))
	}
	out, err := bindScanFiles(r, files)
	return out, cleanText(r.Tool.Version, 128, false), err
}

// bindScanFiles is bindScan's check of the report's files.
func bindScanFiles(r report.Report, files []store.File) ([]store.FindingInput, error) {
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
		sum := sums[name]
		if OutsideVersion(name) && sum == "" {
			// A git file or the signature: scanned, not part of the
			// version; its findings are kept, bound to the bytes the
			// report names.
			if !sha256Pattern.MatchString(f.SHA256) {
				return nil, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the report gives %q no SHA-256: scan with --upload", clipText(f.Path))
			}
			sum = f.SHA256
		}
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
			out = append(out, store.FindingInput{Rule: x.Rule, FileSHA256: sum, Severity: x.Severity,
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

// bindDeps checks a `violet deps` report of one target against the
// version's files (every dependency file it read must be a file of the
// version: a deps report covers some of a model's files, not all) and
// returns the packages it lists, each with the worst severity of the
// findings at its line.
func bindDeps(data []byte, files []store.File) ([]store.Package, error) {
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fail(http.StatusUnprocessableEntity, "invalid_report", "not a violet deps report: %v", err)
	}
	if r.Tool.Name != "violet deps" || len(r.Targets) != 1 {
		return nil, fail(http.StatusUnprocessableEntity, "invalid_report",
			"not a violet deps report of one target (tool %q, %d targets): upload violet deps of the model's folder (violet 0.x writing schema 1.2.0 or later)", clipText(r.Tool.Name), len(r.Targets))
	}
	target := r.Targets[0]
	single := len(files) == 1 && files[0].Path == "."
	versionFile := map[string]bool{}
	for _, f := range files {
		versionFile[f.Path] = true
	}
	var out []store.Package
	for _, f := range r.Files {
		name, err := report.AttestedName(target, f.Path)
		if single && filepath.Clean(f.Path) == filepath.Clean(target) {
			name, err = ".", nil
		}
		if err != nil || !versionFile[name] {
			return nil, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the deps report reads %q, which is not a file of this version", clipText(f.Path))
		}
		worst := map[int]finding.Severity{}
		for _, x := range f.Findings {
			if w, ok := worst[x.Location.Line]; x.Location.Line > 0 && (!ok || x.Severity > w) {
				worst[x.Location.Line] = x.Severity
			}
		}
		for _, p := range f.Packages {
			if len(out) == store.MaxPackages {
				return nil, fail(http.StatusRequestEntityTooLarge, "too_large", "the report lists more than %d packages", store.MaxPackages)
			}
			sev := ""
			if w, ok := worst[p.Line]; ok && p.Line > 0 {
				sev = w.String()
			}
			out = append(out, store.Package{Ecosystem: cleanText(p.Ecosystem, 64, false), Name: cleanText(p.Name, 256, false),
				Version: cleanText(p.Version, 256, false), Specifier: cleanText(p.Specifier, 1024, false),
				Manifest: name, Line: max(p.Line, 0), Severity: sev})
		}
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

// VerifySigners reads who signed the model of a verify report
// (sign.Report: `violet verify --format json`, a verify job's): its signer
// (the key's hint or the certificate's subject), when the signature
// verified; none otherwise.
func VerifySigners(report []byte) ([]string, error) {
	r, err := readVerifyReport(report)
	if err != nil || !r.Verified || r.Signer == "" {
		return nil, err
	}
	return []string{r.Signer}, nil
}

// verifyReportJSON is what the server reads of a verify report.
type verifyReportJSON struct {
	Verified bool   `json:"verified"`
	Signer   string `json:"signer"`
	Manifest *struct {
		Resources []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
	} `json:"manifest"`
}

func readVerifyReport(report []byte) (verifyReportJSON, error) {
	var r verifyReportJSON
	if err := json.Unmarshal(report, &r); err != nil {
		return r, fail(http.StatusUnprocessableEntity, "invalid_report", "the verify report: %v", err)
	}
	return r, nil
}

// BindVerify checks a verify report that says the model verified against
// a version's files, and returns who signed (VerifySigners): what an upload
// of the report would record. The verify jobs (package jobs) store their
// reports through it. The check: every file its signed manifest names (a shard's file,
// for a sharded manifest) is a file of the version, with the same SHA-256
// when the manifest hashes whole files with SHA-256. A report of another
// model is refused (422 evidence_mismatch). The version may hold more
// files (a signature made with ignore paths); a report without a manifest
// (one that did not verify, or an older report) binds nothing more.
func BindVerify(report []byte, files []store.File) ([]string, error) {
	r, err := readVerifyReport(report)
	if err != nil || !r.Verified || r.Manifest == nil {
		return VerifySigners(report)
	}
	byPath := make(map[string]string, len(files))
	for _, f := range files {
		byPath[f.Path] = f.SHA256
	}
	for _, res := range r.Manifest.Resources {
		name := res.Name
		if strings.Contains(res.Algorithm, "-sharded-") {
			if i := strings.LastIndexByte(name, ':'); i > 0 {
				if j := strings.LastIndexByte(name[:i], ':'); j > 0 {
					name = name[:j]
				}
			}
		}
		sum, ok := byPath[name]
		switch {
		case !ok:
			return nil, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the verify report's signed manifest names %q, which is not a file of this version", clipText(name))
		case res.Algorithm == sign.HashSHA256 && res.Digest != sum:
			return nil, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the verify report signs %q with the SHA-256 %s; the version's file is %s", clipText(name), clipText(res.Digest), sum)
		}
	}
	return VerifySigners(report)
}
