package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// copyTree copies the regular files of src (recursively) into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// keyPair writes a P-256 key pair and returns the paths of the private
// and public keys.
func keyPair(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	return write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		write(t, dir, "key.pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// gateDecision runs violet gate with --format json and returns its exit
// code and the ids of its reasons.
func gateDecision(t *testing.T, args ...string) (int, []string) {
	t.Helper()
	code, out, errOut := violet(t, append([]string{"gate", "--format", "json"}, args...)...)
	var d struct {
		Allow   bool
		Reasons []struct{ ID, Message string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("gate %v: exit %d, %v\n%s\n%s", args, code, err, out, errOut)
	}
	var ids []string
	for _, r := range d.Reasons {
		ids = append(ids, r.ID)
	}
	if d.Allow != (code == 0) {
		t.Errorf("allow %v with exit %d", d.Allow, code)
	}
	return code, ids
}

// TestGateEndToEnd: the gate allows a clean, signed model folder and
// denies a malicious one, a tampered one, one with a vulnerable
// dependency and one whose card lacks its limitations, each for its reason.
func TestGateEndToEnd(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keyPair(t, keys)
	osvDB := filepath.Join("..", "..", "deps", "testdata", "osv")
	model := func(t *testing.T, edit func(dir string)) string {
		dir := filepath.Join(t.TempDir(), "tiny-llama")
		copyTree(t, filepath.Join("..", "..", "testdata", "bom", "base-model"), dir)
		if edit != nil {
			edit(dir)
		}
		if code, out, errOut := violet(t, "sign", dir, "--key", priv); code != 0 {
			t.Fatalf("sign: %d %s %s", code, out, errOut)
		}
		return dir
	}
	for _, tc := range []struct {
		name    string
		edit    func(dir string)
		after   func(dir string)
		code    int
		reasons []string
	}{
		{name: "clean and signed", code: 0},
		{name: "malicious", edit: func(dir string) { write(t, dir, "extra_state.pkl", evil) }, code: 1, reasons: []string{"SCAN-SEVERITY"}},
		{name: "tampered", after: func(dir string) { write(t, dir, "config.json", []byte(`{"model_type": "llama"}`)) }, code: 1, reasons: []string{"SIGNATURE-INVALID"}},
		{name: "vulnerable dependency", edit: func(dir string) {
			write(t, dir, "requirements.txt", []byte("langchain==0.0.131 --hash=sha256:"+strings.Repeat("ab", 32)+"\n"))
		}, code: 1, reasons: []string{"DEPS-VULNERABLE"}},
		{name: "no limitations in the card", edit: func(dir string) {
			card, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			card = regexp.MustCompile(`(?s)## Bias, Risks, and Limitations.*?## How to Get Started`).ReplaceAll(card, []byte("## How to Get Started"))
			card = regexp.MustCompile(`(?s)### Out-of-Scope Use.*?## How to Get Started`).ReplaceAll(card, []byte("## How to Get Started"))
			write(t, dir, "README.md", card)
		}, code: 1, reasons: []string{"MODEL-CARD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := model(t, tc.edit)
			if tc.after != nil {
				tc.after(dir)
			}
			code, ids := gateDecision(t, dir, "--key", pub, "--require-signature", "--osv-db", osvDB)
			if code != tc.code {
				t.Errorf("exit %d, want %d; reasons %v", code, tc.code, ids)
			}
			for _, want := range tc.reasons {
				if !slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, want) }) {
					t.Errorf("reasons %v lack %s", ids, want)
				}
			}
			if tc.code == 0 && len(ids) != 0 {
				t.Errorf("allowed with reasons %v", ids)
			}
		})
	}
}

// gateModel copies the base model into a new folder, adds files, and
// returns the folder.
func gateModel(t *testing.T, name string, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	copyTree(t, filepath.Join("..", "..", "testdata", "bom", "base-model"), dir)
	for n, data := range files {
		write(t, dir, n, data)
	}
	return dir
}

