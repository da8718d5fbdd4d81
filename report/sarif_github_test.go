package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// sarifSchemaPath is a copy of the SARIF 2.1.0 JSON schema (oasis-tcs/sarif-spec
// at e0583813964ec43cea53b6b531b402866095ed1f, sarif-2.1/schema), kept here
// so that the tests need nothing beside the checkout.
const sarifSchemaPath = "testdata/sarif-schema-2.1.0.json"

// The part of a SARIF log GitHub code scanning reads or limits, as the
// validator sees it.
type (
	ghLog struct {
		Schema  string  `json:"$schema"`
		Version string  `json:"version"`
		Runs    []ghRun `json:"runs"`
	}
	ghRun struct {
		Tool struct {
			Driver     ghComponent   `json:"driver"`
			Extensions []ghComponent `json:"extensions"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful        *bool            `json:"executionSuccessful"`
			ToolExecutionNotifications []ghNotification `json:"toolExecutionNotifications"`
			Properties                 map[string]any   `json:"properties"`
		} `json:"invocations"`
		OriginalURIBaseIDs map[string]struct {
			URI string `json:"uri"`
		} `json:"originalUriBaseIds"`
		Results *[]ghResult `json:"results"`
	}
	ghComponent struct {
		Name            string `json:"name"`
		Version         string `json:"version"`
		SemanticVersion string `json:"semanticVersion"`
		Rules           []struct {
			ID               string    `json:"id"`
			Name             string    `json:"name"`
			ShortDescription ghMessage `json:"shortDescription"`
			FullDescription  ghMessage `json:"fullDescription"`
			Help             ghMessage `json:"help"`
			HelpURI          string    `json:"helpUri"`
			Default          struct {
				Level string `json:"level"`
			} `json:"defaultConfiguration"`
			Properties struct {
				Tags             []string `json:"tags"`
				SecuritySeverity string   `json:"security-severity"`
			} `json:"properties"`
		} `json:"rules"`
	}
	ghMessage struct {
		Text string `json:"text"`
	}
	ghNotification struct {
		Level     string       `json:"level"`
		Message   ghMessage    `json:"message"`
		Locations []ghLocation `json:"locations"`
	}
	ghResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           *int              `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             ghMessage         `json:"message"`
		Locations           []ghLocation      `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          struct {
			Severity string `json:"severity"`
		} `json:"properties"`
	}
	ghLocation struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI       string `json:"uri"`
				URIBaseID string `json:"uriBaseId"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine int `json:"startLine"`
			} `json:"region"`
		} `json:"physicalLocation"`
	}
)

