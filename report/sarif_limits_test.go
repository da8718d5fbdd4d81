package report

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/finding"
)

// manyFindings is a report of files with n findings in all: every
// hundredth is critical, every tenth high, every fifth medium, the rest low.
func manyFindings(n int) *Report {
	r := cleanReport()
	r.Files = nil
	for i := range n {
		f := File{Path: fmt.Sprintf("models/shard-%05d.pkl", i/10)}
		if len(r.Files) > 0 && r.Files[len(r.Files)-1].Path == f.Path {
			f = r.Files[len(r.Files)-1]
			r.Files = r.Files[:len(r.Files)-1]
		}
		sev := finding.Low
		switch {
		case i%100 == 0:
			sev = finding.Critical
		case i%10 == 0:
			sev = finding.High
		case i%5 == 0:
			sev = finding.Medium
		}
		x := finding.New(finding.PickleUnknownRef, finding.Location{Path: f.Path, Offset: int64(i)},
			"The pickle imports an unknown global.", fmt.Sprintf("mod%d.Cls", i)).WithSeverity(sev)
		f.Findings = append(f.Findings, x)
		r.Files = append(r.Files, f)
	}
	return r
}

// TestSARIFTooManyResults: over GitHub's 25,000 results, the most severe
// are kept and the log says how many were left out.
func TestSARIFTooManyResults(t *testing.T) {
	const n = githubMaxResults + 5_000
	r := manyFindings(n)
	want := map[string]int{}
	for _, x := range r.AllFindings() {
		want[x.Severity.String()]++
	}
	data := sarifBytes(t, r)
	checkSARIF(t, "30,000 findings", data)
	run := decodeSARIF(t, data).Runs[0]
	if len(run.Results) != githubMaxResults {
		t.Fatalf("%d results, want %d", len(run.Results), githubMaxResults)
	}
	got := map[string]int{}
	for _, res := range run.Results {
		got[res.Properties.Severity]++
	}
	for _, sev := range []string{"critical", "high", "medium"} {
		if got[sev] != want[sev] {
			t.Errorf("%d %s results of %d kept: the most severe must all be kept", got[sev], sev, want[sev])
		}
	}
	if got["low"] != githubMaxResults-want["critical"]-want["high"]-want["medium"] {
		t.Errorf("kept %v", got)
	}
	if !slices.IsSortedFunc(run.Results, func(a, b sarifDocResult) int {
		return strings.Compare(a.Locations[0].PhysicalLocation.ArtifactLocation.URI, b.Locations[0].PhysicalLocation.ArtifactLocation.URI)
	}) {
		t.Error("the kept results are not in the order of the JSON report")
	}
	inv := run.Invocations[0]
	if inv.ExitCode != ExitFindings || inv.Properties["omittedResults"] != float64(5_000) || inv.Properties["totalResults"] != float64(n) {
		t.Errorf("invocation: exit code %d, properties %v", inv.ExitCode, inv.Properties)
	}
	if len(inv.ToolExecutionNotifications) != 1 || inv.ToolExecutionNotifications[0].Level != "warning" ||
		!strings.Contains(inv.ToolExecutionNotifications[0].Message.Text, "the 5000 least severe (the most severe of them: low) are left out") {
		t.Errorf("notifications %+v", inv.ToolExecutionNotifications)
	}
}

