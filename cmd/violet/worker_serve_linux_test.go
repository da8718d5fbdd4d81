package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
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
	if err := srv.stop(); err != nil {
		t.Fatalf("violet serve did not stop cleanly: %v: %s", err, srv.stderr.String())
	}
}
