package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

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
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
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
		MemberOffset *int64   `json:"memberOffset,omitempty"`
		Evidence     string   `json:"evidence,omitempty"`
		ATLAS        []string `json:"atlas,omitempty"`
		Incomplete   bool     `json:"incomplete,omitempty"`
		Analyzer     string   `json:"analyzer,omitempty"`
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
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifRegion struct {
		ByteOffset *int64 `json:"byteOffset,omitempty"`
		StartLine  int    `json:"startLine,omitempty"`
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

// WriteSARIF writes r as a SARIF 2.1.0 log with one run, for GitHub code
// scanning and other SARIF consumers.
//
// The driver "violet" lists every catalogued rule (finding.Rules(), plus any
// rule a finding names that the catalogue lacks), with its title, description,
// remediation as help, its ATLAS techniques as tags next to "security", the
// "security-severity" score GitHub reads (see SecuritySeverity) and its
// default level (see SARIFLevel). The analyzers are the run's extensions.
//
// Results come in the order of the JSON report. Their message is the
// finding's message followed by its evidence, with control characters
// escaped as in the text report; the evidence property keeps the raw bytes. A result's physical location
// is the file on disk, as a relative URI with forward slashes (an absolute
// path becomes a file:// URI); its region carries the byte offset only when
// the finding is in the file itself: an offset inside a container member is
// not an offset in the file, so it goes to the result's memberOffset
// property instead. A member is a logical location of kind "member" named
// "path!member!member", and its chain is in the result's member property.
//
// partialFingerprints carries FingerprintKey, the SHA-256 of the rule, the
// path, the member chain and the evidence (not the offset, which moves when
// an unrelated part of the file changes), and primaryLocationLineHash, the
// only key GitHub code scanning reads, made from the same hash and a count
// of the earlier results with the same one.
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
	driver := sarifComponent{
		Name:           "violet",
		Version:        r.Tool.Version,
		InformationURI: InformationURI,
	}
	if semver.MatchString(strings.TrimPrefix(r.Tool.Version, "v")) {
		driver.SemanticVersion = strings.TrimPrefix(r.Tool.Version, "v")
	}
	index := map[string]int{}
	for _, rule := range finding.Rules() {
		index[rule.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, descriptor(rule))
	}
	files := sortedFiles(r, byLocation)
	for _, f := range files {
		for _, x := range f.Findings {
			if _, ok := index[x.Rule]; !ok {
				index[x.Rule] = len(driver.Rules)
				driver.Rules = append(driver.Rules, descriptor(finding.Rule{
					ID: x.Rule, Title: x.Title, Severity: x.Severity, ATLAS: x.ATLAS,
					Description: x.Title, Remediation: x.Remediation, Incomplete: x.Incomplete,
				}))
			}
		}
	}

	results := []sarifResult{}
	var notes []sarifNotification
	seen := map[string]int{}
	for _, f := range files {
		incompleteNoted := false
		for _, x := range f.Findings {
			res := result(x, index[x.Rule])
			sum := Fingerprint(x)
			seen[sum]++
			res.PartialFingerprints = map[string]string{
				"primaryLocationLineHash": fmt.Sprintf("%s:%d", sum[:16], seen[sum]),
				FingerprintKey:            sum,
			}
			results = append(results, res)
			if x.Incomplete {
				incompleteNoted = true
				notes = append(notes, sarifNotification{
					Level:          "error",
					Message:        sarifMessage{Text: "Could not fully analyze " + safeText(x.Location.String()) + ": " + safeText(messageText(x))},
					Locations:      res.Locations,
					AssociatedRule: &sarifRuleRef{ID: x.Rule, Index: index[x.Rule]},
				})
			}
		}
		if f.Incomplete && !incompleteNoted {
			notes = append(notes, sarifNotification{
				Level:     "error",
				Message:   sarifMessage{Text: "Could not fully analyze " + safeText(f.Path) + "."},
				Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: artifact(f.Path)}}},
			})
		}
	}

	code := r.ExitCode(r.FailOn)
	inv := sarifInvocation{
		ExecutionSuccessful:        true,
		ExitCode:                   code,
		ExitCodeDescription:        exitDescription(code, r.FailOn),
		ToolExecutionNotifications: notes,
		Properties: map[string]any{
			"failOn":  r.FailOn.String(),
			"targets": nonNil(r.Targets),
		},
	}
	if !r.StartedAt.IsZero() {
		start := r.StartedAt.UTC()
		inv.StartTimeUTC = start.Format(time.RFC3339Nano)
		inv.EndTimeUTC = start.Add(time.Duration(r.DurationMS) * time.Millisecond).Format(time.RFC3339Nano)
	}

	var extensions []sarifComponent
	for _, a := range r.Tool.Analyzers {
		name, version, _ := strings.Cut(a, "/")
		extensions = append(extensions, sarifComponent{Name: name, Version: version})
	}
	log := sarifLog{
		Schema:  SARIFSchemaURI,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:        sarifTool{Driver: driver, Extensions: extensions},
			Invocations: []sarifInvocation{inv},
			Results:     results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// semver matches a Semantic Versioning 2.0.0 version.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

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

func descriptor(rule finding.Rule) sarifDescriptor {
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
	if len(rule.ATLAS) > 0 {
		md.WriteString("MITRE ATLAS:")
		for i, id := range rule.ATLAS {
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
	fmt.Fprintf(&md, "[Rule reference](%s#%s)", RulesDocURL, finding.Anchor(rule.ID))
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
		Name:                 pascal(rule.ID),
		ShortDescription:     sarifMessage{Text: short},
		FullDescription:      sarifMessage{Text: full},
		Help:                 sarifMessage{Text: help, Markdown: md.String()},
		HelpURI:              RulesDocURL + "#" + finding.Anchor(rule.ID),
		DefaultConfiguration: sarifRuleConfig{Level: SARIFLevel(rule.Severity)},
		Properties: sarifRuleProperty{
			Tags:             append([]string{"security"}, rule.ATLAS...),
			SecuritySeverity: SecuritySeverity(rule.Severity),
			Severity:         severityName(rule.Severity),
			Incomplete:       rule.Incomplete,
		},
	}
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
	for _, word := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(word[:1]) + strings.ToLower(word[1:]))
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
		return x.Rule
	}
}

