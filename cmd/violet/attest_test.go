package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/gate"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
)

// readAttestation verifies the attestation at path with v.
func readAttestation(t *testing.T, path string, v sign.Verifier) *sign.Attestation {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sign.VerifyAttestation(b, v, sign.ScanPredicateType)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func keyVerifier(t *testing.T, pubPEM string) sign.Verifier {
	t.Helper()
	data, err := os.ReadFile(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParsePublicKey(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.NewKeyVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScanAttest attests the scan of a folder with the reference key and
// with its certificate, checks what is attested, and that the gate's check
// follows the files.
func TestScanAttest(t *testing.T) {
	_, keys := refKeys(t)
	key, pub := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem")
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(filepath.Join(model, "sub"), 0o755)
	write(t, model, "config.json", []byte(`{"model_type": "llama"}`))
	write(t, model, "sub/evil.pkl", evil)
	att := filepath.Join(dir, "scan.att.json")

	code, out, errOut := violet(t, "scan", model, "--format", "json", "--attest", att, "--key", key)
	if code != report.ExitFindings {
		t.Fatalf("scan --attest of a malicious model: exit %d, want 1 (unchanged)\n%s", code, errOut)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	evilSum := sha256.Sum256(evil)
	if len(r.Files) != 2 || r.Files[1].SHA256 != hex.EncodeToString(evilSum[:]) {
		t.Errorf("the report's files have no digests: %+v", r.Files)
	}
	a := readAttestation(t, att, keyVerifier(t, pub))
	if len(a.Subjects) != 2 || a.Subjects[0].Name != "config.json" || a.Subjects[1] != (sign.Subject{Name: "sub/evil.pkl", SHA256: hex.EncodeToString(evilSum[:])}) {
		t.Errorf("subjects %+v", a.Subjects)
	}
	var p report.ScanAttestation
	if err := json.Unmarshal(a.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	if p.Scanner.Name != "violet" || p.ExitCode != 1 || p.FailOn != "high" || p.Summary.Files != 2 || p.Summary.Findings["critical"] == 0 ||
		len(p.Findings) == 0 || p.Findings[0].Path != "sub/evil.pkl" || p.Findings[0].Rule != "PICKLE-PROCESS" {
		t.Errorf("predicate %s", a.Predicate)
	}
	bundle, _ := os.ReadFile(att)
	if ev := gate.CheckAttestation(model, bundle, keyVerifier(t, pub)); !ev.Verified || ev.Signer == "" || ev.Counts["critical"] == 0 {
		t.Errorf("gate: %+v", ev)
	}

	// A certificate, and the attestation written into the model folder,
	// over an earlier one: it is no subject of the new one.
	inside := filepath.Join(model, "scan.att.json")
	write(t, model, "scan.att.json", []byte("an earlier attestation"))
	code, _, errOut = violet(t, "scan", model, "--attest", inside, "--key", key,
		"--cert", filepath.Join(keys, "signing-key-cert.pem"), "--chain", filepath.Join(keys, "int-ca-cert.pem"))
	if code != report.ExitFindings {
		t.Fatalf("scan --attest --cert: exit %d\n%s", code, errOut)
	}
	cas, err := cli.ReadCertificates(filepath.Join(keys, "ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ca := sign.NewCertificateVerifier(cas)
	if a := readAttestation(t, inside, ca); len(a.Subjects) != 2 || !strings.Contains(a.Signer, "CN=") {
		t.Errorf("certificate attestation: %+v", a)
	}
	bundle, _ = os.ReadFile(inside)
	if ev := gate.CheckAttestation(model, bundle, ca); !ev.Verified {
		t.Errorf("gate, attestation inside the model: %+v", ev)
	}
	write(t, model, "config.json", []byte(`{"model_type": "changed"}`))
	if ev := gate.CheckAttestation(model, bundle, ca); ev.Verified || !strings.Contains(ev.Error, "modified: config.json") {
		t.Errorf("gate, changed file: %+v", ev)
	}
}

// TestScanAttestGeneratedKey attests a single clean file with a new key:
// the subject is its base name, the exit code 0.
func TestScanAttestGeneratedKey(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPath := write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	model := write(t, dir, "model.pkl", clean)
	att := filepath.Join(dir, "model.att")
	if code, _, errOut := violet(t, "scan", model, "--attest", att, "--key", keyPath); code != 0 || !strings.Contains(errOut, "Attestation: "+att) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	v, _ := sign.NewKeyVerifier(&k.PublicKey)
	a := readAttestation(t, att, v)
	sum := sha256.Sum256(clean)
	hint, _ := sign.KeyHint(&k.PublicKey)
	if len(a.Subjects) != 1 || a.Subjects[0] != (sign.Subject{Name: "model.pkl", SHA256: hex.EncodeToString(sum[:])}) || a.Signer != hint {
		t.Errorf("attestation %+v", a)
	}
	bundle, _ := os.ReadFile(att)
	if ev := gate.CheckAttestation(model, bundle, v); !ev.Verified || ev.Signer != hint {
		t.Errorf("gate: %+v", ev)
	}
}

func TestScanAttestErrors(t *testing.T) {
	_, keys := refKeys(t)
	key := filepath.Join(keys, "signing-key.pem")
	dir := t.TempDir()
	model := write(t, dir, "model.pkl", clean)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, args := range [][]string{
		{"scan", model, "--key", key},                                                             // --key without --attest
		{"scan", model, "--attest", filepath.Join(dir, "a")},                                      // no key
		{"scan", model, model, "--attest", filepath.Join(dir, "a"), "--key", key},                 // two targets
		{"scan", model, "--attest", filepath.Join(dir, "a"), "--key", filepath.Join(dir, "none")}, // unreadable key
		{"scan", model, "--attest", filepath.Join(dir, "no", "such", "dir"), "--key", key},        // unwritable attestation
		{"scan", empty, "--attest", filepath.Join(dir, "a"), "--key", key},                        // nothing to attest
	} {
		if code, _, errOut := violet(t, args...); code != report.ExitIncomplete || errOut == "" {
			t.Errorf("violet %v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
}

// TestScanAttestNoLinkOutside: a symbolic link that leaves the scanned
// folder is not read by the scan, so its target is not hashed either: the
// attestation is refused rather than binding a verdict to bytes the scan
// never judged.
func TestScanAttestNoLinkOutside(t *testing.T) {
	_, keys := refKeys(t)
	key := filepath.Join(keys, "signing-key.pem")
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	write(t, model, "config.json", []byte(`{}`))
	outside := write(t, dir, "outside.pkl", evil)
	if err := os.Symlink(outside, filepath.Join(model, "weights.pkl")); err != nil {
		t.Skip(err)
	}
	att := filepath.Join(dir, "scan.att.json")
	code, _, errOut := violet(t, "scan", model, "--attest", att, "--key", key)
	if code != report.ExitIncomplete || !strings.Contains(errOut, "weights.pkl") {
		t.Errorf("exit %d, want 2 naming the link\n%s", code, errOut)
	}
	if _, err := os.Stat(att); err == nil {
		t.Error("an attestation was written")
	}
}

// TestScanAttestDigestsAreTheScannedBytes: the digests come from the scan's
// reading of each file, not from reading the files again afterwards: a
// file swapped once the scan is over keeps the digest of what was scanned.
func TestScanAttestDigestsAreTheScannedBytes(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	big := append(append([]byte{}, clean...), make([]byte, 200<<10)...) // read through the file, not from memory
	write(t, model, "small.pkl", clean)
	write(t, model, "big.bin", big)
	r, err := scan.Scan(context.Background(), []string{model}, scan.Options{
		Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), Digest: true})
	if err != nil {
		t.Fatal(err)
	}
	// Swapped after the scan, same sizes.
	write(t, model, "small.pkl", bytes.Repeat([]byte{'x'}, len(clean)))
	write(t, model, "big.bin", make([]byte, len(big)))
	if err := checkDigests(r); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Files {
		want := map[string][]byte{"small.pkl": clean, "big.bin": big}[filepath.Base(f.Path)]
		if sum := sha256.Sum256(want); f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: digest %s is not the scanned bytes'", f.Path, f.SHA256)
		}
	}
}