// TestSARIFSizeBudget: findings crafted to defeat compression cannot push
// the file over GitHub's 10 MB: results are dropped, the least severe
// first, until it fits.
func TestSARIFSizeBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	r := cleanReport()
	r.Files = nil
	const n = 4_000
	for i := range n {
		p := "models/" + noise(60) + ".pkl"
		sev := finding.Low
		if i%2 == 0 {
			sev = finding.High
		}
		x := finding.New(finding.PickleUnknownRef, finding.Location{Path: p, Offset: -1}.Child(noise(1_000)),
			noise(3_000), noise(3_000)).WithSeverity(sev)
		r.Files = append(r.Files, File{Path: p, Findings: []finding.Finding{x}})
	}
	data := sarifBytes(t, r)
	if gz := gzipSize(data); gz > sarifSizeBudget {
		t.Fatalf("%d bytes compressed, over the budget of %d", gz, sarifSizeBudget)
	}
	checkSARIF(t, "high-entropy findings", data)
	run := decodeSARIF(t, data).Runs[0]
	if len(run.Results) == n || len(run.Results) < n/4 {
		t.Fatalf("%d results of %d kept", len(run.Results), n)
	}
	for _, res := range run.Results {
		if len(res.Message.Text) > maxTextBytes || len(res.Properties.Evidence) > maxTextBytes {
			t.Fatalf("a message of %d bytes, evidence of %d", len(res.Message.Text), len(res.Properties.Evidence))
		}
	}
	high := 0
	for _, res := range run.Results {
		if res.Properties.Severity == "high" {
			high++
		}
	}
	if high != min(n/2, len(run.Results)) {
		t.Errorf("%d high results among %d: the low ones must go first", high, len(run.Results))
	}
	if p := run.Invocations[0].Properties; p["omittedResults"] != float64(n-len(run.Results)) {
		t.Errorf("properties %v", p)
	}
}

// TestSARIFRuleLimits: a rule from outside the catalogue, with a huge
// title, too many ATLAS tags and a long id, is cut to GitHub's limits.
func TestSARIFRuleLimits(t *testing.T) {
	r := cleanReport()
	var atlas []string
	for i := range 30 {
		atlas = append(atlas, fmt.Sprintf("AML.T%04d", i))
	}
	id := "FUTURE-" + strings.Repeat("LONG-", 100)
	r.Files[0].Findings = []finding.Finding{{Rule: id, Severity: finding.Critical, Title: strings.Repeat("é", 3_000),
		ATLAS: atlas, Message: "m", Location: finding.Location{Path: r.Files[0].Path, Offset: -1}}}
	data := sarifBytes(t, r)
	checkSARIF(t, "rule at the limits", data)
	rules := decodeSARIF(t, data).Runs[0].Tool.Driver.Rules
	last := rules[len(rules)-1]
	if last.ID != id || utf8.RuneCountInString(last.Name) > githubMaxRuleName || len(last.Properties.Tags) != githubMaxTags ||
		!strings.HasSuffix(last.ShortDescription.Text, "é…") {
		t.Errorf("rule %.80s: name of %d, %d tags, short description %.20q", last.ID, len(last.Name), len(last.Properties.Tags), last.ShortDescription.Text)
	}
}

// TestSARIFRulesCap: results whose rules would take the run over GitHub's
// 25,000 rules are left out, and counted.
func TestSARIFRulesCap(t *testing.T) {
	r := cleanReport()
	f := &r.Files[0]
	f.Findings = []finding.Finding{finding.New(finding.PickleProcess, finding.Location{Path: f.Path, Offset: 4}, "m", "posix.system")}
	for i := range githubMaxRules {
		f.Findings = append(f.Findings, finding.Finding{Rule: fmt.Sprintf("FUTURE-%05d", i), Severity: finding.Low,
			Title: "t", Message: "m", Location: finding.Location{Path: f.Path, Offset: -1}})
	}
	data := sarifBytes(t, r)
	if p := githubProblems(data); len(p) != 0 {
		t.Fatal(p)
	}
	run := decodeSARIF(t, data).Runs[0]
	catalogue := len(finding.Rules())
	if len(run.Tool.Driver.Rules) != githubMaxRules || len(run.Results) != 1+githubMaxRules-catalogue {
		t.Errorf("%d rules, %d results", len(run.Tool.Driver.Rules), len(run.Results))
	}
	if run.Results[0].RuleID != finding.PickleProcess && run.Results[len(run.Results)-1].RuleID != finding.PickleProcess {
		t.Error("the critical result was not kept")
	}
	if got := run.Invocations[0].Properties["omittedResults"]; got != float64(catalogue) {
		t.Errorf("omittedResults %v, want %d", got, catalogue)
	}
}

