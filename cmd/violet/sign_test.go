package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// refKeys is the reference PKI of ../shared/specs/model-signing.
func refKeys(t *testing.T) (ref, keys string) {
	ref = tu.SharedDir(t, "specs", "model-signing", "reference-bundles")
	return ref, filepath.Join(ref, "keys", "certificate")
}

// TestSignVerifyCommands signs a model folder with a key and with a
// certificate, verifies it, then tampers with it: the exit codes and the
// messages say what is at fault.
func TestSignVerifyCommands(t *testing.T) {
	ref, keys := refKeys(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(filepath.Join(model, "sub"), 0o755)
	write(t, model, "config.json", []byte(`{"model_type": "llama"}`))
	write(t, model, "sub/weights.bin", []byte(strings.Repeat("w", 10000)))
	key, pub, ca := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem"), filepath.Join(keys, "ca-cert.pem")

	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"sign", model, "--key", key}, 0, "Signed"},
		{[]string{"verify", model, "--key", pub}, 0, "PASS"},
		{[]string{"verify", model, "--ca", ca}, 1, "not trusted"},
		{[]string{"verify", model}, 2, ""},
		{[]string{"verify", model, "--key", pub, "--ca", ca}, 2, ""},
		{[]string{"verify", model, "--key", pub, "--signature", filepath.Join(dir, "none.sig")}, 2, ""},
		{[]string{"sign", model}, 2, ""},
		{[]string{"sign", model, "--key", key, "--cert", filepath.Join(keys, "signing-key-cert.pem"), "--chain", filepath.Join(keys, "int-ca-cert.pem"), "--signature", filepath.Join(dir, "cert.sig")}, 0, "Signed"},
		{[]string{"verify", model, "--ca", ca, "--signature", filepath.Join(dir, "cert.sig")}, 0, "PASS"},
		{[]string{"verify", model, "--key", pub, "--signature", filepath.Join(dir, "cert.sig")}, 1, "not trusted"},
		{[]string{"hash", model, "--hash", "blake3"}, 0, `"hash_type": "blake3"`},
		{[]string{"hash", filepath.Join(dir, "missing")}, 2, ""},
		{[]string{"verify", filepath.Join(ref, "v1.1.0-sigstore"), "--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", filepath.Join(ref, "sigstore-public-good-trusted_root.json"), "--ignore-paths", "ignore-me"}, 0, "PASS"},
		{[]string{"verify", filepath.Join(ref, "v1.1.0-sigstore"), "--identity", "mallory@example.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", filepath.Join(ref, "sigstore-public-good-trusted_root.json"), "--ignore-paths", "ignore-me"}, 1, "not trusted"},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("violet %v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out, errOut)
		}
	}

	write(t, model, "sub/weights.bin", []byte("tampered"))
	write(t, model, "extra.py", []byte("import os"))
	code, out, _ := violet(t, "verify", model, "--key", pub, "--format", "json")
	var r struct {
		Verified        bool
		Modified, Added []string
		SignatureError  string `json:"signature_error"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || r.Verified || r.SignatureError != "" ||
		len(r.Modified) != 1 || r.Modified[0] != "sub/weights.bin" || len(r.Added) != 1 || r.Added[0] != "extra.py" {
		t.Errorf("after tampering: exit %d, %+v, %v\n%s", code, r, err, out)
	}
	if code, out, _ := violet(t, "verify", model, "--key", pub, "--ignore-unsigned-files"); code != 1 || !strings.Contains(out, "modified: sub/weights.bin") || strings.Contains(out, "extra.py") {
		t.Errorf("--ignore-unsigned-files: exit %d\n%s", code, out)
	}
}
