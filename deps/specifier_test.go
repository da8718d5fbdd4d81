package deps

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSpecifier(t *testing.T) {
	cases := []struct{ spec, want string }{
		{"", "(, )"},
		{" ", "(, )"},
		{">=2.0,<2.6", "[2.0, 2.6)"},
		{">= 2.0 , < 2.6", "[2.0, 2.6)"},
		{"~=2.5.0", "[2.5.0, 2.6.dev0)"},
		{"~=2.5", "[2.5, 3.dev0)"},
		{"~=2.5.0.post1", "[2.5.0.post1, 2.6.dev0)"},
		{"==2.5.*", "[2.5.dev0, 2.6.dev0)"},
		{"==1.9.*", "[1.9.dev0, 1.10.dev0)"},
		{"==99.*", "[99.dev0, 100.dev0)"},
		{"==1!2.*", "[1!2.dev0, 1!3.dev0)"},
		{"<=2.5.1", "(, 2.5.1+*]"},
		{"<=2.5.1+cpu", "(, 2.5.1+cpu]"},
		{"==2.5.1", "[2.5.1, 2.5.1+*]"},
		{">2.0,!=2.3,<3", "(2.0, 3)"},
		{"!=2.5.*", "(, )"},
		{">=1,>=2,<5,<4", "[2, 4)"},
		{">2,>=2", "(2, )"},
		{"<3,<=3", "(, 3)"},
		{"<=3,<3.0", "(, 3.0)"},
	}
	for _, c := range cases {
		s, err := ParseSpecifier(c.spec)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if got := s.String(); got != c.want {
			t.Errorf("%q: %s, want %s", c.spec, got, c.want)
		}
	}
	for _, bad := range []string{"===foo", "2.0", "~=2", "==2.0a1.*", ">=not-a-version", "==2.*.*", ">=2.0,", "<", strings.Repeat(">=1,", 300)} {
		if s, err := ParseSpecifier(bad); err == nil {
			t.Errorf("%q: no error, %s", bad, s)
		}
	}
}

func TestVersionSetEmpty(t *testing.T) {
	for spec, want := range map[string]bool{
		"<2.6,>=2.7": true, ">2,<2": true, ">=2,<=2": false, ">2,<=2": true, ">2.0,<=2": true,
		"==2.5.1,<2.5.1": true, ">2.5.1,<=2.5.1": true, ">=2.5.1+cpu,<=2.5.1": false,
		"": false, ">=2": false,
	} {
		s, err := ParseSpecifier(spec)
		if err != nil {
			t.Fatal(err)
		}
		if s.Empty() != want {
			t.Errorf("%q (%s): empty %v, want %v", spec, s, s.Empty(), want)
		}
	}
}