// githubProblems lists what GitHub code scanning would reject or misread in
// a SARIF log: its documented limits, the properties it requires (present
// and not empty), and Violet's own promises (relative URIs against
// %SRCROOT%, a line on every result, a real version).
func githubProblems(data []byte) []string {
	var problems []string
	bad := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	if gz := gzipSize(data); gz > githubMaxGzipBytes {
		bad("%d bytes compressed, over GitHub's %d", gz, githubMaxGzipBytes)
	}
	var log ghLog
	if err := json.Unmarshal(data, &log); err != nil {
		return append(problems, "not JSON: "+err.Error())
	}
	if log.Schema == "" || log.Version != "2.1.0" {
		bad("$schema %q, version %q", log.Schema, log.Version)
	}
	if len(log.Runs) == 0 || len(log.Runs) > githubMaxRuns {
		bad("%d runs", len(log.Runs))
	}
	for ri, run := range log.Runs {
		d := run.Tool.Driver
		if d.Name == "" || d.Version == "" || d.Version == "dev" || d.Version == "(devel)" {
			bad("run %d: driver name %q, version %q", ri, d.Name, d.Version)
		}
		if d.SemanticVersion == "" || !semver.MatchString(d.SemanticVersion) || strings.TrimPrefix(d.Version, "v") != d.SemanticVersion {
			bad("run %d: semanticVersion %q for version %q", ri, d.SemanticVersion, d.Version)
		}
		if len(d.Rules) == 0 || len(d.Rules) > githubMaxRules {
			bad("run %d: %d rules", ri, len(d.Rules))
		}
		if len(run.Tool.Extensions) > githubMaxExtensions {
			bad("run %d: %d extensions", ri, len(run.Tool.Extensions))
		}
		ids := map[string]bool{}
		for _, rule := range d.Rules {
			switch {
			case rule.ID == "" || ids[rule.ID]:
				bad("rule id %q empty or repeated", rule.ID)
			case utf8.RuneCountInString(rule.Name) > githubMaxRuleName:
				bad("rule %s: name of %d characters", rule.ID, utf8.RuneCountInString(rule.Name))
			case rule.ShortDescription.Text == "" || utf8.RuneCountInString(rule.ShortDescription.Text) > githubMaxDescription,
				rule.FullDescription.Text == "" || utf8.RuneCountInString(rule.FullDescription.Text) > githubMaxDescription:
				bad("rule %s: short or full description empty or over %d characters", rule.ID, githubMaxDescription)
			case rule.Help.Text == "":
				bad("rule %s: no help text", rule.ID)
			case len(rule.Properties.Tags) > githubMaxTags:
				bad("rule %s: %d tags", rule.ID, len(rule.Properties.Tags))
			case !oneOf(rule.Default.Level, "note", "warning", "error"):
				bad("rule %s: default level %q", rule.ID, rule.Default.Level)
			}
			if score, err := strconv.ParseFloat(rule.Properties.SecuritySeverity, 64); err != nil || score < 0 || score > 10 {
				bad("rule %s: security-severity %q", rule.ID, rule.Properties.SecuritySeverity)
			}
			ids[rule.ID] = true
		}
		if base, ok := run.OriginalURIBaseIDs[srcRoot]; !ok {
			bad("run %d: originalUriBaseIds has no %s", ri, srcRoot)
		} else if base.URI != "" && (!strings.HasPrefix(base.URI, "file:///") || !strings.HasSuffix(base.URI, "/")) {
			bad("run %d: %s is %q", ri, srcRoot, base.URI)
		}
		location := func(what string, l ghLocation) {
			a := l.PhysicalLocation.ArtifactLocation
			u, err := url.Parse(a.URI)
			switch {
			case a.URI == "" || err != nil || u.IsAbs() || strings.HasPrefix(a.URI, "/"):
				bad("%s: URI %q is not a relative reference (%v)", what, a.URI, err)
			case a.URIBaseID != srcRoot:
				bad("%s: uriBaseId %q", what, a.URIBaseID)
			}
		}
		if len(run.Invocations) == 0 || run.Invocations[0].ExecutionSuccessful == nil {
			bad("run %d: no invocation with executionSuccessful", ri)
		}
		for _, inv := range run.Invocations {
			for _, n := range inv.ToolExecutionNotifications {
				if n.Message.Text == "" || !oneOf(n.Level, "none", "note", "warning", "error") {
					bad("notification %+v", n)
				}
				for _, l := range n.Locations {
					location("notification "+n.Message.Text, l)
				}
			}
		}
		if run.Results == nil {
			bad("run %d: no results array", ri)
			continue
		}
		results := *run.Results
		if len(results) > githubMaxResults {
			bad("run %d: %d results", ri, len(results))
		}
		for i, res := range results {
			what := fmt.Sprintf("result %d (%s)", i, res.RuleID)
			switch {
			case res.RuleID == "" || !ids[res.RuleID]:
				bad("%s: ruleId not among the rules", what)
			case res.RuleIndex == nil || *res.RuleIndex < 0 || *res.RuleIndex >= len(d.Rules) || d.Rules[*res.RuleIndex].ID != res.RuleID:
				bad("%s: ruleIndex does not point to its rule", what)
			case res.Message.Text == "":
				bad("%s: empty message", what)
			case !oneOf(res.Level, "note", "warning", "error"):
				bad("%s: level %q", what, res.Level)
			case len(res.Locations) == 0 || len(res.Locations) > githubMaxLocations:
				bad("%s: %d locations", what, len(res.Locations))
			case res.PartialFingerprints["primaryLocationLineHash"] == "" || res.PartialFingerprints[FingerprintKey] == "":
				bad("%s: partialFingerprints %v", what, res.PartialFingerprints)
			}
			for _, l := range res.Locations {
				location(what, l)
				if r := l.PhysicalLocation.Region; r == nil || r.StartLine < 1 {
					bad("%s: no region with a startLine", what)
				}
			}
		}
	}
	return problems
}

