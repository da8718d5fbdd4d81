package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/report"
)

// TestGateReleaseSignoff is the gate's end-to-end test of sign-offs: a
// model that passes every control but lacks one required approval is
// denied; with it, it is allowed; an approval of another version does not
// count; signed approvals verify with the approvers' keys, and the
// exported record verifies offline.
func TestGateReleaseSignoff(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	url, _, stop := startServe(t, data)
	defer stop()
	raw, _ := os.ReadFile(filepath.Join(data, AdminTokenFile))
	admin := strings.TrimSpace(string(raw))
	api(t, "POST", url+"/api/v1/teams", admin, map[string]string{"name": "ml"}, nil, 201)
	token := func(login, role string) string {
		api(t, "POST", url+"/api/v1/users", admin, map[string]string{"login": login, "team": "ml", "role": role}, nil, 201)
		var tok struct{ Secret string }
		api(t, "POST", url+"/api/v1/tokens", admin, map[string]any{"login": login, "team": "ml", "role": role, "name": login}, &tok, 201)
		return tok.Secret
	}
	ci, sec := token("ci", "ml-engineer"), token("sec", "security")

	keys := t.TempDir()
	priv, pub := keyPair(t, keys)
	secKey, secPub := keyPair(t, t.TempDir())
	osvDB := filepath.Join("..", "..", "deps", "testdata", "osv")
	model := filepath.Join(t.TempDir(), "tiny-llama")
	copyTree(t, filepath.Join("..", "..", "testdata", "bom", "base-model"), model)
	if code, out, errOut := violet(t, "sign", model, "--key", priv); code != 0 {
		t.Fatalf("sign: %d %s %s", code, out, errOut)
	}
	// CI uploads the scan: the server knows the version.
	t.Setenv(TokenEnv, ci)
	if code, _, errOut := violet(t, "scan", "--upload", url, model); code != report.ExitPass {
		t.Fatalf("scan --upload: %d %s", code, errOut)
	}
	digest, _, err := hashVersion(t.Context(), model)
	if err != nil {
		t.Fatal(err)
	}
	gateArgs := []string{model, "--key", pub, "--require-signature", "--osv-db", osvDB, "--server", url}

	// Without a release request: denied.
	code, ids := gateDecision(t, gateArgs...)
	if code != 1 || !slices.Equal(ids, []string{"RELEASE-NOT-REQUESTED"}) {
		t.Fatalf("no release: exit %d %v", code, ids)
	}
	// A medium-risk release needs security and ml-engineer.
	var rel struct {
		ID       int64
		Required []string `json:"required_roles"`
	}
	api(t, "POST", url+"/api/v1/releases", ci, map[string]any{"model": "tiny-llama", "digest": digest, "title": "v1 to prod", "tier": "medium"}, &rel, 201)
	if strings.Join(rel.Required, ",") != "ml-engineer,security" {
		t.Fatalf("required %v", rel.Required)
	}
	id := fmt.Sprint(rel.ID)
	if code, out, errOut := violet(t, "release", "approve", id, "--server", url, "--model", model, "--role", "ml-engineer",
		"--reason", "evaluated on the holdout set", "--key", priv); code != 0 || !strings.Contains(out, "signed") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	// One approval of two: denied, naming the missing role.
	code, ids = gateDecision(t, gateArgs...)
	if code != 1 || !slices.Equal(ids, []string{"RELEASE-SIGNOFF-MISSING"}) {
		t.Fatalf("one approval: exit %d %v", code, ids)
	}
	// An approval of another version: the security lead reviewed a copy
	// with one more file; the server refuses it, and the gate still denies.
	other := filepath.Join(t.TempDir(), "tiny-llama")
	copyTree(t, model, other)
	write(t, other, "notes.txt", []byte("another version\n"))
	t.Setenv(TokenEnv, sec)
	if code, _, errOut := violet(t, "release", "approve", id, "--server", url, "--model", other, "--role", "security",
		"--reason", "looked fine"); code != report.ExitIncomplete || !strings.Contains(errOut, "review the release's version") {
		t.Fatalf("approval of another version: %d %s", code, errOut)
	}
	api(t, "POST", url+"/api/v1/releases/"+id+"/decisions", sec, map[string]any{"decision": "approve", "reason": "x",
		"digest": "sha256:" + strings.Repeat("0", 64)}, nil, 422)
	if code, ids = gateDecision(t, gateArgs...); code != 1 {
		t.Fatalf("after an approval of another version: exit %d %v", code, ids)
	}
	// The security approval of this version: allowed.
	if code, out, errOut := violet(t, "release", "approve", id, "--server", url, "--model", model, "--role", "security",
		"--reason", "scanned clean, signature verified", "--key", secKey); code != 0 {
		t.Fatalf("security approve: %d %s %s", code, out, errOut)
	}
	if code, ids = gateDecision(t, gateArgs...); code != 0 {
		t.Fatalf("all approvals: exit %d %v", code, ids)
	}
	// A team that requires signed sign-offs: allowed with both keys, denied
	// with one.
	signed := write(t, t.TempDir(), "signed.json", []byte(`{"violet": {"require_signed_signoffs": true}}`))
	both := append(slices.Clone(gateArgs), "--data", signed, "--signoff-key", pub, "--signoff-key", secPub)
	if code, ids = gateDecision(t, both...); code != 0 {
		t.Fatalf("signed sign-offs, both keys: exit %d %v", code, ids)
	}
	if code, ids = gateDecision(t, append(slices.Clone(gateArgs), "--data", signed, "--signoff-key", pub)...); code != 1 || !slices.Equal(ids, []string{"RELEASE-SIGNOFF-MISSING"}) {
		t.Fatalf("signed sign-offs, one key: exit %d %v", code, ids)
	}

	// The record verifies offline, with the keys; not against the other
	// version, nor with --require-signed and one key.
	var record json.RawMessage
	api(t, "GET", url+"/api/v1/releases/"+id+"/record", sec, nil, &record, 200)
	rec := []byte(record)
	recFile := write(t, t.TempDir(), "record.json", rec)
	if code, out, errOut := violet(t, "release", "verify", recFile, "--model", model, "--key", pub, "--key", secPub, "--require-signed"); code != 0 || !strings.HasPrefix(out, "APPROVED") {
		t.Fatalf("release verify: %d %s %s", code, out, errOut)
	}
	if code, out, _ := violet(t, "release", "verify", recFile, "--model", other, "--key", pub, "--key", secPub); code != 1 || !strings.Contains(out, "NOT APPROVED") {
		t.Fatalf("release verify of another version: %d %s", code, out)
	}
	if code, out, _ := violet(t, "release", "verify", recFile, "--model", model, "--key", pub, "--require-signed"); code != 1 || !strings.Contains(out, "missing: the approval of security") {
		t.Fatalf("release verify with one key: %d %s", code, out)
	}
	// A record edited after export (a role's decision turned around) fails
	// the signature check of that decision.
	edited := write(t, t.TempDir(), "edited.json", []byte(strings.Replace(string(rec), "scanned clean, signature verified", "ok", 1)))
	if code, out, _ := violet(t, "release", "verify", edited, "--model", model, "--key", pub, "--key", secPub); code != 1 || !strings.Contains(out, "does not sign this decision") {
		t.Fatalf("release verify of an edited record: %d %s", code, out)
	}
	if code, _, _ := violet(t, "release", "verify", write(t, t.TempDir(), "x.json", []byte(`{"not":"a record"}`)), "--model", model); code != report.ExitIncomplete {
		t.Fatalf("release verify of a non-record: %d", code)
	}
}
