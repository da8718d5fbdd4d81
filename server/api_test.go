package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/store"
)

// TestRootDigestMatchesSign: the digest the server binds a version to is
// the one violet hash computes, path-component order included.
func TestRootDigestMatchesSign(t *testing.T) {
	dir, files := modelDir(t)
	for name, data := range map[string]string{"a.b": "1", "a/b": "2", "a-c": "3"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, fileOf(name, []byte(data)))
	}
	m, err := sign.Hash(context.Background(), dir, sign.DefaultSerialization(), sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256:" + hex.EncodeToString(m.RootDigest()); RootDigest(files) != want {
		t.Errorf("RootDigest = %s, violet hash %s", RootDigest(files), want)
	}
}

func fileOf(name string, data []byte) store.File {
	return store.File{Path: name, SHA256: sha256Hex(data), Size: int64(len(data))}
}

// TestEvidence: a scan report is stored once, bound to the version's
// files, and its findings are listed.
func TestEvidence(t *testing.T) {
	e := newEnv(t, "", Options{})
	dir, files := modelDir(t)
	e.putModel(e.admin, "m", files)
	vp := versionPath("m", files)
	rep := scanJSON(t, dir)

	var first, again evidenceJSON
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", e.admin, rep)).decode(t, &first)
	e.must(http.StatusOK, e.do("POST", vp+"/evidence?kind=scan", e.admin, rep)).decode(t, &again)
	if first.ID != again.ID || first.Findings == nil || *first.Findings == 0 {
		t.Errorf("first %+v, again %+v", first, again)
	}
	var list pageJSON[evidenceJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/evidence", e.admin, nil)).decode(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d evidence records, want 1", len(list.Items))
	}
	var fs pageJSON[findingJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/findings", e.admin, nil)).decode(t, &fs)
	if len(fs.Items) == 0 || fs.Items[0].Severity != "critical" || !strings.HasPrefix(fs.Items[0].Location, "model.pkl") {
		t.Errorf("findings: %+v", fs.Items)
	}

	// A report about other bytes, fewer files or more files is refused.
	var r report.Report
	if err := json.Unmarshal(rep, &r); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(r *report.Report)) []byte {
		var c report.Report
		if err := json.Unmarshal(rep, &c); err != nil {
			t.Fatal(err)
		}
		f(&c)
		var b bytes.Buffer
		if err := report.WriteJSON(&b, &c); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for name, bad := range map[string][]byte{
		"other bytes": mutate(func(r *report.Report) { r.Files[0].SHA256 = strings.Repeat("0", 64) }),
		"fewer files": mutate(func(r *report.Report) { r.Files = r.Files[:1] }),
		"more files": mutate(func(r *report.Report) {
			r.Files = append(r.Files, report.File{Path: filepath.Join(dir, "evil.pkl"), Findings: []finding.Finding{}})
		}),
		"outside the target": mutate(func(r *report.Report) { r.Files[0].Path = "/etc/passwd" }),
	} {
		if got := e.do("POST", vp+"/evidence?kind=scan", e.admin, bad); got.status != http.StatusUnprocessableEntity || got.code() != "evidence_mismatch" {
			t.Errorf("%s: %d %s", name, got.status, got.body)
		}
	}
	if got := e.do("POST", vp+"/evidence?kind=scan", e.admin, []byte(`{"tool":{"name":"other"},"targets":[]}`)); got.code() != "invalid_report" {
		t.Errorf("not a violet report: %d %s", got.status, got.body)
	}
	// A finding the store could not record: the report is not stored
	// either (it would read as a scan without that finding).
	badRule := mutate(func(r *report.Report) {
		r.Files[0].Findings = append(r.Files[0].Findings, finding.Finding{Rule: "<script>", Severity: finding.Critical})
	})
	if got := e.do("POST", vp+"/evidence?kind=scan", e.admin, badRule); got.status != 422 || got.code() != "invalid_report" {
		t.Errorf("a rule that is no rule id: %d %s", got.status, got.body)
	}
	e.must(200, e.do("GET", vp+"/evidence", e.admin, nil)).decode(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("a refused report was stored: %d records", len(list.Items))
	}
	if got := e.do("POST", vp+"/evidence?kind=sbom", e.admin, rep); got.status != 400 || got.code() != "invalid_parameter" {
		t.Errorf("unknown kind: %d %s", got.status, got.body)
	}
	// Other kinds are stored as they are.
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=gate", e.admin, []byte(`{"decision":"allow"}`)))

	// A version's digest is bound to its files.
	other := append([]store.File{}, files...)
	other[0].SHA256 = strings.Repeat("1", 64)
	if got := e.do("PUT", vp, e.admin, map[string]any{"files": other}); got.status != 422 || got.code() != "digest_mismatch" {
		t.Errorf("a digest of other files: %d %s", got.status, got.body)
	}
	sized := append([]store.File{}, files...)
	sized[0].Size++
	if got := e.do("PUT", vp, e.admin, map[string]any{"files": sized}); got.status != 409 || got.code() != "conflict" {
		t.Errorf("the same digest with other sizes: %d %s", got.status, got.body)
	}
}