func result(x finding.Finding, ruleIndex int) sarifResult {
	// The message is for people: control characters from the scanned file
	// are escaped there, and kept as they are in the evidence property.
	text := safeText(messageText(x))
	if x.Evidence != "" {
		text = strings.TrimRight(text, " ") + " Evidence: " + safeText(x.Evidence)
	}
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: artifact(x.Location.Path)}}
	props := sarifResultProps{
		Severity:   x.Severity.String(),
		Evidence:   x.Evidence,
		ATLAS:      x.ATLAS,
		Incomplete: x.Incomplete,
		Analyzer:   x.Analyzer,
	}
	if len(x.Location.Member) > 0 {
		members := x.Location.Member
		loc.LogicalLocations = []sarifLogical{{
			Name:               members[len(members)-1],
			FullyQualifiedName: filepath.ToSlash(x.Location.Path) + "!" + strings.Join(members, "!"),
			Kind:               "member",
		}}
		props.Member = members
		if x.Location.Offset >= 0 {
			off := x.Location.Offset
			props.MemberOffset = &off
		}
	} else if x.Location.Offset >= 0 {
		off := x.Location.Offset
		loc.PhysicalLocation.Region = &sarifRegion{ByteOffset: &off}
	} else if x.Location.Line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: x.Location.Line}
	}
	return sarifResult{
		RuleID:     x.Rule,
		RuleIndex:  ruleIndex,
		Level:      SARIFLevel(x.Severity),
		Message:    sarifMessage{Text: text},
		Locations:  []sarifLocation{loc},
		Properties: props,
	}
}

// artifact returns the artifact location of a path on disk: a relative URI
// reference with forward slashes against %SRCROOT%, or a file:// URI for an
// absolute path.
func artifact(p string) sarifArtifact {
	if filepath.IsAbs(p) {
		slashed := filepath.ToSlash(p)
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed // C:/x becomes /C:/x
		}
		return sarifArtifact{URI: (&url.URL{Scheme: "file", Path: slashed}).String()}
	}
	clean := path.Clean(filepath.ToSlash(p))
	return sarifArtifact{URI: (&url.URL{Path: clean}).String(), URIBaseID: "%SRCROOT%"}
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
