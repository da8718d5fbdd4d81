package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/finding"
)

// Addresses the SARIF report links to.
const (
	// InformationURI is the home page of Violet.
	InformationURI = "https://github.com/violet-mlsecops/violet"
	// RulesDocURL is the rendered rule reference (docs/rules.md); a rule's
	// section is at RulesDocURL + "#" + finding.Anchor(id).
	RulesDocURL = InformationURI + "/blob/main/docs/rules.md"
	// SARIFSchemaURI is the $id of the SARIF 2.1.0 JSON schema.
	SARIFSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

// FingerprintKey is the key of Violet's own stable fingerprint in a SARIF
// result's partialFingerprints.
const FingerprintKey = "violet/v1"

// SARIFLevel returns the SARIF level of a severity: error for critical and
// high, warning for medium, note for low and info.
func SARIFLevel(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s == finding.Medium:
		return "warning"
	default:
		return "note"
	}
}

// SecuritySeverity returns the score GitHub code scanning reads from a rule's
// "security-severity" property: 9.5 for critical, 8.0 for high, 5.5 for
// medium, 3.0 for low and 0.0 for info (no security severity).
func SecuritySeverity(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return "9.5"
	case finding.High:
		return "8.0"
	case finding.Medium:
		return "5.5"
	case finding.Low:
		return "3.0"
	default:
		return "0.0"
	}
}

// The SARIF 2.1.0 objects Violet writes, with only the properties it uses.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool               sarifTool                `json:"tool"`
		Invocations        []sarifInvocation        `json:"invocations"`
		OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds"`
		Results            []sarifResult            `json:"results"`
	}
	sarifTool struct {
		Driver     sarifComponent   `json:"driver"`
		Extensions []sarifComponent `json:"extensions,omitempty"`
	}
	sarifComponent struct {
		Name            string            `json:"name"`
		Version         string            `json:"version,omitempty"`
		SemanticVersion string            `json:"semanticVersion,omitempty"`
		InformationURI  string            `json:"informationUri,omitempty"`
		Rules           []sarifDescriptor `json:"rules,omitempty"`
	}
	sarifDescriptor struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name,omitempty"`
		ShortDescription     sarifMessage      `json:"shortDescription"`
		FullDescription      sarifMessage      `json:"fullDescription"`
		Help                 sarifMessage      `json:"help"`
		HelpURI              string            `json:"helpUri,omitempty"`
		DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
		Properties           sarifRuleProperty `json:"properties"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifRuleProperty struct {
		Tags             []string `json:"tags"`
		SecuritySeverity string   `json:"security-severity"`
		Severity         string   `json:"severity,omitempty"`
		Incomplete       bool     `json:"incomplete,omitempty"`
	}
	sarifMessage struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifMessage      `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          sarifResultProps  `json:"properties"`
	}
	sarifResultProps struct {
		Severity     string   `json:"severity"`
		Member       []string `json:"member,omitempty"`
		Offset       *int64   `json:"offset,omitempty"`
		MemberOffset *int64   `json:"memberOffset,omitempty"`
		Evidence     string   `json:"evidence,omitempty"`
		ATLAS        []string `json:"atlas,omitempty"`
		Incomplete   bool     `json:"incomplete,omitempty"`
		Analyzer     string   `json:"analyzer,omitempty"`
		PolicyRule   string   `json:"policyRule,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical  `json:"physicalLocation"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI         string        `json:"uri,omitempty"`
		URIBaseID   string        `json:"uriBaseId,omitempty"`
		Description *sarifMessage `json:"description,omitempty"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		ExitCode                   int                 `json:"exitCode"`
		ExitCodeDescription        string              `json:"exitCodeDescription"`
		StartTimeUTC               string              `json:"startTimeUtc,omitempty"`
		EndTimeUTC                 string              `json:"endTimeUtc,omitempty"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
		Properties                 map[string]any      `json:"properties,omitempty"`
	}
	sarifNotification struct {
		Level          string          `json:"level"`
		Message        sarifMessage    `json:"message"`
		Locations      []sarifLocation `json:"locations,omitempty"`
		AssociatedRule *sarifRuleRef   `json:"associatedRule,omitempty"`
	}
	sarifRuleRef struct {
		ID    string `json:"id"`
		Index int    `json:"index"`
	}
)