// TestSARIFListCaps: notifications, targets and extensions are bounded.
func TestSARIFListCaps(t *testing.T) {
	r := cleanReport()
	r.Files, r.Targets = nil, nil
	for i := range maxNotifications + 500 {
		p := fmt.Sprintf("models/broken-%04d.npy", i)
		r.Files = append(r.Files, File{Path: p, Incomplete: true})
		r.Targets = append(r.Targets, p)
	}
	for i := range githubMaxExtensions + 50 {
		r.Tool.Analyzers = append(r.Tool.Analyzers, fmt.Sprintf("a%d/1", i))
	}
	data := sarifBytes(t, r)
	checkSARIF(t, "many incomplete files", data)
	var doc struct {
		Runs []struct {
			Tool struct {
				Extensions []any `json:"extensions"`
			} `json:"tool"`
		} `json:"runs"`
	}
	decodeInto(t, data, &doc)
	run := decodeSARIF(t, data).Runs[0]
	notes := run.Invocations[0].ToolExecutionNotifications
	if len(notes) != maxNotifications+1 || !strings.Contains(notes[maxNotifications].Message.Text, "500 more inputs") {
		t.Errorf("%d notifications, the last %+v", len(notes), notes[len(notes)-1])
	}
	props := run.Invocations[0].Properties
	if len(props["targets"].([]any)) != maxTargets || props["omittedTargets"] != float64(maxNotifications+500-maxTargets) {
		t.Errorf("%d targets listed, omittedTargets %v", len(props["targets"].([]any)), props["omittedTargets"])
	}
	if len(doc.Runs[0].Tool.Extensions) != githubMaxExtensions {
		t.Errorf("%d extensions", len(doc.Runs[0].Tool.Extensions))
	}
	if run.Invocations[0].ExitCode != ExitIncomplete {
		t.Errorf("exit code %d", run.Invocations[0].ExitCode)
	}
}

// TestSARIFRegions: every result has a region with a line: the finding's
// line in a text file, line 1 for a finding about a whole file.
func TestSARIFRegions(t *testing.T) {
	r := cleanReport()
	r.Files = []File{{Path: "requirements.txt", Findings: []finding.Finding{
		finding.New(finding.DepsTyposquat, finding.Location{Path: "requirements.txt", Offset: -1, Line: 12}, "torhc looks like torch", "torhc"),
		finding.New(finding.DepsUnpinned, finding.Location{Path: "requirements.txt", Offset: -1}, "m", ""),
	}}}
	data := sarifBytes(t, r)
	checkSARIF(t, "deps", data)
	lines := map[string]int{}
	for _, res := range decodeSARIF(t, data).Runs[0].Results {
		lines[res.RuleID] = res.Locations[0].PhysicalLocation.Region.StartLine
	}
	if lines[finding.DepsTyposquat] != 12 || lines[finding.DepsUnpinned] != 1 {
		t.Errorf("start lines %v", lines)
	}
}