// TestTriage: a security token accepts a risk with a reason and an
// expiry; the finding's state and history show it.
func TestTriage(t *testing.T) {
	e := newEnv(t, "", Options{})
	team := e.team("ml")
	eng, sec := e.token(team, "eng", store.RoleMLEngineer), e.token(team, "sec", store.RoleSecurity)
	dir, files := modelDir(t)
	e.putModel(eng, "m", files)
	vp := versionPath("m", files)
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", eng, scanJSON(t, dir)))
	var fs pageJSON[findingJSON]
	e.must(200, e.do("GET", vp+"/findings", eng, nil)).decode(t, &fs)
	fp := fmt.Sprintf("%s/findings/%d", vp, fs.Items[0].ID)

	if got := e.do("PUT", fp+"/state", sec, map[string]string{"state": "accepted-risk"}); got.status != 422 {
		t.Errorf("accepting a risk without a reason: %d %s", got.status, got.body)
	}
	e.must(403, e.do("PUT", fp+"/state", eng, map[string]string{"state": "false-positive", "reason": "mine"}))
	exp := time.Now().Add(30 * 24 * time.Hour).UTC()
	e.must(201, e.do("PUT", fp+"/state", sec, map[string]any{"state": "accepted-risk", "reason": "sandboxed", "expires_at": exp}))
	e.must(200, e.do("GET", vp+"/findings", eng, nil)).decode(t, &fs)
	if fs.Items[0].State != "accepted-risk" || fs.Items[0].Last.SetBy == "" {
		t.Errorf("after acceptance: %+v", fs.Items[0])
	}
	var hist struct{ Items []stateJSON }
	e.must(200, e.do("GET", fp+"/history", eng, nil)).decode(t, &hist)
	if len(hist.Items) != 1 || hist.Items[0].Reason != "sandboxed" {
		t.Errorf("history: %+v", hist.Items)
	}
	e.must(404, e.do("PUT", vp+"/findings/999999/state", sec, map[string]string{"state": "fixed"}))
	e.must(404, e.do("PUT", vp+"/findings/x/state", sec, map[string]string{"state": "fixed"}))
}

