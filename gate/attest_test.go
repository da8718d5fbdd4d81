package gate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
)

// attestModel writes a model folder and a key, and signs a scan
// attestation of the folder's files as they are, with predicateType.
func attestModel(t *testing.T, predicateType string) (model string, bundle []byte, key *ecdsa.PrivateKey) {
	t.Helper()
	model = t.TempDir()
	files := map[string]string{"config.json": `{"a": 1}`, "sub/weights.bin": strings.Repeat("w", 5000), ".git/HEAD": "ref"}
	var subjects []sign.Subject
	for name, data := range files {
		p := filepath.Join(model, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, ".git/") {
			d := sha256.Sum256([]byte(data))
			subjects = append(subjects, sign.Subject{Name: name, SHA256: hex.EncodeToString(d[:])})
		}
	}
	key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := sign.NewKeySigner(key)
	pred := &report.ScanAttestation{Scanner: report.AttestedScanner{Name: "violet", Version: "test"}, Targets: []string{model},
		FailOn: "high", ExitCode: report.ExitFindings,
		Summary:  report.AttestedSummary{Files: 2, Scanned: 1, Skipped: 1, Findings: map[string]int{"critical": 1, "high": 0}},
		Findings: []report.AttestedFinding{{Rule: "PICKLE-PROCESS", Severity: "critical", Path: "sub/weights.bin", Offset: 3}}}
	bundle, err := sign.Attest(subjects, predicateType, pred, s)
	if err != nil {
		t.Fatal(err)
	}
	return model, bundle, key
}

func verifierOf(t *testing.T, key *ecdsa.PrivateKey) sign.Verifier {
	t.Helper()
	v, err := sign.NewKeyVerifier(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCheckAttestationValid(t *testing.T) {
	model, bundle, key := attestModel(t, sign.ScanPredicateType)
	// The attestation itself, written into the folder, is not a model file.
	if err := os.WriteFile(filepath.Join(model, "scan.att.json"), bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	ev := CheckAttestation(model, bundle, verifierOf(t, key))
	hint, _ := sign.KeyHint(&key.PublicKey)
	if !ev.Verified || ev.Error != "" || ev.Signer != hint || ev.Counts["critical"] != 1 {
		t.Errorf("valid attestation: %+v", ev)
	}
}

func TestCheckAttestationTampered(t *testing.T) {
	model, bundle, key := attestModel(t, sign.ScanPredicateType)
	if err := os.WriteFile(filepath.Join(model, "sub", "weights.bin"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := CheckAttestation(model, bundle, verifierOf(t, key))
	if ev.Verified || !strings.Contains(ev.Error, "modified: sub/weights.bin") || ev.Signer == "" {
		t.Errorf("tampered file: %+v", ev)
	}
}

func TestCheckAttestationAddedRemoved(t *testing.T) {
	model, bundle, key := attestModel(t, sign.ScanPredicateType)
	if err := os.WriteFile(filepath.Join(model, "sub", "extra.py"), []byte("import os"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := CheckAttestation(model, bundle, verifierOf(t, key))
	if ev.Verified || !strings.Contains(ev.Error, "added: sub/extra.py") {
		t.Errorf("added file: %+v", ev)
	}
	os.Remove(filepath.Join(model, "sub", "extra.py"))
	os.Remove(filepath.Join(model, "config.json"))
	ev = CheckAttestation(model, bundle, verifierOf(t, key))
	if ev.Verified || !strings.Contains(ev.Error, "missing: config.json") {
		t.Errorf("removed file: %+v", ev)
	}
}

func TestCheckAttestationWrongKey(t *testing.T) {
	model, bundle, _ := attestModel(t, sign.ScanPredicateType)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ev := CheckAttestation(model, bundle, verifierOf(t, other))
	if ev.Verified || !strings.Contains(ev.Error, sign.ErrSignature.Error()) || ev.Signer != "" || ev.Counts != nil {
		t.Errorf("wrong key: %+v", ev)
	}
	ev = CheckAttestation(model, []byte("{not a bundle"), verifierOf(t, other))
	if ev.Verified || ev.Error == "" {
		t.Errorf("not a bundle: %+v", ev)
	}
}

func TestCheckAttestationWrongPredicateType(t *testing.T) {
	model, bundle, key := attestModel(t, "https://example.com/other/v1")
	ev := CheckAttestation(model, bundle, verifierOf(t, key))
	if ev.Verified || !strings.Contains(ev.Error, sign.ErrPayload.Error()) || !strings.Contains(ev.Error, "predicate type") {
		t.Errorf("wrong predicate type: %+v", ev)
	}
}

func TestCheckAttestationSingleFile(t *testing.T) {
	model, bundle, key := attestModel(t, sign.ScanPredicateType)
	ev := CheckAttestation(filepath.Join(model, "config.json"), bundle, verifierOf(t, key))
	if ev.Verified || !strings.Contains(ev.Error, "missing: sub/weights.bin") {
		t.Errorf("one file of the model: %+v", ev)
	}
}

// TestCheckAttestationLinkOutside: a symbolic link out of the model folder
// is not followed, even to a file whose digest the attestation names: the
// scan never reads such a file, so no attestation can be about it.
func TestCheckAttestationLinkOutside(t *testing.T) {
	model := t.TempDir()
	outside := filepath.Join(t.TempDir(), "weights.pkl")
	data := []byte("bytes outside the model")
	if err := os.WriteFile(outside, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(model, "weights.pkl")); err != nil {
		t.Skip(err)
	}
	d := sha256.Sum256(data)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := sign.NewKeySigner(key)
	pred := &report.ScanAttestation{Scanner: report.AttestedScanner{Name: "violet"}, Targets: []string{model}, FailOn: "high",
		Summary: report.AttestedSummary{Files: 1, Scanned: 1, Findings: map[string]int{}}, Findings: []report.AttestedFinding{}}
	bundle, err := sign.Attest([]sign.Subject{{Name: "weights.pkl", SHA256: hex.EncodeToString(d[:])}}, sign.ScanPredicateType, pred, s)
	if err != nil {
		t.Fatal(err)
	}
	ev := CheckAttestation(model, bundle, verifierOf(t, key))
	if ev.Verified || !strings.Contains(ev.Error, "not hashed: weights.pkl") || !strings.Contains(ev.Error, "outside") {
		t.Errorf("link out of the folder: %+v", ev)
	}
}