// srcRoot is the base every location of a SARIF log is relative to: the
// folder Violet ran in, which the paths of a report are relative to.
const srcRoot = "%SRCROOT%"

// workingDir returns the folder Violet runs in (a variable so that the
// tests can fix it).
var workingDir = os.Getwd

// WriteSARIF writes r as a SARIF 2.1.0 log with one run, for GitHub code
// scanning and other SARIF consumers. GitHub code scanning accepts every log
// it writes: the log stays within GitHub's limits (results, rules, tags,
// extensions, locations, lengths and the 10 MB of the compressed file) and
// carries every property GitHub requires.
//
// The driver "violet" lists every catalogued rule (finding.Rules()), then
// any rule a result names that the catalogue lacks, with its title,
// description, remediation as help, its ATLAS techniques as tags next to
// "security", the "security-severity" score GitHub reads (see
// SecuritySeverity) and its default level (see SARIFLevel). Its version is
// the report's, or BuildVersion when the report has a placeholder ("dev");
// semanticVersion is that version without its "v" when it is a Semantic
// Version. The analyzers are the run's extensions.
//
// A denial of violet gate (a GATE-DENY finding, whose evidence is the id of
// the policy rule that denies) is a result of its own rule,
// GATE-DENY/<policy rule>, so that code scanning tells the reasons apart.
//
// Results come in the order of the JSON report. Their message is the
// finding's message followed by its evidence, with control characters
// escaped as in the text report; the evidence property keeps the raw bytes
// (up to 2 KiB). A result's physical location is the file on disk, as a URI
// relative to %SRCROOT% with forward slashes: the run's originalUriBaseIds
// defines %SRCROOT% as the folder Violet ran in, and an absolute path is
// made relative to it. Its region is the finding's line, or line 1 for a
// finding about a file, which has none; a byte offset goes to the result's
// offset property (for the file itself) or memberOffset property (inside a
// container member). A member is a logical location of kind "member" named
// "path!member!member", and its chain is in the result's member property.
//
// partialFingerprints carries FingerprintKey, the SHA-256 of the rule, the
// path, the member chain and the evidence (not the offset, which moves when
// an unrelated part of the file changes), and primaryLocationLineHash, the
// only key GitHub code scanning reads, made from the same hash and a count
// of the earlier results with the same one.
//
// When the findings are more than GitHub accepts (25,000 results or 25,000
// rules per run, or a compressed file over 10 MB), the most severe are kept, the invocation
// gets a warning notification that says how many results were left out and
// its properties count them (omittedResults, totalResults); the exit code is
// still that of the whole report.
//
// A file that could not be fully analyzed adds an error notification to the
// invocation, next to its findings among the results. executionSuccessful
// stays true when Violet ran to the end: GitHub code scanning discards every
// result of a run whose execution was not successful, and a file crafted to
// be unreadable would then hide the findings of every other file.
func WriteSARIF(w io.Writer, r *Report) error {
	if err := check(r); err != nil {
		return err
	}
	s := newSARIFWriter(r)
	keep := min(len(s.candidates), githubMaxResults)
	for {
		data, err := s.encode(keep)
		if err != nil {
			return err
		}
		size := int64(len(data))
		if size > sarifSizeBudget {
			size = gzipSize(data)
		}
		if size <= sarifSizeBudget || keep == 0 {
			_, err = w.Write(data)
			return err
		}
		// Too heavy: keep fewer results, in proportion, with a margin.
		keep = min(keep-1, int(int64(keep)*sarifSizeBudget/size*9/10))
	}
}

// sarifWriter holds what the SARIF log of a report is made from.
type sarifWriter struct {
	r          *Report
	root       string // the folder Violet runs in, or "" when unknown
	catalogue  []sarifDescriptor
	candidates []candidate // every result, in the order of the JSON report
	bySeverity []int       // indexes of candidates, most severe first
	notes      []sarifNotification
}

