package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

// testRoot is the folder the tests have WriteSARIF believe Violet runs in,
// so that its output (%SRCROOT%, and absolute paths made relative to it)
// does not depend on where the checkout is.
const testRoot = "/home/runner/work/models"

func init() {
	workingDir = func() (string, error) { return testRoot, nil }
}

// sarifDoc is the part of a SARIF log the tests read.
type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name            string `json:"name"`
				Version         string `json:"version"`
				SemanticVersion string `json:"semanticVersion"`
				InformationURI  string `json:"informationUri"`
				Rules           []struct {
					ID               string `json:"id"`
					Name             string `json:"name"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					FullDescription struct {
						Text string `json:"text"`
					} `json:"fullDescription"`
					Help struct {
						Text     string `json:"text"`
						Markdown string `json:"markdown"`
					} `json:"help"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Properties struct {
						Tags             []string `json:"tags"`
						SecuritySeverity string   `json:"security-severity"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful        bool `json:"executionSuccessful"`
			ExitCode                   int  `json:"exitCode"`
			ToolExecutionNotifications []struct {
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"toolExecutionNotifications"`
			Properties map[string]any `json:"properties"`
		} `json:"invocations"`
		OriginalURIBaseIDs map[string]struct {
			URI string `json:"uri"`
		} `json:"originalUriBaseIds"`
		Results []sarifDocResult `json:"results"`
	} `json:"runs"`
}