// specRecord is an OSV record of package "pkg" with the given ranges.
func specRecord(t *testing.T, id string, events ...string) *OSVRecord {
	t.Helper()
	var evs []map[string]string
	for _, e := range events {
		k, v, _ := strings.Cut(e, "=")
		evs = append(evs, map[string]string{k: v})
	}
	data, _ := json.Marshal(map[string]any{
		"id": id, "modified": "2025-01-01T00:00:00Z",
		"affected": []any{map[string]any{
			"package": map[string]string{"ecosystem": "PyPI", "name": "pkg"},
			"ranges":  []any{map[string]any{"type": "ECOSYSTEM", "events": evs}},
		}},
	})
	r, err := ParseOSVRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMatchSpec: a record matches an unpinned requirement only when
// every version the requirement allows is affected.
func TestMatchSpec(t *testing.T) {
	fixed := specRecord(t, "GHSA-fixed", "introduced=0", "fixed=2.6.0")
	malware := specRecord(t, "MAL-all", "introduced=0")
	last := specRecord(t, "GHSA-last", "introduced=0", "last_affected=2.5.1")
	windows := specRecord(t, "GHSA-windows", "introduced=1.0", "last_affected=1.4", "introduced=2.0", "fixed=2.1", "introduced=2.5", "limit=3.0")
	broken := specRecord(t, "GHSA-broken", "introduced=0", "fixed=not-a-version")
	withdrawn := specRecord(t, "GHSA-withdrawn", "introduced=0")
	withdrawn.Withdrawn = "2025-02-01T00:00:00Z"

	cases := []struct {
		rec  *OSVRecord
		spec string
		want bool
	}{
		{fixed, "<2.6", true},
		{fixed, "<2.6.0rc1", true},
		{fixed, "<=2.5.1", true},
		{fixed, "~=2.5.0", true},
		{fixed, "==2.5.*", true},
		{fixed, ">=2.0,<2.6", true},
		{fixed, "", false},
		{fixed, ">=2.0", false},
		{fixed, "<=2.6", false},
		{fixed, "<=2.6.0", false},
		{fixed, "<2.6.1", false},
		{fixed, "<2.6.0.post1", false},
		{fixed, "==2.6.*", false},
		{fixed, "~=2.5", false},
		{fixed, "<2.6,>=2.7", false}, // allows nothing: not "every version affected"
		{malware, "", true},
		{malware, ">=1", true},
		{malware, "<4,!=3.0", true},
		{last, "<=2.5.0", true},
		{last, "<=2.5.1+cpu", false}, // 2.5.1+cpu sorts after 2.5.1, the last affected
		{last, "<=2.5.1", false},
		{last, "<2.5.2", false},
		{windows, ">=1.0,<=1.3.9", true},
		{windows, ">=1.0,<=1.4", false}, // 1.4+cpu
		{windows, "==1.2.*", true},
		{windows, "<=1.4", false},
		{windows, ">=1.2,<1.5", false},
		{windows, "==1.4.*", false},
		{windows, ">=2.0,<2.1", true},
		{windows, "==2.0.*", false}, // 2.0.dev0 comes before 2.0
		{windows, ">=2.5,<3", true},
		{windows, ">=2.5", false},
		{broken, "", false},
		{broken, "<1", false},
		{withdrawn, "", false},
	}
	for _, c := range cases {
		set, err := ParseSpecifier(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		m, got := MatchSpec(c.rec, "PKG", set)
		if got != c.want {
			t.Errorf("%s %q (%s): match %v, want %v (intervals %v)", c.rec.ID, c.spec, set, got, c.want, intervalsOf(c.rec))
		}
		if got && c.rec == fixed && !slices.Equal(m.Fixed, []string{"2.6.0"}) {
			t.Errorf("%s %q: fixed %v", c.rec.ID, c.spec, m.Fixed)
		}
	}
	if _, ok := MatchSpec(malware, "other", VersionSet{}); ok {
		t.Error("a record matched another package")
	}
}

func intervalsOf(r *OSVRecord) []string {
	var out []string
	for _, a := range r.Affected {
		for _, rg := range a.Ranges {
			for _, iv := range rangeIntervals(rg.Events) {
				out = append(out, iv.String())
			}
		}
	}
	return out
}

// TestCheckUnpinned: the incidents through requirements that do not pin a
// version: torchtriton whatever its version, torch ranges that stop
// before 2.6.0; nothing for ranges that let the fix in.
func TestCheckUnpinned(t *testing.T) {
	db, err := OpenDB(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	req := strings.Join([]string{
		"torchtriton",                      // 1: malicious, any version
		"torch>=2.0,<2.6",                  // 2: every version vulnerable
		"torch~=2.5.0",                     // 3: every version vulnerable
		"torch==2.5.*",                     // 4: every version vulnerable
		"torch>=2.0",                       // 5: lets the fix in
		"torch~=2.5",                       // 6: lets the fix in
		"torch<2.6 ; python_version<'3.8'", // 7: markers do not change the versions
		"torch===2.5.1",                    // 8: arbitrary equality pins
		"requests>=2.0",                    // 9: no record
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(req), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := CheckPath(context.Background(), dir, db)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int][]string{}
	for _, f := range res.Findings {
		if f.Rule == "DEPS-MALICIOUS" || f.Rule == "DEPS-VULNERABLE" {
			got[f.Location.Line] = append(got[f.Location.Line], f.Rule+" "+f.Evidence)
		}
	}
	want := map[int][]string{
		1: {"DEPS-MALICIOUS MAL-0000-violet-torchtriton"},
		2: {"DEPS-VULNERABLE GHSA-53q9-r3pm-6pq6"},
		3: {"DEPS-VULNERABLE GHSA-53q9-r3pm-6pq6"},
		4: {"DEPS-VULNERABLE GHSA-53q9-r3pm-6pq6"},
		7: {"DEPS-VULNERABLE GHSA-53q9-r3pm-6pq6"},
		8: {"DEPS-VULNERABLE GHSA-53q9-r3pm-6pq6"},
	}
	for line := 1; line <= 9; line++ {
		if !slices.Equal(got[line], want[line]) {
			t.Errorf("line %d: %v, want %v", line, got[line], want[line])
		}
	}
	for _, f := range res.Findings {
		if f.Location.Line == 2 && f.Rule == "DEPS-VULNERABLE" && !strings.Contains(f.Message, "torch>=2.0,<2.6 (every version it allows) is affected") {
			t.Errorf("message %q does not say which versions", f.Message)
		}
		if f.Location.Line == 1 && f.Rule == "DEPS-MALICIOUS" && !strings.Contains(f.Message, "torchtriton (any version) is malicious") {
			t.Errorf("message %q", f.Message)
		}
	}
}

// TestOnlineRecords: an unpinned requirement asks the OSV API for the
// package without a version, once; the answer is cached.
func TestOnlineRecords(t *testing.T) {
	mal, err := os.ReadFile(filepath.Join(osvTestdata, "MAL-0000-violet-torchtriton.json"))
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
			queries++
			var q struct{ Queries []map[string]json.RawMessage }
			if err := json.NewDecoder(r.Body).Decode(&q); err != nil || len(q.Queries) != 1 {
				http.Error(w, "bad", 400)
				return
			}
			if _, has := q.Queries[0]["version"]; has {
				http.Error(w, "a version was sent", 400)
				return
			}
			if _, err := w.Write([]byte(`{"results":[{"vulns":[{"id":"MAL-0000-violet-torchtriton"}]}]}`)); err != nil {
				t.Error(err)
			}
		case r.URL.Path == "/v1/vulns/MAL-0000-violet-torchtriton":
			if _, err := w.Write(mal); err != nil {
				t.Error(err)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := &Online{Client: srv.Client(), BaseURL: srv.URL, CacheDir: t.TempDir()}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("torchtriton\nTorchTriton>=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		res, err := CheckPath(context.Background(), dir, o)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range res.Findings {
			if f.Rule == "DEPS-MALICIOUS" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("run %d: %d DEPS-MALICIOUS findings, want 2: %v", i, n, res.Findings)
		}
	}
	if queries != 1 {
		t.Errorf("%d queries, want 1 (one per name, then the cache)", queries)
	}
}

// FuzzParseSpecifier: any input is read or refused, never a panic; a set
// read is within itself, and an empty one matches no record.
func FuzzParseSpecifier(f *testing.F) {
	for _, s := range []string{"", ">=2.0,<2.6", "~=2.5.0", "==2.5.*", "<=2.5.1", "==1!2.*", ">2,<2", "!=1.*,<3", "===x"} {
		f.Add(s)
	}
	rec := &OSVRecord{ID: "MAL-x", Affected: []OSVAffected{{Package: OSVPackage{Ecosystem: EcosystemPyPI, Name: "p"},
		Ranges: []OSVRange{{Type: "ECOSYSTEM", Events: []OSVEvent{{Introduced: "0"}}}}}}}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSpecifier(spec)
		if err != nil {
			return
		}
		_ = s.String()
		if !s.Within(s.Lo, s.Hi) {
			t.Errorf("%q: %s is not within itself", spec, s)
		}
		if _, ok := MatchSpec(rec, "p", s); ok == s.Empty() {
			t.Errorf("%q: %s (empty %v) against a record of every version: match %v", spec, s, s.Empty(), ok)
		}
	})
}
