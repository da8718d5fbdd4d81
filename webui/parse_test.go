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

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := verifyPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("verify the right password: %v %v", ok, err)
	}
	if ok, err := verifyPassword(h, "correct horsf"); ok || err != nil {
		t.Fatalf("verify a wrong password: %v %v", ok, err)
	}
	// Hashes of another tool in the same form verify (RFC 9106 test
	// parameters are out of our bounds, so use the argon2 CLI's form).
	p, err := parsePHC(h)
	if err != nil || p.String() != h {
		t.Fatalf("parse/format round trip: %v %q", err, p.String())
	}
	salt := "c29tZXNhbHRzb21lc2FsdA" // 16 bytes
	key := "AAAAAAAAAAAAAAAAAAAAAA"  // 16 bytes
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=65536,t=3,p=4$" + salt + "$" + key,
		"$argon2id$v=16$m=65536,t=3,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=3,p=4$" + salt + "$" + key, // 4 TiB
		"$argon2id$v=19$m=65536,t=1000000,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=3,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=0,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=3,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8,t=3,p=4$" + salt + "$" + key,
		"$argon2id$v=19$t=3,m=65536,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=3,p=4$$" + key,
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$",
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "=$" + key,
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=+65536,t=3,p=4$" + salt + "$" + key,
	} {
		if _, err := parsePHC(bad); err == nil {
			t.Errorf("parsePHC(%q) accepted", bad)
		}
		if ok, err := verifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("verifyPassword(%q): %v %v", bad, ok, err)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			return
		}
		if p.memory > maxArgonMemory || p.time > maxArgonTime || p.threads > maxArgonThreads || p.keyLen > maxArgonKeyLen {
			t.Fatalf("%q: parameters out of bounds accepted: %+v", s, p)
		}
		if q, err := parsePHC(p.String()); err != nil || q.String() != p.String() {
			t.Fatalf("%q: no round trip: %v", s, err)
		}
	})
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