func oneOf(s string, values ...string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}

// checkSARIF fails the test when data, a SARIF log Violet wrote, breaks
// the SARIF 2.1.0 schema or GitHub code scanning's rules.
func checkSARIF(t *testing.T, name string, data []byte) {
	t.Helper()
	for _, p := range githubProblems(data) {
		t.Errorf("%s: %s", name, p)
	}
	schema, err := os.ReadFile(sarifSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, compileSchema(t, schema), name, data)
}

// sarifBytes writes r as SARIF.
func sarifBytes(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSARIFGitHubValidatorRejects makes sure the validator can fail: each
// mutation of a good log breaks one of GitHub's rules.
func TestSARIFGitHubValidatorRejects(t *testing.T) {
	good := sarifBytes(t, criticalReport())
	if p := githubProblems(good); len(p) != 0 {
		t.Fatalf("the critical report breaks GitHub's rules: %v", p)
	}
	for name, change := range map[string]func(run map[string]any){
		"no region": func(run map[string]any) { loc0(run)["physicalLocation"].(map[string]any)["region"] = nil },
		"absolute URI": func(run map[string]any) {
			loc0(run)["physicalLocation"].(map[string]any)["artifactLocation"] = map[string]any{"uri": "file:///x/y.pkl"}
		},
		"no uriBaseId": func(run map[string]any) {
			delete(loc0(run)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any), "uriBaseId")
		},
		"no fingerprints": func(run map[string]any) { result0(run)["partialFingerprints"] = map[string]any{} },
		"dev version":     func(run map[string]any) { driver(run)["version"] = "dev" },
		"no semanticVersion": func(run map[string]any) {
			delete(driver(run), "semanticVersion")
		},
		"too many results": func(run map[string]any) {
			results := run["results"].([]any)
			for len(results) <= githubMaxResults {
				results = append(results, results...)
			}
			run["results"] = results
		},
		"too many tags": func(run map[string]any) {
			rule := driver(run)["rules"].([]any)[0].(map[string]any)
			rule["properties"].(map[string]any)["tags"] = strings.Split(strings.Repeat("t,", githubMaxTags)+"t", ",")
		},
		"long description": func(run map[string]any) {
			rule := driver(run)["rules"].([]any)[0].(map[string]any)
			rule["shortDescription"] = map[string]any{"text": strings.Repeat("é", githubMaxDescription+1)}
		},
		"no SRCROOT": func(run map[string]any) { delete(run, "originalUriBaseIds") },
		"wrong ruleIndex": func(run map[string]any) {
			result0(run)["ruleIndex"] = 1 << 30
		},
	} {
		var log map[string]any
		if err := json.Unmarshal(good, &log); err != nil {
			t.Fatal(err)
		}
		change(log["runs"].([]any)[0].(map[string]any))
		data, err := json.Marshal(log)
		if err != nil {
			t.Fatal(err)
		}
		if len(githubProblems(data)) == 0 {
			t.Errorf("the validator accepts a log with %s", name)
		}
	}
}

func driver(run map[string]any) map[string]any {
	return run["tool"].(map[string]any)["driver"].(map[string]any)
}

func result0(run map[string]any) map[string]any {
	return run["results"].([]any)[0].(map[string]any)
}

func loc0(run map[string]any) map[string]any {
	return result0(run)["locations"].([]any)[0].(map[string]any)
}

// TestSARIFGoldenReportsFitGitHub: the logs of the golden reports pass the
// validator and the schema.
func TestSARIFGoldenReportsFitGitHub(t *testing.T) {
	for _, tc := range goldenReports {
		checkSARIF(t, "sarif_"+tc.name, sarifBytes(t, tc.report()))
		golden, err := os.ReadFile(filepath.Join("testdata", "sarif_"+tc.name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		checkSARIF(t, "testdata/sarif_"+tc.name+".golden", golden)
	}
}