// candidate is a result the log may hold, and the rule it needs when the
// catalogue lacks it.
type candidate struct {
	res      sarifResult
	severity finding.Severity
	rule     *sarifDescriptor // nil for a catalogued rule
}

func newSARIFWriter(r *Report) *sarifWriter {
	s := &sarifWriter{r: r}
	if wd, err := workingDir(); err == nil && filepath.IsAbs(wd) {
		s.root = wd
	}
	index := map[string]int{}
	for _, rule := range finding.Rules() {
		index[rule.ID] = len(s.catalogue)
		s.catalogue = append(s.catalogue, descriptor(rule, rule.ID))
	}
	seen := map[string]int{}
	for _, f := range sortedFiles(r, byLocation) {
		incompleteNoted := false
		for _, x := range f.Findings {
			c := candidate{res: s.result(x), severity: x.Severity}
			if i, ok := index[c.res.RuleID]; ok {
				c.res.RuleIndex = i
			} else {
				d := uncatalogued(x, c.res.RuleID)
				c.rule = &d
			}
			sum := Fingerprint(x)
			seen[sum]++
			c.res.PartialFingerprints = map[string]string{
				"primaryLocationLineHash": fmt.Sprintf("%s:%d", sum[:16], seen[sum]),
				FingerprintKey:            sum,
			}
			s.candidates = append(s.candidates, c)
			if x.Incomplete {
				incompleteNoted = true
				note := sarifNotification{
					Level:     "error",
					Message:   sarifMessage{Text: clip("Could not fully analyze "+safeText(x.Location.String())+": "+safeText(messageText(x)), maxTextBytes)},
					Locations: []sarifLocation{s.location(x.Location.Path, x.Location.Line)},
				}
				if c.rule == nil {
					note.AssociatedRule = &sarifRuleRef{ID: c.res.RuleID, Index: c.res.RuleIndex}
				}
				s.notes = append(s.notes, note)
			}
		}
		if f.Incomplete && !incompleteNoted {
			s.notes = append(s.notes, sarifNotification{
				Level:     "error",
				Message:   sarifMessage{Text: clip("Could not fully analyze "+safeText(f.Path)+".", maxTextBytes)},
				Locations: []sarifLocation{s.location(f.Path, 0)},
			})
		}
	}
	if n := len(s.notes) - maxNotifications; n > 0 {
		s.notes = append(s.notes[:maxNotifications], sarifNotification{
			Level:   "error",
			Message: sarifMessage{Text: fmt.Sprintf("Could not fully analyze %d more inputs, not listed here: the JSON report (--format json) lists them all.", n)},
		})
	}
	s.bySeverity = make([]int, len(s.candidates))
	for i := range s.bySeverity {
		s.bySeverity[i] = i
	}
	slices.SortStableFunc(s.bySeverity, func(a, b int) int {
		return cmp.Compare(s.candidates[b].severity, s.candidates[a].severity)
	})
	return s
}