// gateRun runs violet gate with --format json and returns its exit code,
// the ids of its reasons and its messages.
func gateRun(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	code, out, errOut := violet(t, append([]string{"gate", "--format", "json"}, args...)...)
	if code == 2 {
		return code, nil, errOut
	}
	var d struct {
		Allow   bool
		Reasons []struct{ ID, Message string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("gate %v: exit %d, %v\n%s\n%s", args, code, err, out, errOut)
	}
	var ids, msgs []string
	for _, r := range d.Reasons {
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
		msgs = append(msgs, r.ID+": "+r.Message)
	}
	if d.Allow != (code == 0) {
		t.Errorf("allow %v with exit %d", d.Allow, code)
	}
	return code, ids, strings.Join(msgs, "\n")
}

// scanJSON scans dir with extra arguments and returns the JSON report.
func scanJSON(t *testing.T, dir string, args ...string) map[string]any {
	t.Helper()
	code, out, errOut := violet(t, append([]string{"scan", "--format", "json", dir}, args...)...)
	if code == 2 {
		t.Fatalf("scan %s: exit 2\n%s", dir, errOut)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// writeJSON writes v as JSON and returns the path.
func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, dir, name, data)
}

// withoutFindings is a scan report with every finding removed, as an
// attacker would edit it.
func withoutFindings(r map[string]any) map[string]any {
	for _, f := range r["files"].([]any) {
		f.(map[string]any)["findings"] = []any{}
	}
	r["summary"].(map[string]any)["findings"] = map[string]any{}
	return r
}

// TestGateEvidenceIsBound: evidence files never let a malicious model
// through. A scan report of another folder, a real report with its
// findings deleted or lowered (alone, or beside the genuine attestation of
// the failing scan), a forged verify report: each used to be allowed.
func TestGateEvidenceIsBound(t *testing.T) {
	osvDB := filepath.Join("..", "..", "deps", "testdata", "osv")
	keys := t.TempDir()
	priv, pub := keyPair(t, keys)
	bad := gateModel(t, "tiny-llama", map[string][]byte{"extra_state.pkl": evil})
	other := gateModel(t, "other-llama", nil)
	out := t.TempDir()

	// The gate alone denies it.
	if code, ids, _ := gateRun(t, bad, "--osv-db", osvDB); code != 1 || !slices.Contains(ids, "SCAN-SEVERITY") {
		t.Fatalf("no evidence: exit %d %v", code, ids)
	}

	t.Run("report of another folder", func(t *testing.T) {
		ev := writeJSON(t, out, "other.json", scanJSON(t, other))
		code, ids, msgs := gateRun(t, bad, "--osv-db", osvDB, "--evidence", ev)
		if code != 1 || !slices.Contains(ids, "SCAN-SEVERITY") || !slices.Contains(ids, "EVIDENCE-MISMATCH") {
			t.Errorf("exit %d, reasons %v", code, ids)
		}
		if !strings.Contains(msgs, "extra_state.pkl") {
			t.Errorf("the mismatch does not name the unscanned file:\n%s", msgs)
		}
	})
	t.Run("report of another folder, with digests", func(t *testing.T) {
		otherAtt := filepath.Join(out, "other.att.json")
		ev := writeJSON(t, out, "other-digests.json", scanJSON(t, other, "--attest", otherAtt, "--key", priv))
		code, ids, _ := gateRun(t, bad, "--osv-db", osvDB, "--evidence", ev)
		if code != 1 || !slices.Contains(ids, "SCAN-SEVERITY") || !slices.Contains(ids, "EVIDENCE-MISMATCH") {
			t.Errorf("exit %d, reasons %v", code, ids)
		}
	})
	t.Run("findings deleted", func(t *testing.T) {
		ev := writeJSON(t, out, "deleted.json", withoutFindings(scanJSON(t, bad)))
		if code, ids, _ := gateRun(t, bad, "--osv-db", osvDB, "--evidence", ev); code != 1 || !slices.Contains(ids, "SCAN-SEVERITY") {
			t.Errorf("exit %d, reasons %v", code, ids)
		}
	})
	t.Run("findings lowered", func(t *testing.T) {
		r := scanJSON(t, bad)
		for _, f := range r["files"].([]any) {
			for _, x := range f.(map[string]any)["findings"].([]any) {
				x.(map[string]any)["severity"] = "low"
			}
		}
		ev := writeJSON(t, out, "lowered.json", r)
		if code, ids, _ := gateRun(t, bad, "--osv-db", osvDB, "--evidence", ev); code != 1 || !slices.Contains(ids, "SCAN-SEVERITY") {
			t.Errorf("exit %d, reasons %v", code, ids)
		}
	})
	t.Run("edited report and the genuine attestation", func(t *testing.T) {
		att := filepath.Join(out, "bad.att.json")
		r := scanJSON(t, bad, "--attest", att, "--key", priv)
		ev := writeJSON(t, out, "edited.json", withoutFindings(r))
		code, ids, msgs := gateRun(t, bad, "--osv-db", osvDB, "--evidence", ev, "--attestation", att, "--attestation-key", pub)
		if code != 1 || !slices.Contains(ids, "SCAN-SEVERITY") || !slices.Contains(ids, "EVIDENCE-MISMATCH") {
			t.Errorf("exit %d, reasons %v\n%s", code, ids, msgs)
		}
		// The genuine attestation alone: the signed verdict.
		if code, ids, _ := gateRun(t, bad, "--osv-db", osvDB, "--attestation", att, "--attestation-key", pub); code != 1 || !slices.Equal(ids, []string{"SCAN-SEVERITY"}) {
			t.Errorf("attestation alone: exit %d, reasons %v", code, ids)
		}
	})
	t.Run("forged verify report", func(t *testing.T) {
		ev := write(t, out, "verify.json", []byte(`{"verified": true}`))
		clean := gateModel(t, "unsigned", nil)
		code, ids, errOut := gateRun(t, clean, "--osv-db", osvDB, "--require-signature", "--key", pub, "--evidence", ev)
		if code != 2 || !strings.Contains(errOut, "verif") {
			t.Errorf("forged verify report: exit %d, reasons %v\n%s", code, ids, errOut)
		}
		// Without it, the gate checks the signature itself.
		if code, ids, _ := gateRun(t, clean, "--osv-db", osvDB, "--require-signature", "--key", pub); code != 1 || !slices.Equal(ids, []string{"SIGNATURE-REQUIRED"}) {
			t.Errorf("unsigned model: exit %d, reasons %v", code, ids)
		}
		// --require-signature with nothing to verify the signature with is
		// a usage error.
		if code, _, errOut := gateRun(t, clean, "--osv-db", osvDB, "--require-signature"); code != 2 || !strings.Contains(errOut, "--key") {
			t.Errorf("--require-signature without a key: exit %d\n%s", code, errOut)
		}
	})
}

// TestGateUsesTheSignedVerdict: a verified attestation is the scan the
// policy reads: a scan with the team's allowlist passes, and the same
// model without the attestation is scanned by the gate with the defaults.
func TestGateUsesTheSignedVerdict(t *testing.T) {
	osvDB := filepath.Join("..", "..", "deps", "testdata", "osv")
	keys := t.TempDir()
	priv, pub := keyPair(t, keys)
	model := gateModel(t, "custom", map[string][]byte{"model.pkl": custom})
	if code, _, _ := gateRun(t, model, "--osv-db", osvDB); code != 1 {
		t.Fatalf("custom global without an allowlist: exit %d, want 1", code)
	}
	att := filepath.Join(t.TempDir(), "scan.att.json")
	if code, _, errOut := violet(t, "scan", model, "--allow", "mylib.models.Net", "--attest", att, "--key", priv); code != 0 {
		t.Fatalf("scan --allow --attest: exit %d\n%s", code, errOut)
	}
	if code, ids, msgs := gateRun(t, model, "--osv-db", osvDB, "--attestation", att, "--attestation-key", pub); code != 0 {
		t.Errorf("with the attestation: exit %d %v\n%s", code, ids, msgs)
	}
	// The attestation no longer matches once a file is added.
	write(t, model, "extra_state.pkl", evil)
	code, ids, _ := gateRun(t, model, "--osv-db", osvDB, "--attestation", att, "--attestation-key", pub)
	if code != 1 || !slices.Contains(ids, "ATTESTATION") || !slices.Contains(ids, "SCAN-SEVERITY") {
		t.Errorf("file added after the attestation: exit %d %v", code, ids)
	}
}

// TestGateDepsUnchecked: dependency files that no advisory data checked
// deny the release, naming the files, unless --osv-db is given or the
// data allows it.
func TestGateDepsUnchecked(t *testing.T) {
	osvDB := filepath.Join("..", "..", "deps", "testdata", "osv")
	model := gateModel(t, "with-deps", map[string][]byte{"requirements.txt": []byte("torch==2.4.0\n")})
	code, ids, msgs := gateRun(t, model)
	if code != 1 || !slices.Contains(ids, "DEPS-UNCHECKED") || !strings.Contains(msgs, "requirements.txt") {
		t.Errorf("no advisory data: exit %d %v\n%s", code, ids, msgs)
	}
	if _, ids, _ := gateRun(t, model, "--osv-db", osvDB); slices.Contains(ids, "DEPS-UNCHECKED") {
		t.Errorf("with --osv-db: %v", ids)
	}
	data := write(t, t.TempDir(), "team.yaml", []byte("violet:\n  require_vulnerability_data: false\n"))
	if _, ids, _ := gateRun(t, model, "--data", data); slices.Contains(ids, "DEPS-UNCHECKED") {
		t.Errorf("with require_vulnerability_data false: %v", ids)
	}
	// A model without dependency files needs no advisory data.
	if code, ids, _ := gateRun(t, gateModel(t, "no-deps", nil)); code != 0 {
		t.Errorf("no dependency files: exit %d %v", code, ids)
	}
}

// TestGateDataUnknownKeys: a misspelt key in --data is an error naming
// it, not a setting silently ignored.
func TestGateDataUnknownKeys(t *testing.T) {
	model := gateModel(t, "m", nil)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"misspelt.yaml": "violet:\n  max_severty: critical\n",
		"toplevel.json": `{"violett": {"max_severity": "critical"}}`,
	} {
		data := write(t, dir, name, []byte(text))
		code, _, errOut := violet(t, "gate", model, "--data", data)
		if code != 2 || !strings.Contains(errOut, map[string]string{"misspelt.yaml": "max_severty", "toplevel.json": "violett"}[name]) {
			t.Errorf("%s: exit %d\n%s", name, code, errOut)
		}
	}
}

// TestGateTextEscapesNames: a file name with terminal escapes is shown
// escaped in the text decision.
func TestGateTextEscapesNames(t *testing.T) {
	model := gateModel(t, "m", map[string][]byte{"evil\x1b[2K\r.pkl": evil})
	code, out, errOut := violet(t, "gate", model, "--osv-db", filepath.Join("..", "..", "deps", "testdata", "osv"))
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.ContainsAny(out, "\x1b\r") || !strings.Contains(out, `evil\x1b[2K\x0d.pkl`) {
		t.Errorf("the name is not escaped: %q", out)
	}
}
