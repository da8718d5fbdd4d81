package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
)

// TestServeWorkersScanAndRescan: violet serve --workers 1 takes a scan
// request over the API (POST .../scans), its in-process worker stores the
// version and its scan evidence, and violet rescan --all --wait re-judges
// it through the same workers and reports the verdicts (JSON), exit 1 for
// a version that fails.
func TestServeWorkersScanAndRescan(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	config := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(config, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := startServeChild(t, data, "", "--workers", "1", "--poll-interval", "50ms", "--config", config, "--scan-root", dir)
	token := killTokens(t, srv.url, data)[0]
	if err := os.WriteFile(filepath.Join(dir, "data.pkl"), testutil.NewPickle(2).Call("os", "system", "id").Stop().Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	api(t, "POST", srv.url+"/api/v1/models", token, map[string]string{"name": "m", "source_kind": "path", "source_ref": dir}, nil, 201)
	var req struct {
		ID       int64
		Status   string
		Version  int64
		Evidence int64
	}
	// Only what the operator allows: a path outside --scan-root, an
	// unlisted registry.
	for _, loc := range []string{data, "/etc", dir + "/../x", "oci://127.0.0.1:5000/m:v1", "http://127.0.0.1/x"} {
		api(t, "POST", srv.url+"/api/v1/models/m/scans", token, map[string]string{"location": loc}, nil, 422)
	}
	api(t, "POST", srv.url+"/api/v1/models/m/scans", token, map[string]string{"location": dir}, &req, 202)
	deadline := time.Now().Add(60 * time.Second)
	for req.Status != "done" {
		if req.Status == "incomplete" || time.Now().After(deadline) {
			t.Fatalf("scan request %+v: %s", req, srv.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
		api(t, "GET", fmt.Sprintf("%s/api/v1/models/m/scans/%d", srv.url, req.ID), token, nil, &req, 200)
	}
	if req.Version == 0 || req.Evidence == 0 {
		t.Fatalf("done without a result: %+v", req)
	}
	var out, errOut syncBuffer
	code := run([]string{"rescan", "--data", data, "--all", "--wait", "--timeout", "60s", "-f", "json"}, &out, &errOut)
	if code != report.ExitFindings {
		t.Fatalf("violet rescan: exit %d, want 1: %s %s", code, out.String(), errOut.String())
	}
	var rep struct {
		Rescans []struct {
			Version        int64
			Status         string
			Before, After  string
			Changed        bool
			Kept           int
			Added, Removed []string
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rep.Rescans) != 1 || rep.Rescans[0].Version != req.Version || rep.Rescans[0].Status != "done" ||
		rep.Rescans[0].Before != "fail" || rep.Rescans[0].After != "fail" || rep.Rescans[0].Changed || rep.Rescans[0].Kept != 1 {
		t.Fatalf("rescan report %s", out.String())
	}

	// Retro-verify: the model is signed with the team's release key; once
	// the team stops trusting it (a leaked key), violet rescan --kind
	// verify reports that the version no longer verifies.
	key, pub := testutil.SigningKey(t)
	signModelDir(t, dir, key)
	sec := roleToken(t, srv.url, data, "sec", "security")
	var signer struct{ ID int64 }
	api(t, "POST", srv.url+"/api/v1/signers", sec, map[string]string{"name": "release key", "kind": "key", "material": pub}, &signer, 201)
	reverify := func(wantCode int, wantBefore, wantAfter string) {
		t.Helper()
		var out, errOut syncBuffer
		code := run([]string{"rescan", "--data", data, "--all", "--kind", "verify", "--wait", "--timeout", "60s", "-f", "json"}, &out, &errOut)
		if code != wantCode {
			t.Fatalf("violet rescan --kind verify: exit %d, want %d: %s %s", code, wantCode, out.String(), errOut.String())
		}
		rep.Rescans = nil
		if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if len(rep.Rescans) != 1 || rep.Rescans[0].Version != req.Version || rep.Rescans[0].Before != wantBefore ||
			rep.Rescans[0].After != wantAfter {
			t.Fatalf("verify report %s, want %s -> %s", out.String(), wantBefore, wantAfter)
		}
	}
	reverify(report.ExitPass, "none", "pass")
	api(t, "DELETE", fmt.Sprintf("%s/api/v1/signers/%d", srv.url, signer.ID), sec, nil, nil, 204)
	_, other := testutil.SigningKey(t)
	api(t, "POST", srv.url+"/api/v1/signers", sec, map[string]string{"name": "new key", "kind": "key", "material": other}, nil, 201)
	reverify(report.ExitFindings, "pass", "fail")
	if err := srv.stop(); err != nil {
		t.Fatalf("violet serve did not stop cleanly: %v: %s", err, srv.stderr.String())
	}
}

// signModelDir signs the model folder dir with key: model.sig inside, as
// violet sign writes it.
func signModelDir(t *testing.T, dir string, key *ecdsa.PrivateKey) {
	t.Helper()
	s := sign.DefaultSerialization()
	s.IgnorePaths = append(s.IgnorePaths, sign.DefaultSignaturePath(dir))
	m, err := sign.Hash(context.Background(), dir, s, sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := sign.SignManifest(m, signer)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "model.sig", bundle)
}

// roleToken creates a user of team ml with role and returns its token,
// with the admin token of the server's data folder.
func roleToken(t *testing.T, base, data, login, role string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	api(t, "POST", base+"/api/v1/users", admin, map[string]string{"login": login, "team": "ml", "role": role}, nil, 201)
	var tok struct{ Secret string }
	api(t, "POST", base+"/api/v1/tokens", admin, map[string]any{"login": login, "team": "ml", "role": role, "name": login}, &tok, 201)
	return tok.Secret
}