// TestSARIFGateRules: each policy rule that denies is a rule of its own,
// GATE-DENY/<policy rule>, at the model's path.
func TestSARIFGateRules(t *testing.T) {
	const model = "models/release"
	deny := func(id, msg string) finding.Finding {
		return finding.New(finding.GateDeny, finding.Location{Path: model, Offset: -1}, msg, id)
	}
	r := cleanReport()
	r.Tool.Name = "violet gate"
	r.Files = []File{{Path: model, Findings: []finding.Finding{
		deny("SCAN-SEVERITY", "1 critical finding"),
		deny("SCAN-SEVERITY", "2 high findings"),
		deny("LICENSE", "the license is not allowed"),
		deny("team rule/é", "odd id"),
	}}}
	data := sarifBytes(t, r)
	checkSARIF(t, "gate", data)
	run := decodeSARIF(t, data).Runs[0]
	rules := map[string]int{}
	for i, rule := range run.Tool.Driver.Rules {
		rules[rule.ID] = i
	}
	var ids []string
	fingerprints := map[string]bool{}
	for _, res := range run.Results {
		ids = append(ids, res.RuleID)
		l := res.Locations[0].PhysicalLocation
		if l.ArtifactLocation.URI != model || l.Region == nil || l.Region.StartLine != 1 || res.Level != "error" {
			t.Errorf("%s: location %+v, level %s", res.RuleID, l, res.Level)
		}
		if !slices.Contains([]string{"SCAN-SEVERITY", "LICENSE", "team rule/é"}, res.Properties.PolicyRule) {
			t.Errorf("%s: policyRule %q, want the policy's id as it is", res.RuleID, res.Properties.PolicyRule)
		}
		fingerprints[res.PartialFingerprints["primaryLocationLineHash"]] = true
	}
	slices.Sort(ids)
	if want := []string{"GATE-DENY/LICENSE", "GATE-DENY/SCAN-SEVERITY", "GATE-DENY/SCAN-SEVERITY", "GATE-DENY/team-rule---"}; !slices.Equal(ids, want) {
		t.Errorf("rule ids %v, want %v", ids, want)
	}
	if len(fingerprints) != 4 {
		t.Errorf("%d distinct fingerprints for 4 denials", len(fingerprints))
	}
	d := run.Tool.Driver.Rules[rules["GATE-DENY/SCAN-SEVERITY"]]
	if d.ShortDescription.Text != "The release policy denies the model: SCAN-SEVERITY" || d.Properties.SecuritySeverity != "8.0" ||
		!strings.Contains(d.Help.Markdown, "#gate-deny)") {
		t.Errorf("GATE-DENY/SCAN-SEVERITY described as %+v", d)
	}
}

// TestSARIFVersion: a placeholder version is replaced by the build's, and
// semanticVersion follows the version.
func TestSARIFVersion(t *testing.T) {
	for _, tc := range []struct{ version, want, semantic string }{
		{"v1.2.3", "v1.2.3", "1.2.3"},
		{"1.2.3-rc.1", "1.2.3-rc.1", "1.2.3-rc.1"},
		{"dev", BuildVersion(), strings.TrimPrefix(BuildVersion(), "v")},
		{"", BuildVersion(), strings.TrimPrefix(BuildVersion(), "v")},
		{"(devel)", BuildVersion(), strings.TrimPrefix(BuildVersion(), "v")},
	} {
		r := cleanReport()
		r.Tool.Version = tc.version
		d := decodeSARIF(t, sarifBytes(t, r)).Runs[0].Tool.Driver
		if d.Version != tc.want || d.SemanticVersion != tc.semantic {
			t.Errorf("version %q: driver version %q, semanticVersion %q; want %q, %q", tc.version, d.Version, d.SemanticVersion, tc.want, tc.semantic)
		}
	}
	if v := BuildVersion(); v == "dev" || !semver.MatchString(strings.TrimPrefix(v, "v")) {
		t.Errorf("BuildVersion() = %q", v)
	}
}

func TestVersionOf(t *testing.T) {
	unstamped := func() string { return "v0.0.0-unstamped" }
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "v0.0.0-unstamped"},
		{"a release", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"stamped from git", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260115103000-0123456789ab+dirty"}},
			"v0.0.0-20260115103000-0123456789ab+dirty"},
		{"a revision", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(
			"vcs.revision", "6eae33608323491c754c1ce317b0f9b2b8f72bde", "vcs.time", "2026-01-15T10:30:00Z", "vcs.modified", "true")},
			"v0.0.0-20260115103000-6eae33608323+dirty"},
		{"a revision without time", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "abcdef1234567890")},
			"v0.0.0-abcdef123456"},
		{"an all-digit revision with a leading 0", &debug.BuildInfo{Settings: vcs("vcs.revision", "0123456789012345")}, "v0.0.0-unstamped"},
		{"no revision", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v0.0.0-unstamped"},
	} {
		if got := versionOf(tc.info, unstamped); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if v := unstampedVersion(); !strings.HasPrefix(v, "v0.0.0-unstamped+") || len(v) != len("v0.0.0-unstamped+")+12 {
		t.Errorf("unstampedVersion() = %q", v)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789", 10, "0123456789"},
		{"0123456789a", 10, "0123456…"},
		{"ééééé", 8, "éé…"}, // never half a character
		{"abc", 2, "…"},
	} {
		if got := clip(tc.s, tc.n); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