// TestHostileInput: bounded bodies, malformed JSON, a compression bomb as
// a BOM, many findings, injection payloads stored verbatim, traversal in
// names.
func TestHostileInput(t *testing.T) {
	e := newEnv(t, "", Options{})
	dir, files := modelDir(t)
	e.putModel(e.admin, "m", files)
	vp := versionPath("m", files)

	t.Run("oversized", func(t *testing.T) {
		big := bytes.Repeat([]byte(" "), store.MaxEvidenceSize+1)
		if got := e.do("POST", vp+"/evidence?kind=gate", e.admin, big); got.status != 413 || got.code() != "too_large" {
			t.Errorf("declared length: %d %s", got.status, got.body)
		}
		// Without a length (chunked): cut while reading.
		if got := e.do("POST", vp+"/evidence?kind=gate", e.admin, io.MultiReader(bytes.NewReader(big))); got.status != 413 {
			t.Errorf("chunked: %d %s", got.status, got.body)
		}
		if got := e.do("POST", "/api/v1/teams", e.admin, io.MultiReader(bytes.NewReader(big))); got.status != 413 {
			t.Errorf("a JSON body: %d %s", got.status, got.body)
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		for _, body := range []string{`{"name":`, `{"name":"x","extra":1}`, `{"name":"x"}{}`, `[]`, "\x1f\x8b"} {
			if got := e.do("POST", "/api/v1/teams", e.admin, []byte(body)); got.status != 400 || got.code() != "invalid_json" {
				t.Errorf("%q: %d %s", body, got.status, got.body)
			}
		}
		if got := e.do("POST", vp+"/evidence?kind=deps", e.admin, []byte(`{"a":`)); got.status != 400 {
			t.Errorf("a report that is not JSON: %d %s", got.status, got.body)
		}
	})
	t.Run("gzip bomb as a BOM", func(t *testing.T) {
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		if _, err := w.Write(bytes.Repeat([]byte{0}, 200<<20)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := e.do("PUT", "/api/v1/bom", e.admin, map[string]any{"projectName": "bomb", "bom": base64.StdEncoding.EncodeToString(z.Bytes())})
		if got.status/100 != 4 || time.Since(start) > 5*time.Second {
			t.Errorf("%d after %s: %s", got.status, time.Since(start), got.body)
		}
		if got := e.do("PUT", "/api/v1/bom", e.admin, z.Bytes()); got.status != 400 {
			t.Errorf("the bomb as the body: %d %s", got.status, got.body)
		}
		if got := e.do("POST", vp+"/evidence?kind=bom", e.admin, z.Bytes()); got.status != 400 {
			t.Errorf("the bomb as evidence: %d %s", got.status, got.body)
		}
	})
	t.Run("10000 findings", func(t *testing.T) {
		var r report.Report
		if err := json.Unmarshal(scanJSON(t, dir), &r); err != nil {
			t.Fatal(err)
		}
		for i := range r.Files {
			if filepath.Base(r.Files[i].Path) == "model.pkl" {
				for j := range 10_000 {
					r.Files[i].Findings = append(r.Files[i].Findings, finding.Finding{Rule: "PICKLE-GLOBAL", Severity: finding.Info,
						Message: fmt.Sprintf("global %d", j), Location: finding.Location{Path: r.Files[i].Path, Offset: int64(j)}})
				}
			}
		}
		var b bytes.Buffer
		if err := report.WriteJSON(&b, &r); err != nil {
			t.Fatal(err)
		}
		var ev evidenceJSON
		e.must(201, e.do("POST", vp+"/evidence?kind=scan", e.admin, b.Bytes())).decode(t, &ev)
		if *ev.Findings < 10_000 {
			t.Errorf("%d findings recorded", *ev.Findings)
		}
		var page pageJSON[findingJSON]
		e.must(200, e.do("GET", vp+"/findings?limit=500", e.admin, nil)).decode(t, &page)
		if len(page.Items) != 500 || page.NextCursor == "" {
			t.Errorf("a page of %d, next %q", len(page.Items), page.NextCursor)
		}
	})
	t.Run("injection payloads", func(t *testing.T) {
		payload := `x'); DROP TABLE teams;-- <script>alert(1)</script> " OR 1=1`
		e.must(201, e.do("POST", "/api/v1/teams", e.admin, map[string]string{"name": payload}))
		got := e.must(200, e.do("GET", "/api/v1/teams", e.admin, nil))
		if got.contains("<script>") || !got.contains(`\u003cscript\u003e`) {
			t.Errorf("not JSON-escaped: %s", got.body)
		}
		var teams pageJSON[teamJSON]
		got.decode(t, &teams)
		found := false
		for _, tm := range teams.Items {
			found = found || tm.Name == payload
		}
		if !found {
			t.Errorf("the name was not stored verbatim: %s", got.body)
		}
		var fs pageJSON[findingJSON]
		e.must(200, e.do("GET", vp+"/findings?limit=1", e.admin, nil)).decode(t, &fs)
		fp := fmt.Sprintf("%s/findings/%d", vp, fs.Items[0].ID)
		e.must(201, e.do("PUT", fp+"/state", e.admin, map[string]string{"state": "false-positive", "reason": payload}))
		var hist struct{ Items []stateJSON }
		e.must(200, e.do("GET", fp+"/history", e.admin, nil)).decode(t, &hist)
		if hist.Items[len(hist.Items)-1].Reason != payload {
			t.Errorf("reason %q", hist.Items[len(hist.Items)-1].Reason)
		}
	})
	t.Run("traversal in names", func(t *testing.T) {
		for _, name := range []string{"../etc", "..", "a/b", `a\b`, ".hidden", "a..b", "", "x\x00y", strings.Repeat("a", 200)} {
			if got := e.do("POST", "/api/v1/models", e.admin, map[string]string{"name": name, "source_kind": "path", "source_ref": "x"}); got.status != 422 {
				t.Errorf("model name %q: %d %s", name, got.status, got.body)
			}
			if got := e.do("PUT", "/api/v1/bom", e.admin, map[string]any{"projectName": name, "bom": bomOf("x", files)}); got.status != 422 {
				t.Errorf("project name %q: %d %s", name, got.status, got.body)
			}
		}
		if got := e.do("GET", "/api/v1/models/..%2F..%2Fetc%2Fpasswd", e.admin, nil); got.status != 404 {
			t.Errorf("an encoded traversal: %d %s", got.status, got.body)
		}
	})
	t.Run("paging", func(t *testing.T) {
		for i := range 4 {
			e.must(201, e.do("POST", "/api/v1/models", e.admin, map[string]string{"name": fmt.Sprintf("p%d", i), "source_kind": "path", "source_ref": "x"}))
		}
		var names []string
		cursor := ""
		for pages := 0; ; pages++ {
			var p pageJSON[modelJSON]
			e.must(200, e.do("GET", "/api/v1/models?limit=2&cursor="+cursor, e.admin, nil)).decode(t, &p)
			for _, m := range p.Items {
				names = append(names, m.Name)
			}
			if cursor = p.NextCursor; cursor == "" || pages > 10 {
				break
			}
		}
		if len(names) != 5 {
			t.Errorf("paged through %v", names)
		}
		for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=%%%", "cursor=bm9wZQ"} {
			if got := e.do("GET", "/api/v1/models?"+q, e.admin, nil); got.status != 400 || got.code() != "invalid_parameter" {
				t.Errorf("%s: %d %s", q, got.status, got.body)
			}
		}
	})
}

// TestRateLimits: failed authentications per address, uploads per token.
func TestRateLimits(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := newEnv(t, "", Options{AuthFailures: RateLimit{Burst: 3, Every: time.Minute}, Uploads: RateLimit{Burst: 2, Every: time.Minute}, Now: clock})
	for i := range 3 {
		if got := e.do("GET", "/api/v1/models", store.TokenPrefix+"guess", nil); got.status != 401 {
			t.Fatalf("failure %d: %d", i, got.status)
		}
	}
	if got := e.do("GET", "/api/v1/models", store.TokenPrefix+"guess", nil); got.status != 429 || got.code() != "rate_limited" {
		t.Errorf("past the limit: %d %s", got.status, got.body)
	}
	if got := e.do("GET", "/api/v1/models", e.admin, nil); got.status != 429 {
		t.Errorf("a good token from the blocked address: %d", got.status)
	}
	now = now.Add(time.Minute)
	e.must(200, e.do("GET", "/api/v1/models", e.admin, nil))

	_, files := modelDir(t)
	e.putModel(e.admin, "m", files)
	vp := versionPath("m", files)
	e.must(201, e.do("POST", vp+"/evidence?kind=gate", e.admin, []byte(`{"n":1}`)))
	e.must(201, e.do("POST", vp+"/evidence?kind=gate", e.admin, []byte(`{"n":2}`)))
	if got := e.do("POST", vp+"/evidence?kind=gate", e.admin, []byte(`{"n":3}`)); got.status != 429 {
		t.Errorf("third upload: %d %s", got.status, got.body)
	}
}

// TestBOM: PUT /api/v1/bom in Dependency-Track's shape creates the model
// and the version and stores the BOM once.
func TestBOM(t *testing.T) {
	e := newEnv(t, "", Options{})
	_, files := modelDir(t)
	raw, _ := json.Marshal(bomOf("m", files))
	var res struct {
		Token   string
		Version versionJSON
	}
	e.must(201, e.do("PUT", "/api/v1/bom", e.admin, map[string]any{"projectName": "m", "projectVersion": "1.0", "autoCreate": true,
		"bom": base64.StdEncoding.EncodeToString(raw)})).decode(t, &res)
	if res.Version.Digest != RootDigest(files) || res.Token == "" {
		t.Errorf("%+v", res)
	}
	// The same BOM as a JSON object: the same record.
	e.must(200, e.do("PUT", "/api/v1/bom", e.admin, map[string]any{"projectName": "m", "projectVersion": "1.0", "bom": json.RawMessage(raw)}))
	e.must(200, e.do("GET", "/api/v1/models/m", e.admin, nil))
	if got := e.do("PUT", "/api/v1/bom", e.admin, map[string]any{"projectName": "m", "projectVersion": "sha256:" + strings.Repeat("0", 64), "bom": json.RawMessage(raw)}); got.code() != "digest_mismatch" {
		t.Errorf("another digest: %d %s", got.status, got.body)
	}
	if got := e.do("PUT", "/api/v1/bom", e.admin, map[string]any{"projectName": "new", "autoCreate": false, "bom": json.RawMessage(raw)}); got.status != 404 {
		t.Errorf("autoCreate false: %d %s", got.status, got.body)
	}
	// A BOM of other files is not evidence of this version.
	other, _ := json.Marshal(bomOf("m", files[:1]))
	if got := e.do("POST", versionPath("m", files)+"/evidence?kind=bom", e.admin, other); got.code() != "evidence_mismatch" {
		t.Errorf("a BOM of other files: %d %s", got.status, got.body)
	}
}

// TestHealth: /healthz while the process runs, /readyz while the database
// answers.
func TestHealth(t *testing.T) {
	e := newEnv(t, "", Options{})
	e.must(200, e.do("GET", "/healthz", "", nil))
	e.must(200, e.do("GET", "/readyz", "", nil))
	e.st.Close()
	e.must(200, e.do("GET", "/healthz", "", nil))
	if got := e.do("GET", "/readyz", "", nil); got.status != 503 || got.code() != "unavailable" {
		t.Errorf("a closed database: %d %s", got.status, got.body)
	}
}

// TestClient: the upload helper creates what is missing and carries the
// server's refusals with their codes.
func TestClient(t *testing.T) {
	e := newEnv(t, "", Options{})
	dir, files := modelDir(t)
	c := &Client{BaseURL: e.srv.URL, Token: e.admin}
	u := Upload{Model: "m", Source: store.Model{SourceKind: store.SourcePath, SourceRef: dir}, Digest: RootDigest(files),
		Files: files, Kind: store.EvidenceScan, Report: scanJSON(t, dir)}
	res, err := c.Upload(context.Background(), u)
	if err != nil || !res.Created || res.Findings == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if res, err := c.Upload(context.Background(), u); err != nil || res.Created {
		t.Errorf("again: %+v %v", res, err)
	}
	check := func(name, code string, c *Client, u Upload) {
		t.Helper()
		_, err := c.Upload(context.Background(), u)
		ae, ok := err.(*APIError)
		if !ok || ae.Code != code {
			t.Errorf("%s: %v, want code %s", name, err, code)
		}
	}
	check("a bad token", "unauthorized", &Client{BaseURL: e.srv.URL, Token: store.TokenPrefix + "x"}, u)
	bad := u
	bad.Files = files[:1]
	bad.Digest = RootDigest(bad.Files)
	check("a report of other files", "evidence_mismatch", c, bad)
	if _, err := (&Client{BaseURL: e.srv.URL}).Upload(context.Background(), u); err == nil {
		t.Error("no token: no error")
	}
	if _, err := (&Client{BaseURL: "ftp://x", Token: "t"}).Upload(context.Background(), u); err == nil {
		t.Error("an ftp URL: no error")
	}
}

// TestPostgres runs the upload and triage flow on PostgreSQL.
func TestPostgres(t *testing.T) {
	e := newEnv(t, pgtest.URL(t), Options{})
	dir, files := modelDir(t)
	e.putModel(e.admin, "m", files)
	vp := versionPath("m", files)
	rep := scanJSON(t, dir)
	e.must(201, e.do("POST", vp+"/evidence?kind=scan", e.admin, rep))
	e.must(200, e.do("POST", vp+"/evidence?kind=scan", e.admin, rep))
	var fs pageJSON[findingJSON]
	e.must(200, e.do("GET", vp+"/findings", e.admin, nil)).decode(t, &fs)
	if len(fs.Items) == 0 {
		t.Fatal("no findings")
	}
	e.must(201, e.do("PUT", fmt.Sprintf("%s/findings/%d/state", vp, fs.Items[0].ID), e.admin, map[string]string{"state": "fixed"}))
	e.must(200, e.do("GET", "/readyz", "", nil))
	if _, err := e.st.VerifyAudit(context.Background()); err != nil {
		t.Error(err)
	}
}