// sarifDocResult is the part of a SARIF result the tests read.
type sarifDocResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex int    `json:"ruleIndex"`
	Level     string `json:"level"`
	Message   struct {
		Text string `json:"text"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI       string `json:"uri"`
				URIBaseID string `json:"uriBaseId"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine int `json:"startLine"`
			} `json:"region"`
		} `json:"physicalLocation"`
		LogicalLocations []struct {
			FullyQualifiedName string `json:"fullyQualifiedName"`
			Kind               string `json:"kind"`
		} `json:"logicalLocations"`
	} `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          struct {
		Severity     string   `json:"severity"`
		Member       []string `json:"member"`
		Offset       *int64   `json:"offset"`
		MemberOffset *int64   `json:"memberOffset"`
		Evidence     string   `json:"evidence"`
		PolicyRule   string   `json:"policyRule"`
	} `json:"properties"`
}

func sarifOf(t *testing.T, r *Report) sarifDoc {
	t.Helper()
	return decodeSARIF(t, sarifBytes(t, r))
}

// decodeSARIF reads a SARIF log of one run.
func decodeSARIF(t *testing.T, data []byte) sarifDoc {
	t.Helper()
	var doc sarifDoc
	decodeInto(t, data, &doc)
	if len(doc.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(doc.Runs))
	}
	return doc
}

func decodeInto(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func TestSARIFLevelsAndScores(t *testing.T) {
	for s, want := range map[finding.Severity][2]string{
		finding.Critical: {"error", "9.5"},
		finding.High:     {"error", "8.0"},
		finding.Medium:   {"warning", "5.5"},
		finding.Low:      {"note", "3.0"},
		finding.Info:     {"note", "0.0"},
	} {
		if got := [2]string{SARIFLevel(s), SecuritySeverity(s)}; got != want {
			t.Errorf("%s: level and security-severity %v, want %v", s, got, want)
		}
	}
}

// TestSARIFRules: the driver lists the whole catalogue within GitHub's limits.
func TestSARIFRules(t *testing.T) {
	run := sarifOf(t, cleanReport()).Runs[0]
	d := run.Tool.Driver
	if d.Name != "violet" || d.Version != "0.1.0" || d.SemanticVersion != "0.1.0" || d.InformationURI != InformationURI {
		t.Errorf("driver %q %q %q %q", d.Name, d.Version, d.SemanticVersion, d.InformationURI)
	}
	catalogue := finding.Rules()
	if len(d.Rules) != len(catalogue) {
		t.Fatalf("%d rules, the catalogue has %d", len(d.Rules), len(catalogue))
	}
	for i, rule := range catalogue {
		got := d.Rules[i]
		if got.ID != rule.ID {
			t.Errorf("rules[%d] is %s, want %s", i, got.ID, rule.ID)
			continue
		}
		if got.ShortDescription.Text != rule.Title || got.FullDescription.Text != rule.Description ||
			got.Help.Text != rule.Remediation || !strings.Contains(got.Help.Markdown, rule.Remediation) {
			t.Errorf("%s: descriptions or help differ from the catalogue", rule.ID)
		}
		if got.DefaultConfiguration.Level != SARIFLevel(rule.Severity) || got.Properties.SecuritySeverity != SecuritySeverity(rule.Severity) {
			t.Errorf("%s: level %s, security-severity %s", rule.ID, got.DefaultConfiguration.Level, got.Properties.SecuritySeverity)
		}
		if len(got.Properties.Tags) == 0 || got.Properties.Tags[0] != "security" ||
			strings.Join(got.Properties.Tags[1:], ",") != strings.Join(rule.ATLAS, ",") {
			t.Errorf("%s: tags %v", rule.ID, got.Properties.Tags)
		}
		// GitHub code scanning's limits.
		if len(got.Name) == 0 || len(got.Name) > 255 || len(got.ShortDescription.Text) > 1024 || len(got.FullDescription.Text) > 1024 {
			t.Errorf("%s: name or description out of GitHub's limits", rule.ID)
		}
	}
}

func TestSARIFResults(t *testing.T) {
	run := sarifOf(t, criticalReport()).Runs[0]
	if len(run.Results) != 6 {
		t.Fatalf("%d results, want 6", len(run.Results))
	}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("%s: ruleIndex %d points to %s", res.RuleID, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		if res.Message.Text == "" || len(res.Locations) != 1 {
			t.Errorf("%s: empty message or not one location", res.RuleID)
		}
		if fp := res.PartialFingerprints["primaryLocationLineHash"]; len(fp) < 18 || !strings.HasPrefix(res.PartialFingerprints[FingerprintKey], fp[:16]) {
			t.Errorf("%s: fingerprints %v", res.RuleID, res.PartialFingerprints)
		}
	}
	byRule := map[string]int{}
	for i, res := range run.Results {
		byRule[res.RuleID] = i
	}
	// In a member: a logical location, the chain in properties, line 1.
	proc := run.Results[byRule[finding.PickleProcess]]
	loc := proc.Locations[0]
	if loc.PhysicalLocation.ArtifactLocation.URI != "models/evil/pytorch_model.bin" || loc.PhysicalLocation.ArtifactLocation.URIBaseID != "%SRCROOT%" ||
		loc.PhysicalLocation.Region == nil || loc.PhysicalLocation.Region.StartLine != 1 {
		t.Errorf("PICKLE-PROCESS physical location %+v", loc.PhysicalLocation)
	}
	if len(loc.LogicalLocations) != 1 || loc.LogicalLocations[0].FullyQualifiedName != "models/evil/pytorch_model.bin!archive/data.pkl" || loc.LogicalLocations[0].Kind != "member" {
		t.Errorf("PICKLE-PROCESS logical locations %+v", loc.LogicalLocations)
	}
	if strings.Join(proc.Properties.Member, "!") != "archive/data.pkl" || proc.Properties.MemberOffset == nil || *proc.Properties.MemberOffset != 58 || proc.Properties.Offset != nil {
		t.Errorf("PICKLE-PROCESS properties %+v", proc.Properties)
	}
	if proc.Level != "error" {
		t.Errorf("PICKLE-PROCESS level %s", proc.Level)
	}
	// In the file itself: line 1 (a binary file has no lines), the byte
	// offset in the offset property, an escaped URI.
	stray := run.Results[byRule[finding.PickleUnknownRef]]
	pl := stray.Locations[0].PhysicalLocation
	if pl.ArtifactLocation.URI != "notes/my%20model.pkl" || pl.Region == nil || pl.Region.StartLine != 1 {
		t.Errorf("PICKLE-UNKNOWN-GLOBAL physical location %+v", pl)
	}
	if stray.Properties.Offset == nil || *stray.Properties.Offset != 2 || stray.Properties.MemberOffset != nil {
		t.Errorf("PICKLE-UNKNOWN-GLOBAL offsets %+v", stray.Properties)
	}
	if base := run.OriginalURIBaseIDs["%SRCROOT%"].URI; base != "file://"+testRoot+"/" {
		t.Errorf("%%SRCROOT%% is %q", base)
	}
	if strings.Contains(stray.Message.Text, "\x1b") {
		t.Errorf("the message keeps a control character: %q", stray.Message.Text)
	}
	inv := run.Invocations[0]
	if !inv.ExecutionSuccessful || inv.ExitCode != ExitFindings || len(inv.ToolExecutionNotifications) != 0 {
		t.Errorf("invocation %+v", inv)
	}
}

func TestSARIFIncomplete(t *testing.T) {
	r := incompleteReport()
	r.Files[0].Incomplete = true // an incomplete file without a finding that says why
	run := sarifOf(t, r).Runs[0]
	inv := run.Invocations[0]
	if !inv.ExecutionSuccessful || inv.ExitCode != ExitIncomplete {
		t.Errorf("invocation: executionSuccessful %v, exitCode %d", inv.ExecutionSuccessful, inv.ExitCode)
	}
	if len(inv.ToolExecutionNotifications) != 3 {
		t.Fatalf("%d notifications, want 3", len(inv.ToolExecutionNotifications))
	}
	for _, n := range inv.ToolExecutionNotifications {
		if n.Level != "error" || !strings.HasPrefix(n.Message.Text, "Could not fully analyze ") {
			t.Errorf("notification %+v", n)
		}
	}
	for _, res := range run.Results {
		// An absolute path is made relative to the folder Violet ran in.
		if a := res.Locations[0].PhysicalLocation.ArtifactLocation; res.RuleID == finding.FormatMalformed && (a.URI != "../../../../data/models/broken.npy" || a.URIBaseID != "%SRCROOT%") {
			t.Errorf("absolute path as %+v", a)
		}
	}
}

func TestSARIFUnknownRule(t *testing.T) {
	r := cleanReport()
	r.Files[0].Findings = []finding.Finding{{Rule: "FUTURE-RULE", Severity: finding.High, Title: "A rule from a newer catalogue",
		Message: "m", Location: finding.Location{Path: r.Files[0].Path, Offset: -1}}}
	run := sarifOf(t, r).Runs[0]
	rules := run.Tool.Driver.Rules
	last := rules[len(rules)-1]
	if last.ID != "FUTURE-RULE" || last.ShortDescription.Text == "" || last.Properties.SecuritySeverity != "8.0" {
		t.Errorf("the unknown rule is described as %+v", last)
	}
	if run.Results[0].RuleIndex != len(rules)-1 {
		t.Errorf("ruleIndex %d, want %d", run.Results[0].RuleIndex, len(rules)-1)
	}
	checkSARIF(t, "unknown rule", sarifBytes(t, r))
}

func TestFingerprint(t *testing.T) {
	base := finding.New(finding.PickleProcess, finding.Location{Path: "m.bin", Member: []string{"a/data.pkl"}, Offset: 58}, "msg", "posix.system('id')")
	same := base
	same.Location.Offset = 4096
	same.Message = "another wording"
	same.Severity = finding.Low
	if Fingerprint(base) != Fingerprint(same) {
		t.Error("the fingerprint depends on the offset, the message or the severity")
	}
	for name, change := range map[string]func(*finding.Finding){
		"rule":     func(f *finding.Finding) { f.Rule = finding.PickleCodeExec },
		"path":     func(f *finding.Finding) { f.Location.Path = "n.bin" },
		"member":   func(f *finding.Finding) { f.Location.Member = []string{"b/data.pkl"} },
		"nesting":  func(f *finding.Finding) { f.Location.Member = []string{"a", "data.pkl"} },
		"evidence": func(f *finding.Finding) { f.Evidence = "posix.system('ls')" },
	} {
		other := base
		other.Location.Member = append([]string(nil), base.Location.Member...)
		change(&other)
		if Fingerprint(other) == Fingerprint(base) {
			t.Errorf("the fingerprint ignores the %s", name)
		}
	}
}

// TestSARIFDuplicateFindings: the same problem twice in a file gives two
// results that GitHub keeps apart, each stable across scans.
func TestSARIFDuplicateFindings(t *testing.T) {
	r := cleanReport()
	loc := finding.Location{Path: r.Files[0].Path, Offset: -1}.Child("archive/data.pkl")
	r.Files[0].Findings = []finding.Finding{
		finding.New(finding.PickleProcess, loc.At(900), "m", "posix.system('id')"),
		finding.New(finding.PickleProcess, loc.At(100), "m", "posix.system('id')"),
	}
	run := sarifOf(t, r).Runs[0]
	a, b := run.Results[0].PartialFingerprints, run.Results[1].PartialFingerprints
	if a[FingerprintKey] != b[FingerprintKey] {
		t.Error("the same problem has two fingerprints")
	}
	if !strings.HasSuffix(a["primaryLocationLineHash"], ":1") || !strings.HasSuffix(b["primaryLocationLineHash"], ":2") {
		t.Errorf("primaryLocationLineHash %s and %s", a["primaryLocationLineHash"], b["primaryLocationLineHash"])
	}
	if *run.Results[0].Properties.MemberOffset != 100 {
		t.Error("results are not in location order")
	}
}

func TestArtifactURI(t *testing.T) {
	for path, want := range map[string]string{
		"models/a.bin":                   "models/a.bin",
		"./models//a.bin":                "models/a.bin",
		"my model#1?.pkl":                "my%20model%231%3F.pkl",
		"a:b/c.pkl":                      "./a:b/c.pkl",
		"/abs/model.pt":                  "../../../../abs/model.pt",
		testRoot + "/models/in/model.pt": "models/in/model.pt",
		"../up/model.pt":                 "../up/model.pt",
		"dir/ünïcode.ckpt":               "dir/%C3%BCn%C3%AFcode.ckpt",
		"":                               ".",
	} {
		if got := artifact(path, testRoot); got.URI != want || got.URIBaseID != "%SRCROOT%" {
			t.Errorf("artifact(%q) = %+v, want %q against %%SRCROOT%%", path, got, want)
		}
	}
	// Without a known folder, an absolute path stays an absolute URI.
	if got := artifact("/abs/model.pt", ""); got.URI != "file:///abs/model.pt" || got.URIBaseID != "" {
		t.Errorf("artifact without a root = %+v", got)
	}
}
