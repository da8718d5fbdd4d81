package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/store"
)

// syncBuffer is a buffer that a running server and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs violet serve in-process on 127.0.0.1, with more flags
// when given, and returns its URL, its standard error, and a function that
// stops it and returns the command's error.
func startServe(t *testing.T, data string, flags ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	root := newRoot()
	stderr := &syncBuffer{}
	root.SetArgs(append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, flags...))
	root.SetOut(io.Discard)
	root.SetErr(stderr)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	listening := regexp.MustCompile(`Listening on (http://127\.0\.0\.1:[0-9]+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			stop := func() error { cancel(); return <-done }
			return m[1], stderr, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended: %v: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not listen: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// api calls the server and decodes its answer into out (when not nil).
func api(t *testing.T, method, url, token string, body, out any, want int) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeEndToEnd: start violet serve, read admin.token, create a team
// and tokens through the API, violet scan --upload a malicious sample,
// see the finding, accept the risk as security, verify the audit chain,
// back up; a broken chain is exit 1 naming the record.
func TestServeEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	url, stderr, stop := startServe(t, data)
	tokenFile := filepath.Join(data, AdminTokenFile)
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(tokenFile)
	admin := strings.TrimSpace(string(raw))
	if !strings.Contains(stderr.String(), "First start") {
		t.Errorf("the first start was not announced: %s", stderr.String())
	}

	api(t, "POST", url+"/api/v1/teams", admin, map[string]string{"name": "ml"}, nil, 201)
	secret := func(login, role string) string {
		api(t, "POST", url+"/api/v1/users", admin, map[string]string{"login": login, "team": "ml", "role": role}, nil, 201)
		var tok struct{ Secret string }
		api(t, "POST", url+"/api/v1/tokens", admin, map[string]any{"login": login, "team": "ml", "role": role, "name": login}, &tok, 201)
		return tok.Secret
	}
	ci, sec := secret("ci", "ml-engineer"), secret("sec", "security")

	// People sign in to the web UI, served by the same process under /ui/,
	// with a password set when their user is created (its login flow is
	// tested in package webui).
	api(t, "POST", url+"/api/v1/users", admin, map[string]string{"login": "legal", "team": "ml", "role": "legal-compliance", "password": "short"}, nil, 422)
	api(t, "POST", url+"/api/v1/users", admin, map[string]string{"login": "legal", "team": "ml", "role": "legal-compliance", "password": "correct horse battery"}, nil, 201)
	if resp, err := http.Get(url + "/ui/login"); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("the web UI's login page: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	model := filepath.Join(t.TempDir(), "fraud-detector")
	os.Mkdir(model, 0o755)
	sample, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "models", "malicious", "pickle", "system_p0.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, "model.pkl"), sample, 0o644)
	os.WriteFile(filepath.Join(model, "README.md"), []byte("# fraud detector\n"), 0o644)

	t.Setenv(TokenEnv, ci)
	var out, errOut bytes.Buffer
	if code := run([]string{"scan", "--upload", url, "--format", "json", model}, &out, &errOut); code != report.ExitFindings {
		t.Fatalf("scan --upload: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "Uploaded the scan report of fraud-detector") {
		t.Errorf("no upload notice: %s", errOut.String())
	}

	var versions struct{ Items []struct{ Digest string } }
	api(t, "GET", url+"/api/v1/models/fraud-detector/versions", ci, nil, &versions, 200)
	if len(versions.Items) != 1 {
		t.Fatalf("versions: %+v", versions)
	}
	vp := url + "/api/v1/models/fraud-detector/versions/" + versions.Items[0].Digest
	var findings struct {
		Items []struct {
			ID       int64
			Rule     string
			Severity string
			State    string
		}
	}
	api(t, "GET", vp+"/findings", sec, nil, &findings, 200)
	if len(findings.Items) == 0 || findings.Items[0].Severity != "critical" {
		t.Fatalf("findings: %+v", findings)
	}
	fp := fmt.Sprintf("%s/findings/%d", vp, findings.Items[0].ID)
	api(t, "PUT", fp+"/state", ci, map[string]string{"state": "false-positive", "reason": "mine"}, nil, 403)
	api(t, "PUT", fp+"/state", sec, map[string]any{"state": "accepted-risk", "reason": "isolated sandbox",
		"expires_at": time.Now().Add(7 * 24 * time.Hour)}, nil, 201)
	api(t, "GET", vp+"/findings", ci, nil, &findings, 200)
	if findings.Items[0].State != "accepted-risk" {
		t.Errorf("state %q", findings.Items[0].State)
	}

	// The BOM of the same folder binds to the same version.
	errOut.Reset()
	if code := run([]string{"bom", "--upload", url, "-o", filepath.Join(t.TempDir(), "bom.json"), model}, io.Discard, &errOut); code != report.ExitPass ||
		!strings.Contains(errOut.String(), "Uploaded the bom report of fraud-detector") {
		t.Errorf("bom --upload: exit %d: %s", code, errOut.String())
	}
	// And the deps report of a requirements file in it, once the folder
	// holds it (a new version).
	os.WriteFile(filepath.Join(model, "requirements.txt"), []byte("torch==2.5.1\n"), 0o644)
	errOut.Reset()
	if code := run([]string{"deps", "--upload", url, "--upload-model", "fraud-detector", model}, io.Discard, &errOut); code == report.ExitIncomplete ||
		!strings.Contains(errOut.String(), "Uploaded the deps report of fraud-detector") {
		t.Errorf("deps --upload: exit %d: %s", code, errOut.String())
	}
	var evidence struct{ Items []struct{ Kind string } }
	api(t, "GET", vp+"/evidence", ci, nil, &evidence, 200)
	if len(evidence.Items) != 2 || evidence.Items[1].Kind != "bom" {
		t.Errorf("evidence: %+v", evidence)
	}
	api(t, "GET", url+"/api/v1/models/fraud-detector/versions", ci, nil, &versions, 200)
	if len(versions.Items) != 2 {
		t.Fatalf("versions after deps: %+v", versions)
	}
	// The deps report's packages are the new version's dependencies.
	var pkgs struct {
		Items []struct{ Name, Version, Manifest string }
	}
	api(t, "GET", url+"/api/v1/models/fraud-detector/versions/"+versions.Items[1].Digest+"/packages", ci, nil, &pkgs, 200)
	if len(pkgs.Items) != 1 || pkgs.Items[0].Name != "torch" || pkgs.Items[0].Version != "2.5.1" || pkgs.Items[0].Manifest != "requirements.txt" {
		t.Errorf("packages: %+v", pkgs)
	}
	// discover --upload of the code base that holds the model gives it its
	// owners from CODEOWNERS.
	os.WriteFile(filepath.Join(filepath.Dir(model), "CODEOWNERS"), []byte("/fraud-detector/ @org/fraud-team\n"), 0o644)
	errOut.Reset()
	if code := run([]string{"discover", "--upload", url, "--upload-source", "git.example/fraud", "--no-git", "-o", filepath.Join(t.TempDir(), "inv.txt"), filepath.Dir(model)}, io.Discard, &errOut); code != report.ExitPass ||
		!strings.Contains(errOut.String(), "Uploaded the inventory of git.example/fraud") {
		t.Errorf("discover --upload: exit %d: %s", code, errOut.String())
	}
	var owners struct {
		Items []struct{ Owner, Source string }
	}
	api(t, "GET", url+"/api/v1/models/fraud-detector/owners", ci, nil, &owners, 200)
	if len(owners.Items) != 1 || owners.Items[0].Owner != "@org/fraud-team" || owners.Items[0].Source != "git.example/fraud" {
		t.Errorf("owners: %+v", owners)
	}

	// verify and gate upload their JSON result to the same version (the
	// signature file is left out of it, as hash leaves it out).
	priv, pub := keyPair(t, t.TempDir())
	if code, out, errOut := violet(t, "sign", model, "--key", priv); code != report.ExitPass {
		t.Fatalf("sign: %d %s %s", code, out, errOut)
	}
	errOut.Reset()
	out.Reset()
	if code := run([]string{"verify", "--upload", url, model, "--key", pub}, &out, &errOut); code != report.ExitPass ||
		!strings.HasPrefix(out.String(), "PASS") || !strings.Contains(errOut.String(), "Uploaded the verify report of fraud-detector") {
		t.Errorf("verify --upload: exit %d: %s %s", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"gate", "--upload", url, "--key", pub, "--require-signature", model}, io.Discard, &errOut); code != report.ExitFindings ||
		!strings.Contains(errOut.String(), "Uploaded the gate report of fraud-detector") {
		t.Errorf("gate --upload of a malicious model: exit %d: %s", code, errOut.String())
	}
	api(t, "GET", url+"/api/v1/models/fraud-detector/versions", ci, nil, &versions, 200)
	if len(versions.Items) != 2 {
		t.Fatalf("versions after verify and gate: %+v", versions)
	}
	// The verify report names its signer: the blast radius of the key
	// finds the version it signed.
	pemPub, _ := os.ReadFile(pub)
	key, err := sign.ParsePublicKey(pemPub)
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := sign.KeyHint(key)
	var signed struct {
		Items []struct{ Model, Version, Why string }
	}
	api(t, "GET", url+"/api/v1/blast-radius?signer="+hint, ci, nil, &signed, 200)
	if len(signed.Items) != 1 || signed.Items[0].Model != "fraud-detector" || signed.Items[0].Version != versions.Items[1].Digest {
		t.Errorf("blast radius of the signing key %s: %+v", hint, signed)
	}
	vp2 := url + "/api/v1/models/fraud-detector/versions/" + versions.Items[1].Digest
	var evidence2 struct {
		Items []struct {
			ID   int64
			Kind string
		}
	}
	api(t, "GET", vp2+"/evidence", ci, nil, &evidence2, 200)
	var kinds []string
	for _, e := range evidence2.Items {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "deps,verify,gate" {
		t.Fatalf("evidence of the signed version: %v", kinds)
	}

	// A failed upload fails the command with the server's code.
	benign := filepath.Join(t.TempDir(), "benign")
	os.Mkdir(benign, 0o755)
	os.WriteFile(filepath.Join(benign, "notes.txt"), []byte("nothing\n"), 0o644)
	t.Setenv(TokenEnv, store.TokenPrefix+"revoked-or-wrong")
	errOut.Reset()
	if code := run([]string{"scan", "--upload", url, benign}, io.Discard, &errOut); code != report.ExitIncomplete || !strings.Contains(errOut.String(), "unauthorized") {
		t.Errorf("an upload with a bad token: exit %d: %s", code, errOut.String())
	}
	// verify: exit 2 when it verified, 1 when it did not; gate: 1 on deny.
	errOut.Reset()
	if code := run([]string{"verify", "--upload", url, model, "--key", pub}, io.Discard, &errOut); code != report.ExitIncomplete ||
		!strings.Contains(errOut.String(), "upload failed") || !strings.Contains(errOut.String(), "unauthorized") {
		t.Errorf("verify --upload with a bad token: exit %d: %s", code, errOut.String())
	}
	_, otherPub := keyPair(t, t.TempDir())
	errOut.Reset()
	if code := run([]string{"verify", "--upload", url, model, "--key", otherPub}, io.Discard, &errOut); code != report.ExitFindings ||
		!strings.Contains(errOut.String(), "upload failed") {
		t.Errorf("verify --upload, not verified, with a bad token: exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"gate", "--upload", url, model}, io.Discard, &errOut); code != report.ExitFindings ||
		!strings.Contains(errOut.String(), "upload failed") {
		t.Errorf("gate --upload with a bad token: exit %d: %s", code, errOut.String())
	}
	t.Setenv(TokenEnv, "")
	errOut.Reset()
	if code := run([]string{"scan", "--upload", url, benign}, io.Discard, &errOut); code != report.ExitIncomplete || !strings.Contains(errOut.String(), TokenEnv) {
		t.Errorf("an upload without a token: exit %d: %s", code, errOut.String())
	}

	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// What was uploaded is the JSON result of verify and gate.
	st, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]string{1: `"verified": true`, 2: `"allow": false`} {
		if b, err := st.EvidenceReport(context.Background(), evidence2.Items[i].ID); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("the %s report on the server: %v %.300s", kinds[i], err, b)
		}
	}
	st.Close()

	// A second start creates nothing and says nothing of it.
	_, stderr2, stop2 := startServe(t, data)
	if strings.Contains(stderr2.String(), "First start") {
		t.Errorf("the second start bootstrapped again: %s", stderr2.String())
	}
	if raw2, _ := os.ReadFile(tokenFile); !bytes.Equal(raw, raw2) {
		t.Error("admin.token changed")
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if code := run([]string{"audit", "verify", "--data", data}, &out, &errOut); code != report.ExitPass || !strings.Contains(out.String(), "intact") {
		t.Fatalf("audit verify: exit %d: %s %s", code, out.String(), errOut.String())
	}
	backup := filepath.Join(t.TempDir(), "violet-backup.db")
	if code := run([]string{"serve", "backup", "--data", data, "--to", backup}, io.Discard, &errOut); code != report.ExitPass {
		t.Fatalf("backup: exit %d: %s", code, errOut.String())
	}
	if code := run([]string{"serve", "backup", "--data", data, "--to", backup}, io.Discard, io.Discard); code != report.ExitIncomplete {
		t.Errorf("a backup over an existing file: exit %d", code)
	}

	// Break the chain as someone with the file would: drop the trigger,
	// change a record.
	db, err := sql.Open("sqlite", filepath.Join(data, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	errOut.Reset()
	if code := run([]string{"audit", "verify", "--data", data}, io.Discard, &errOut); code != report.ExitFindings || !strings.Contains(errOut.String(), "seq 3") {
		t.Errorf("a broken chain: exit %d: %s", code, errOut.String())
	}
}

// TestServeUsage: missing or conflicting flags are usage errors (2).
func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	empty := write(t, t.TempDir(), "empty-secret", []byte("\n"))
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--data", dir, "--database", "mysql://x"},
		{"serve", "backup", "--data", dir},
		{"audit", "verify"},
		{"scan", "--upload", "ftp://x", dir},
		{"scan", "--upload-model", "m", dir},
		{"scan", "--upload", "http://127.0.0.1:1", dir, dir},
		{"gate", "--upload", "http://127.0.0.1:1", "--print-input", dir},
		{"verify", "--upload", "ftp://x", "--key", "x", dir},
		// Single sign-on: flags without the issuer, a plain-HTTP issuer,
		// a missing or empty secret file, a claim that names no user.
		{"serve", "--data", dir, "--oidc-client-id", "violet"},
		{"serve", "--data", dir, "--oidc-issuer", "https://idp.example.com"},
		{"serve", "--data", dir, "--oidc-issuer", "http://idp.example.com", "--oidc-client-id", "violet", "--oidc-redirect-url", "https://v.example.com/ui/oidc/callback"},
		{"serve", "--data", dir, "--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "violet", "--oidc-redirect-url", "https://v.example.com/ui/oidc/callback",
			"--oidc-client-secret-file", filepath.Join(dir, "missing")},
		{"serve", "--data", dir, "--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "violet", "--oidc-redirect-url", "https://v.example.com/ui/oidc/callback",
			"--oidc-client-secret-file", empty},
		{"serve", "--data", dir, "--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "violet", "--oidc-redirect-url", "https://v.example.com/ui/oidc/callback",
			"--oidc-user-claim", "aud"},
	} {
		if code := run(args, io.Discard, io.Discard); code != report.ExitIncomplete {
			t.Errorf("violet %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, AdminTokenFile)); err == nil {
		t.Fatal("a usage error bootstrapped the admin")
	}
	// An admin.token in the way of the first start is refused, not overwritten.
	os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("old\n"), 0o600)
	var errOut bytes.Buffer
	if code := run([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, io.Discard, &errOut); code != report.ExitIncomplete || !strings.Contains(errOut.String(), "admin token") {
		t.Errorf("an admin.token in the way: exit %d: %s", code, errOut.String())
	}
}

// TestServeOIDC: the single sign-on flags reach the web UI: its login page
// offers it, and /ui/oidc/login sends the browser to the provider with
// the client id, the redirect URL, PKCE and a nonce (the whole flow is
// tested in package webui).
func TestServeOIDC(t *testing.T) {
	var idpURL string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"issuer": idpURL, "authorization_endpoint": idpURL + "/authorize",
			"token_endpoint": idpURL + "/token", "jwks_uri": idpURL + "/jwks", "id_token_signing_alg_values_supported": []string{"ES256"}})
	}))
	defer idp.Close()
	idpURL = idp.URL
	secret := write(t, t.TempDir(), "client-secret", []byte("s3cret\n"))
	redirect := "https://violet.example.com/ui/oidc/callback"
	url, _, stopServe := startServe(t, filepath.Join(t.TempDir(), "data"), "--oidc-issuer", idp.URL, "--oidc-client-id", "violet-ui",
		"--oidc-client-secret-file", secret, "--oidc-redirect-url", redirect, "--oidc-user-claim", "preferred_username")
	stop := sync.OnceValue(stopServe)
	defer stop()
	resp, err := http.Get(url + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `href="/ui/oidc/login"`) {
		t.Errorf("the login page offers no single sign-on: %s", body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(url + "/ui/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, idp.URL+"/authorize?") ||
		!strings.Contains(loc, "client_id=violet-ui") || !strings.Contains(loc, "redirect_uri="+neturl.QueryEscape(redirect)) ||
		!strings.Contains(loc, "code_challenge_method=S256") || !strings.Contains(loc, "nonce=") {
		t.Errorf("/ui/oidc/login: %d %s", resp.StatusCode, loc)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeTakesDailySnapshot: violet serve takes the day's metrics
// snapshot when it starts, without waiting for a scrape.
func TestServeTakesDailySnapshot(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	_, _, stop := startServe(t, data)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := store.Open(t.Context(), data)
		if err != nil {
			t.Fatal(err)
		}
		teams, _ := st.Teams(t.Context())
		var points []store.MetricPoint
		if len(teams) > 0 {
			points, err = st.MetricHistory(t.Context(), teams[0].ID, "model_versions", time.Now().AddDate(0, 0, -1))
		}
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(points) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot after start: %+v", points)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
