package webui

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

func TestScanVerdict(t *testing.T) {
	incompleteFile := `{"schema_version":"1.1.0","fail_on":"high","files":[{"path":"a","size":1,"incomplete":true,"findings":[]}]}`
	for name, tc := range map[string]struct {
		report []byte
		want   string
	}{
		"clean":                    {scanReport(t, 0, ""), verdictPass},
		"below threshold":          {scanReport(t, finding.Medium, "m"), verdictPass},
		"at threshold":             {scanReport(t, finding.High, "m"), verdictFail},
		"critical":                 {scanReport(t, finding.Critical, "m"), verdictFail},
		"incomplete file":          {[]byte(incompleteFile), verdictIncomplete},
		"not JSON":                 {[]byte("{"), verdictIncomplete},
		"empty object":             {[]byte(`{}`), verdictIncomplete},
		"no threshold":             {[]byte(`{"schema_version":"1.1.0","files":[]}`), verdictIncomplete},
		"unknown threshold":        {[]byte(`{"schema_version":"1.1.0","fail_on":"none","files":[]}`), verdictIncomplete},
		"future schema":            {[]byte(`{"schema_version":"2.0.0","fail_on":"high","files":[]}`), verdictIncomplete},
		"unknown severity":         {[]byte(strings.Replace(string(scanReport(t, finding.Critical, "m")), `"critical"`, `"catastrophic"`, 1)), verdictIncomplete},
		"finding without severity": {[]byte(`{"schema_version":"1.1.0","fail_on":"high","files":[{"path":"a","size":1,"findings":[{"rule":"X"}]}]}`), verdictIncomplete},
		"a list, not a report":     {[]byte(`[]`), verdictIncomplete},
		"require models, no model": {[]byte(`{"schema_version":"1.1.0","fail_on":"high","require_models":true,"files":[]}`), verdictIncomplete},
	} {
		if got := scanVerdict(tc.report); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}

func TestVerifySummary(t *testing.T) {
	for in, want := range map[string]string{
		`{"verified": true}`:                           sigVerified,
		`{"verified": true, "modified": []}`:           sigVerified,
		`{"verified": false}`:                          sigFailed,
		`{"verified": true, "signature_error": "x"}`:   sigFailed,
		`{"verified": true, "missing": ["a"]}`:         sigFailed,
		`{"verified": true, "added": ["a"]}`:           sigFailed,
		`{"verified": true, "modified": ["a"]}`:        sigFailed,
		`{"verified": "true"}`:                         sigUnreadable,
		`{}`:                                           sigUnreadable,
		`[]`:                                           sigUnreadable,
		`{"verified": true, "modified": "not a list"}`: sigUnreadable,
	} {
		if got := verifySummary([]byte(in)).Status; got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestVerifySummarySigner: a verified report names its signer and the
// trusted signer a verify job matched; one that did not verify names none.
func TestVerifySummarySigner(t *testing.T) {
	s := verifySummary([]byte(`{"verified": true, "signer": "abc123", "trusted_signer": "release key"}`))
	if s.Signer != "abc123" || s.Trusted != "release key" {
		t.Errorf("verified: %+v", s)
	}
	s = verifySummary([]byte(`{"verified": false, "signer": "abc123", "trusted_signer": "release key", "modified": ["a"]}`))
	if s.Signer != "" || s.Trusted != "" {
		t.Errorf("not verified: %+v", s)
	}
}

func TestSummarizeBOM(t *testing.T) {
	var comps []map[string]string
	for range maxListed + 5 {
		comps = append(comps, map[string]string{"type": "library", "name": "x"})
	}
	b, _ := json.Marshal(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": comps})
	s := summarizeBOM(b)
	if !s.Readable || s.Total != maxListed+5 || len(s.Components) != maxListed {
		t.Errorf("CycloneDX: %+v", s)
	}
	s = summarizeBOM(scanReport(t, finding.High, "m"))
	if !s.Readable || s.Total != 1 || s.Findings["high"] != 1 {
		t.Errorf("report shape: %+v", s)
	}
	for _, bad := range []string{`{`, `{}`, `{"bomFormat":"SPDX"}`, `{"bomFormat":"CycloneDX","components":{}}`} {
		if s := summarizeBOM([]byte(bad)); s.Readable {
			t.Errorf("%s: readable", bad)
		}
	}
}

func FuzzEvidence(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1.1.0","fail_on":"high","files":[{"path":"a","size":1,"findings":[]}]}`))
	f.Add([]byte(`{"verified": true, "modified": []}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := scanVerdict(b)
		if v == verdictPass {
			// A pass needs a readable report that passes its own threshold.
			var r struct {
				FailOn finding.Severity `json:"fail_on"`
				Files  []struct {
					Incomplete bool              `json:"incomplete"`
					Findings   []finding.Finding `json:"findings"`
				} `json:"files"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("pass of an unreadable report: %v", err)
			}
			for _, f := range r.Files {
				if f.Incomplete {
					t.Fatal("pass with an incomplete file")
				}
				for _, x := range f.Findings {
					if x.Severity >= r.FailOn || x.Severity < finding.Info {
						t.Fatal("pass with a finding at the threshold")
					}
				}
			}
		}
		if s := verifySummary(b); s.Status == sigVerified && (s.Error != "" || len(s.Modified)+len(s.Added)+len(s.Missing) > 0) {
			t.Fatal("verified with errors")
		}
		summarizeBOM(b)
	})
}