// encode returns the log with the keep most severe results at most.
func (s *sarifWriter) encode(keep int) ([]byte, error) {
	r := s.r
	// Choose the results: the most severe first, as long as their rules
	// fit in GitHub's limit.
	kept := make([]bool, len(s.candidates))
	newRules := map[string]bool{}
	n := 0
	var omitted []finding.Severity
	for _, i := range s.bySeverity {
		c := &s.candidates[i]
		fits := n < keep
		if fits && c.rule != nil && !newRules[c.rule.ID] {
			fits = len(s.catalogue)+len(newRules) < githubMaxRules
			if fits {
				newRules[c.rule.ID] = true
			}
		}
		if fits {
			kept[i] = true
			n++
		} else {
			omitted = append(omitted, c.severity)
		}
	}

	driver := sarifComponent{
		Name:           "violet",
		Version:        toolVersion(r.Tool.Version),
		InformationURI: InformationURI,
		Rules:          slices.Clone(s.catalogue),
	}
	if v := strings.TrimPrefix(driver.Version, "v"); semver.MatchString(v) {
		driver.SemanticVersion = v
	}
	index := map[string]int{}
	results := []sarifResult{}
	for i, c := range s.candidates {
		if !kept[i] {
			continue
		}
		res := c.res
		if c.rule != nil {
			j, ok := index[c.rule.ID]
			if !ok {
				j = len(driver.Rules)
				index[c.rule.ID] = j
				driver.Rules = append(driver.Rules, *c.rule)
			}
			res.RuleIndex = j
		}
		results = append(results, res)
	}

	code := r.ExitCode(r.FailOn)
	targets := nonNil(r.Targets)
	props := map[string]any{
		"failOn":  r.FailOn.String(),
		"targets": targets[:min(len(targets), maxTargets)],
	}
	if len(targets) > maxTargets {
		props["omittedTargets"] = len(targets) - maxTargets
	}
	notes := slices.Clone(s.notes)
	if len(omitted) > 0 {
		props["omittedResults"] = len(omitted)
		props["totalResults"] = len(s.candidates)
		notes = append(notes, sarifNotification{
			Level: "warning",
			Message: sarifMessage{Text: fmt.Sprintf("Violet found %d results, more than GitHub code scanning accepts in one run "+
				"(%d results, %d rules, %d MB compressed): the %d least severe (the most severe of them: %s) are left out of this file. "+
				"The exit code counts them all, and the JSON report (--format json) lists them.",
				len(s.candidates), githubMaxResults, githubMaxRules, githubMaxGzipBytes/1_000_000, len(omitted), slices.Max(omitted))},
		})
	}
	inv := sarifInvocation{
		ExecutionSuccessful:        true,
		ExitCode:                   code,
		ExitCodeDescription:        exitDescription(code, r.FailOn),
		ToolExecutionNotifications: notes,
		Properties:                 props,
	}
	if !r.StartedAt.IsZero() {
		start := r.StartedAt.UTC()
		inv.StartTimeUTC = start.Format(time.RFC3339Nano)
		inv.EndTimeUTC = start.Add(time.Duration(r.DurationMS) * time.Millisecond).Format(time.RFC3339Nano)
	}

	var extensions []sarifComponent
	for _, a := range r.Tool.Analyzers[:min(len(r.Tool.Analyzers), githubMaxExtensions)] {
		name, version, _ := strings.Cut(a, "/")
		if name == "" {
			continue
		}
		extensions = append(extensions, sarifComponent{Name: name, Version: version})
	}
	base := sarifArtifact{Description: &sarifMessage{Text: "The folder violet ran in: the paths of the report are relative to it."}}
	if s.root != "" {
		base.URI = fileURI(s.root, true)
	}
	log := sarifLog{
		Schema:  SARIFSchemaURI,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:               sarifTool{Driver: driver, Extensions: extensions},
			Invocations:        []sarifInvocation{inv},
			OriginalURIBaseIDs: map[string]sarifArtifact{srcRoot: base},
			Results:            results,
		}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// semver matches a Semantic Versioning 2.0.0 version (semver.org's own
// expression).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// Fingerprint returns the stable identity of a finding across scans: the hex
// SHA-256 of its rule, its path (with forward slashes), its member chain and
// its evidence. The byte offset and the message are left out, so that the
// same problem in a file that changed elsewhere keeps its identity.
func Fingerprint(f finding.Finding) string {
	h := sha256.New()
	field := func(s string) {
		// A length prefix keeps ("ab", "c") and ("a", "bc") apart.
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	field(f.Rule)
	field(filepath.ToSlash(f.Location.Path))
	fmt.Fprintf(h, "%d:", len(f.Location.Member))
	for _, m := range f.Location.Member {
		field(m)
	}
	field(f.Evidence)
	return hex.EncodeToString(h.Sum(nil))
}

// descriptor describes a rule; its help links to the rule reference of
// docID (the rule itself, or GATE-DENY for a rule of the release policy).
func descriptor(rule finding.Rule, docID string) sarifDescriptor {
	help := rule.Remediation
	if help == "" {
		help = rule.Title
	}
	var md strings.Builder
	fmt.Fprintf(&md, "**%s** (severity: %s)\n\n", rule.Title, rule.Severity)
	if rule.Description != "" && rule.Description != rule.Title {
		fmt.Fprintf(&md, "%s\n\n", rule.Description)
	}
	if rule.Remediation != "" {
		fmt.Fprintf(&md, "**How to fix.** %s\n\n", rule.Remediation)
	}
	atlas := rule.ATLAS[:min(len(rule.ATLAS), githubMaxTags-1)]
	if len(atlas) > 0 {
		md.WriteString("MITRE ATLAS:")
		for i, id := range atlas {
			sep := ","
			if i == 0 {
				sep = ""
			}
			name, ok := finding.ATLASName(id)
			if ok {
				fmt.Fprintf(&md, "%s [%s](%s) %s", sep, id, finding.ATLASURL(id), name)
			} else {
				fmt.Fprintf(&md, "%s [%s](%s)", sep, id, finding.ATLASURL(id))
			}
		}
		md.WriteString("\n\n")
	}
	fmt.Fprintf(&md, "[Rule reference](%s#%s)", RulesDocURL, finding.Anchor(docID))
	full := rule.Description
	if full == "" {
		full = rule.Title
	}
	short := rule.Title
	if short == "" {
		short = rule.ID
		full = rule.ID
	}
	return sarifDescriptor{
		ID:                   rule.ID,
		Name:                 clip(pascal(rule.ID), githubMaxRuleName),
		ShortDescription:     sarifMessage{Text: clip(short, githubMaxDescription)},
		FullDescription:      sarifMessage{Text: clip(full, githubMaxDescription)},
		Help:                 sarifMessage{Text: help, Markdown: md.String()},
		HelpURI:              RulesDocURL + "#" + finding.Anchor(docID),
		DefaultConfiguration: sarifRuleConfig{Level: SARIFLevel(rule.Severity)},
		Properties: sarifRuleProperty{
			Tags:             append([]string{"security"}, atlas...),
			SecuritySeverity: SecuritySeverity(rule.Severity),
			Severity:         severityName(rule.Severity),
			Incomplete:       rule.Incomplete,
		},
	}
}

// uncatalogued describes the rule id of finding x, which the catalogue
// lacks: a rule of the release policy, described as GATE-DENY is, or a rule
// of a newer catalogue, described by the finding.
func uncatalogued(x finding.Finding, id string) sarifDescriptor {
	if x.Rule == finding.GateDeny {
		if rule, ok := finding.Lookup(finding.GateDeny); ok {
			rule.ID = id
			rule.Title = clip(rule.Title+": "+safeText(x.Evidence), githubMaxDescription)
			rule.Severity = x.Severity
			return descriptor(rule, finding.GateDeny)
		}
	}
	title := clip(safeText(x.Title), githubMaxDescription)
	return descriptor(finding.Rule{
		ID: id, Title: title, Severity: x.Severity, ATLAS: x.ATLAS,
		Description: title, Remediation: clip(safeText(x.Remediation), maxTextBytes), Incomplete: x.Incomplete,
	}, id)
}

// ruleID is the SARIF rule of a finding: its rule, or for a denial of the
// release policy, GATE-DENY/ and the id of the policy rule, kept to letters,
// digits, ".", "_" and "-".
func ruleID(x finding.Finding) string {
	if x.Rule == "" {
		return "UNKNOWN"
	}
	if x.Rule != finding.GateDeny || x.Evidence == "" {
		return x.Rule
	}
	id := []byte(x.Evidence[:min(len(x.Evidence), 128)])
	for i, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			id[i] = '-'
		}
	}
	return finding.GateDeny + "/" + string(id)
}

