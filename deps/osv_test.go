package deps

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const osvTestdata = "testdata/osv"

// buildZip makes an all.zip-like archive of the testdata records.
func buildZip(t *testing.T, extra map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	ents, err := os.ReadDir(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(osvTestdata, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(e.Name())
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range extra {
		w, _ := zw.Create(name)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(ms []Match) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Record.ID)
	}
	return strings.Join(s, ",")
}

func TestOSVQuery(t *testing.T) {
	dir, err := OpenDB(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	zdb, err := OpenDB(buildZip(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []*DB{dir, zdb} {
		if db.Records() != 6 {
			t.Fatalf("records = %d", db.Records())
		}
		for _, tc := range []struct{ name, version, want string }{
			{"torch", "2.5.1", "GHSA-53q9-r3pm-6pq6"},
			{"torch", "1.0", "GHSA-53q9-r3pm-6pq6"},
			{"Torch", "2.6.0rc1", "GHSA-53q9-r3pm-6pq6"},
			{"torch", "2.5.1+cu121", "GHSA-53q9-r3pm-6pq6"},
			{"torch", "2.6.0", ""},
			{"torch", "2.6", ""},
			{"torch", "2.6.0+cpu", ""},
			{"torch", "2.6.0.post1", ""},
			{"torch", "2.7.1", ""},
			{"transformers", "4.37.2", "GHSA-37q5-v5qm-c9v8"},
			{"transformers", "4.37.2.post1", "GHSA-37q5-v5qm-c9v8"},
			{"transformers", "4.38.0rc1", "GHSA-37q5-v5qm-c9v8"},
			{"transformers", "4.38.0.dev0", "GHSA-37q5-v5qm-c9v8"},
			{"transformers", "4.38.0", ""},
			{"transformers", "4.38.0+local", ""},
			{"transformers", "4.38.0.0", ""},
			{"transformers", "0!4.38.0", ""},
			{"transformers", "1!0.1", ""},
			{"langchain", "0.0.131", "GHSA-2qmj-7962-cjq8,GHSA-fprp-p869-w6q2"},
			{"LangChain", "0.0.132", "GHSA-2qmj-7962-cjq8"},
			{"langchain", "0.0.246", "GHSA-2qmj-7962-cjq8"},
			{"langchain", "0.0.247", ""},
			{"ultralytics", "8.3.40", ""},
			{"ultralytics", "8.3.41", "MAL-0000-violet-ultralytics"},
			{"ultralytics", "8.3.42", "MAL-0000-violet-ultralytics"},
			{"ultralytics", "8.3.43", ""},
			{"ultralytics", "8.3.44", ""},
			{"ultralytics", "8.3.45", "MAL-0000-violet-ultralytics"},
			{"ultralytics", "8.3.46.0", "MAL-0000-violet-ultralytics"},
			{"ultralytics", "8.3.47", ""},
			{"torchtriton", "3.0.0", "MAL-0000-violet-torchtriton"},
			{"torch_triton", "3.0.0", ""},
			{"torchtriton", "2.0.0+0d7e753227", "MAL-0000-violet-torchtriton"},
			{"torchtriton", "", ""},
			{"numpy", "1.0", ""},
		} {
			if got := ids(db.Query(tc.name, tc.version)); got != tc.want {
				t.Errorf("Query(%s, %s) = %q, want %q", tc.name, tc.version, got, tc.want)
			}
		}
	}
	ms := dir.Query("langchain", "0.0.100")
	if len(ms) != 2 || ms[0].Fixed[0] != "0.0.247" || ms[1].Fixed[0] != "0.0.132" {
		t.Fatalf("fixed: %+v", ms)
	}
	if ms[0].Severity != SeverityCritical || ms[0].Score != 9.8 || ms[0].Malicious {
		t.Errorf("severity: %+v", ms[0])
	}
	// CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N scores 9.3 (FIRST's calculator).
	if m := dir.Query("torch", "2.0")[0]; m.Severity != SeverityCritical || m.Score != 9.3 {
		t.Errorf("torch (CVSS v4 9.3, GitHub CRITICAL): %+v", m)
	}
	if m := dir.Query("transformers", "4.0")[0]; m.Severity != SeverityLow {
		t.Errorf("transformers: %+v", m)
	}
	if m := dir.Query("ultralytics", "8.3.41")[0]; !m.Malicious || m.Severity != SeverityCritical || len(m.Fixed) != 0 {
		t.Errorf("ultralytics: %+v", m)
	}
}

func rec(id string, affected string, extra string) []byte {
	return []byte(`{"id":"` + id + `",` + extra + `"affected":[` + affected + `]}`)
}

func TestOSVRangeSemantics(t *testing.T) {
	pkg := `"package":{"ecosystem":"PyPI","name":"demo"}`
	for _, tc := range []struct {
		events   string
		affected []string
		not      []string
	}{
		{`{"introduced":"1.0"},{"fixed":"1.2"},{"introduced":"2.0"},{"fixed":"2.1"}`,
			[]string{"1.0", "1.1.9", "1.2rc1", "2.0", "2.0.5"}, []string{"0.9", "1.0rc1", "1.2", "1.5", "2.1", "3"}},
		{`{"introduced":"0"},{"last_affected":"1.5"}`,
			[]string{"0.0.1", "1.5", "1.5.0"}, []string{"1.5.post1", "1.5+local", "1.6"}},
		{`{"introduced":"1.0"},{"limit":"1.3"}`, []string{"1.2"}, []string{"1.3", "4"}},
		{`{"introduced":"not a version"},{"fixed":"1.0"}`, nil, []string{"0.5", "2"}},
	} {
		data := rec("PYSEC-0-1", `{`+pkg+`,"ranges":[{"type":"ECOSYSTEM","events":[`+tc.events+`]}]}`, "")
		r, err := ParseOSVRecord(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tc.affected {
			if _, ok := MatchRecord(r, "demo", v); !ok {
				t.Errorf("%s: %s not affected", tc.events, v)
			}
		}
		for _, v := range tc.not {
			if _, ok := MatchRecord(r, "demo", v); ok {
				t.Errorf("%s: %s affected", tc.events, v)
			}
		}
	}
	// GIT ranges are not evaluated; other ecosystems are ignored.
	r, _ := ParseOSVRecord(rec("OSV-1", `{`+pkg+`,"ranges":[{"type":"GIT","repo":"x","events":[{"introduced":"0"}]}]},{"package":{"ecosystem":"npm","name":"demo"},"versions":["1.0"]}`, ""))
	if _, ok := MatchRecord(r, "demo", "1.0"); ok {
		t.Error("GIT range or npm entry matched")
	}
}

func TestOSVWithdrawnAndErrors(t *testing.T) {
	dir := t.TempDir()
	pkg := `{"package":{"ecosystem":"PyPI","name":"demo"},"versions":["1.0"]}`
	if err := os.WriteFile(filepath.Join(dir, "a.json"), rec("GHSA-aaaa-bbbb-cccc", pkg, `"withdrawn":"2024-01-01T00:00:00Z",`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.json"), rec("PYSEC-2024-1", pkg, `"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N"}],`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	ms := db.Query("demo", "1.0")
	if ids(ms) != "PYSEC-2024-1" || ms[0].Severity != SeverityMedium || ms[0].Score != 4.3 {
		t.Fatalf("withdrawn not skipped or bad severity: %+v", ms)
	}

	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"id":"PYSEC-1-1","affected":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDB(dir); err == nil || !strings.Contains(err.Error(), "c.json") || !strings.Contains(err.Error(), "bad OSV JSON") {
		t.Errorf("bad JSON: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"id":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDB(dir); err == nil || !strings.Contains(err.Error(), "bad OSV record") {
		t.Errorf("no id: %v", err)
	}
	os.Remove(filepath.Join(dir, "c.json"))
	big := append([]byte(`{"id":"PYSEC-1-1","details":"`), bytes.Repeat([]byte("a"), MaxOSVRecordSize)...)
	big = append(big, `"}`...)
	if err := os.WriteFile(filepath.Join(dir, "d.json"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDB(dir); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("huge record: %v", err)
	}
	if _, err := OpenDB(buildZip(t, map[string][]byte{"big.json": big})); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("huge zip record: %v", err)
	}
	// A highly compressible entry under the record limit: zip bomb guard.
	bomb := append([]byte(`{"id":"PYSEC-1-1","details":"`), bytes.Repeat([]byte("a"), 3<<20)...)
	bomb = append(bomb, `"}`...)
	if _, err := OpenDB(buildZip(t, map[string][]byte{"bomb.json": bomb})); err == nil || !strings.Contains(err.Error(), "zip bomb") {
		t.Errorf("zip bomb: %v", err)
	}
	if _, err := OpenDB(buildZip(t, map[string][]byte{"x.json": []byte("[]")})); err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("bad zip record: %v", err)
	}
	notZip := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(notZip, []byte("PK nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDB(notZip); err == nil || !strings.Contains(err.Error(), "not a zip") {
		t.Errorf("not a zip: %v", err)
	}
	if _, err := OpenDB(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path accepted")
	}
}

func TestCVSS3(t *testing.T) {
	for v, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":     9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H":     10.0,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N":     4.3,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H":     7.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N":     6.1,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N":     0,
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N":     1.6,
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/E:P": 9.9,
	} {
		got, err := CVSS3BaseScore(v)
		if err != nil || got != want {
			t.Errorf("%s = %v %v, want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"", "CVSS:2.0/AV:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"} {
		if _, err := CVSS3BaseScore(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestOnline(t *testing.T) {
	torch, _ := os.ReadFile(filepath.Join(osvTestdata, "GHSA-53q9-r3pm-6pq6.json"))
	var batches, gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
			batches.Add(1)
			var q struct {
				Queries []struct {
					Package struct{ Name, Ecosystem string }
					Version string
				}
			}
			if err := json.NewDecoder(r.Body).Decode(&q); err != nil || len(q.Queries) != 1 || q.Queries[0].Package.Ecosystem != "PyPI" {
				http.Error(w, "bad", 400)
				return
			}
			if q.Queries[0].Package.Name == "torch" && q.Queries[0].Version == "2.5.1" {
				if _, err := w.Write([]byte(`{"results":[{"vulns":[{"id":"GHSA-53q9-r3pm-6pq6","modified":"2025-04-18T00:00:00Z"}]}]}`)); err != nil {
					t.Error(err)
				}
				return
			}
			if _, err := w.Write([]byte(`{"results":[{}]}`)); err != nil {
				t.Error(err)
			}
		case r.Method == http.MethodGet && r.URL.Path == "/v1/vulns/GHSA-53q9-r3pm-6pq6":
			gets.Add(1)
			if _, err := w.Write(torch); err != nil {
				t.Error(err)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	now := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	o := &Online{Client: srv.Client(), BaseURL: srv.URL, CacheDir: t.TempDir(), Now: func() time.Time { return now }}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		ms, err := o.Query(ctx, "Torch", "2.5.1")
		if err != nil {
			t.Fatal(err)
		}
		if ids(ms) != "GHSA-53q9-r3pm-6pq6" || ms[0].Fixed[0] != "2.6.0" || ms[0].Severity != SeverityCritical {
			t.Fatalf("online: %+v", ms)
		}
	}
	if batches.Load() != 1 || gets.Load() != 1 {
		t.Errorf("second query not cached: %d batches, %d gets", batches.Load(), gets.Load())
	}
	now = now.Add(25 * time.Hour)
	if _, err := o.Query(ctx, "torch", "2.5.1"); err != nil || batches.Load() != 2 {
		t.Errorf("expired cache not refreshed: %v %d", err, batches.Load())
	}
	ms, err := o.Query(ctx, "torch", "2.6.0")
	if err != nil || len(ms) != 0 {
		t.Errorf("clean: %v %v", ms, err)
	}
	bad := &Online{Client: srv.Client(), BaseURL: srv.URL + "/nope"}
	if _, err := bad.Query(ctx, "torch", "2.5.1"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("error status: %v", err)
	}
}

func FuzzParseOSVRecord(f *testing.F) {
	ents, _ := os.ReadDir(osvTestdata)
	for _, e := range ents {
		if data, err := os.ReadFile(filepath.Join(osvTestdata, e.Name())); err == nil && strings.HasSuffix(e.Name(), ".json") {
			f.Add(data, "1.0")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, version string) {
		r, err := ParseOSVRecord(data)
		if err != nil {
			return
		}
		for _, a := range r.Affected {
			MatchRecord(r, a.Package.Name, version)
		}
		recordSeverity(r)
	})
}

func TestMatchAccessors(t *testing.T) {
	db, err := OpenDB(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := db.QueryContext(context.Background(), "torch", "2.5.1")
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	m := ms[0]
	if m.ID() != "GHSA-53q9-r3pm-6pq6" || m.Summary() == "" || len(m.Aliases()) != 2 {
		t.Errorf("%s %q %v", m.ID(), m.Summary(), m.Aliases())
	}
	var zero Match
	if zero.ID() != "" || zero.Summary() != "" || zero.Aliases() != nil {
		t.Error("zero Match")
	}
}
