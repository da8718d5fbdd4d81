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