func severityName(s finding.Severity) string {
	if !validSeverity(s) {
		return ""
	}
	return s.String()
}

// pascal turns a rule id into a SARIF rule name: PICKLE-CODE-EXEC becomes
// PickleCodeExec.
func pascal(id string) string {
	var b strings.Builder
	words := strings.FieldsFunc(id, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, word := range words {
		first, size := utf8.DecodeRuneInString(word)
		b.WriteRune(unicode.ToUpper(first))
		b.WriteString(strings.ToLower(word[size:]))
	}
	return b.String()
}

func messageText(x finding.Finding) string {
	switch {
	case x.Message != "":
		return x.Message
	case x.Title != "":
		return x.Title
	default:
		return ruleID(x)
	}
}

// result is the SARIF result of a finding, without its rule index and
// fingerprints.
func (s *sarifWriter) result(x finding.Finding) sarifResult {
	// The message is for people: control characters from the scanned file
	// are escaped there, and kept as they are in the evidence property.
	text := safeText(messageText(x))
	if x.Evidence != "" {
		text = strings.TrimRight(text, " ") + " Evidence: " + safeText(x.Evidence)
	}
	loc := s.location(x.Location.Path, x.Location.Line)
	props := sarifResultProps{
		Severity:   x.Severity.String(),
		Evidence:   clip(x.Evidence, maxTextBytes),
		ATLAS:      x.ATLAS,
		Incomplete: x.Incomplete,
		Analyzer:   x.Analyzer,
	}
	if x.Rule == finding.GateDeny {
		props.PolicyRule = props.Evidence
	}
	var off *int64
	if x.Location.Offset >= 0 {
		o := x.Location.Offset
		off = &o
	}
	if len(x.Location.Member) > 0 {
		members := make([]string, len(x.Location.Member))
		for i, m := range x.Location.Member {
			members[i] = clip(m, maxTextBytes)
		}
		loc.LogicalLocations = []sarifLogical{{
			Name:               members[len(members)-1],
			FullyQualifiedName: filepath.ToSlash(x.Location.Path) + "!" + strings.Join(members, "!"),
			Kind:               "member",
		}}
		props.Member = members
		props.MemberOffset = off
	} else {
		props.Offset = off
	}
	return sarifResult{
		RuleID:     ruleID(x),
		Level:      SARIFLevel(x.Severity),
		Message:    sarifMessage{Text: clip(text, maxTextBytes)},
		Locations:  []sarifLocation{loc},
		Properties: props,
	}
}

// location is the location of line (0: none, the region is line 1) of the
// file at path p.
func (s *sarifWriter) location(p string, line int) sarifLocation {
	return sarifLocation{PhysicalLocation: sarifPhysical{
		ArtifactLocation: artifact(p, s.root),
		Region:           &sarifRegion{StartLine: max(line, 1)},
	}}
}

// artifact returns the artifact location of a path on disk: a URI
// reference with forward slashes relative to %SRCROOT%, the folder root
// Violet runs in. An absolute path is made relative to root; it stays an
// absolute file:// URI only when it cannot be (root unknown, or on another
// Windows volume).
func artifact(p, root string) sarifArtifact {
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(root, p)
		if root == "" || err != nil {
			return sarifArtifact{URI: fileURI(p, false)}
		}
		p = rel
	}
	clean := path.Clean(filepath.ToSlash(p))
	return sarifArtifact{URI: (&url.URL{Path: clean}).String(), URIBaseID: srcRoot}
}

// fileURI returns the file:// URI of an absolute path, with a trailing slash
// for a folder.
func fileURI(p string, folder bool) string {
	slashed := filepath.ToSlash(p)
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed // C:/x becomes /C:/x
	}
	if folder && !strings.HasSuffix(slashed, "/") {
		slashed += "/"
	}
	return (&url.URL{Scheme: "file", Path: slashed}).String()
}

func exitDescription(code int, failOn finding.Severity) string {
	switch code {
	case ExitFindings:
		return "a finding at or above " + failOn.String()
	case ExitIncomplete:
		return "an input could not be fully analyzed"
	default:
		return "no finding at or above " + failOn.String()
	}
}
