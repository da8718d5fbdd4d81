package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source/sourcetest"
)

// TestScanHF scans a model served in the Hugging Face API layout: the
// report names the pinned location, a malicious pickle fails the scan,
// and the temporary folder is removed.
func TestScanHF(t *testing.T) {
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"pytorch_model.bin": evil, "config.json": []byte(`{"model_type":"bert"}`)})
	s.LFS["pytorch_model.bin"] = true
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("HF_ENDPOINT", s.URL)
	code, out, errOut := violet(t, "scan", "-f", "json", "hf://org/model")
	if code != report.ExitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, errOut)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	loc := "hf://org/model@" + s.Commit
	if len(r.Targets) != 1 || r.Targets[0] != loc {
		t.Errorf("targets %v, want %s", r.Targets, loc)
	}
	found := false
	for _, f := range r.Files {
		if !strings.HasPrefix(f.Path, loc+"/") {
			t.Errorf("file %s not named under the location", f.Path)
		}
		for _, x := range f.Findings {
			found = found || x.Location.Path == loc+"/pytorch_model.bin"
		}
	}
	if !found {
		t.Errorf("no finding located in %s/pytorch_model.bin: %s", loc, out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestScanRemoteError: a location that cannot be read is exit 2, never a
// pass.
func TestScanRemoteError(t *testing.T) {
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"a.bin": clean})
	s.LFS["a.bin"] = true
	s.Lie["a.bin"] = strings.Repeat("0", 64)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, args := range [][]string{
		{"scan", "--hf-endpoint", s.URL, "hf://org/model"},     // a digest that differs
		{"scan", "--hf-endpoint", s.URL, "hf://org/other"},     // no such model
		{"scan", "--hf-endpoint", "ftp://x", "hf://org/model"}, // a bad endpoint
		{"scan", "gs://bucket/model"},                          // a scheme Violet does not read
	} {
		code, _, errOut := violet(t, args...)
		if code != report.ExitIncomplete || !strings.Contains(errOut, "cannot read") {
			t.Errorf("%v: exit %d, stderr %s", args, code, errOut)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestScanS3 scans a prefix of a bucket of an S3-compatible store.
func TestScanS3(t *testing.T) {
	s := sourcetest.NewS3(t, "models")
	s.Put(t, "models", "fraud/v3/model.pkl", evil)
	s.Put(t, "models", "fraud/v3/README.md", []byte("# fraud\n"))
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("TMPDIR", t.TempDir())
	code, out, errOut := violet(t, "scan", "--s3-endpoint", s.URL, "--s3-region", "us-east-1", "s3://models/fraud/v3")
	if code != report.ExitFindings || !strings.Contains(out, "s3://models/fraud/v3/model.pkl") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestVerifyOCI verifies a model pushed one file per layer with its
// signature attached as a referrer: without downloading a layer, and a
// tampered layer fails naming its file.
func TestVerifyOCI(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	dir := t.TempDir()
	write(t, dir, "model.safetensors", []byte("weights"))
	write(t, dir, "config.json", []byte("{}"))
	m, err := sign.Hash(context.Background(), dir, sign.DefaultSerialization(), sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := sign.NewKeySigner(key)
	bundle, err := sign.SignManifest(m, signer)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := write(t, dir, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	push := func(tag, weights string) {
		desc := reg.PushModel(t, "signed", tag, "", "", []sourcetest.Layer{
			{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{"org.cncf.model.filepath": "model.safetensors"}, Data: []byte(weights)},
			{MediaType: "application/vnd.cncf.model.weight.config.v1.raw", Annotations: map[string]string{"org.cncf.model.filepath": "config.json"}, Data: []byte("{}")},
		})
		reg.AttachBundle(t, "signed", desc, bundle)
	}
	push("good", "weights")
	push("bad", "weights, poisoned")
	code, out, errOut := violet(t, "verify", "--key", pub, "oci://"+reg.Host+"/signed:good")
	if code != report.ExitPass || !strings.Contains(out, "not downloaded: config.json, model.safetensors") {
		t.Errorf("good: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = violet(t, "verify", "--key", pub, "-f", "json", "oci://"+reg.Host+"/signed:bad")
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err, errOut)
	}
	if code != report.ExitFindings || rep.Verified || strings.Join(rep.Modified, ",") != "model.safetensors" || !strings.HasPrefix(rep.Signature, "referrer sha256:") {
		t.Errorf("tampered: exit %d %+v", code, rep)
	}
	reg.PushModel(t, "unsigned", "v1", "", "", []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightRaw, Data: []byte("x")}})
	if code, _, errOut := violet(t, "verify", "--key", pub, "oci://"+reg.Host+"/unsigned:v1"); code != report.ExitIncomplete || !strings.Contains(errOut, "no signature") {
		t.Errorf("unsigned: exit %d %s", code, errOut)
	}
}

// TestScanAttestHF attests the scan of a Hugging Face model: the subjects
// are the files inside the model, bound to the digests the hub states.
func TestScanAttestHF(t *testing.T) {
	_, keys := refKeys(t)
	key, pub := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem")
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"sub/evil.pkl": evil, "config.json": []byte(`{}`)})
	s.LFS["sub/evil.pkl"] = true
	t.Setenv("TMPDIR", t.TempDir())
	att := filepath.Join(t.TempDir(), "scan.att.json")
	if code, _, errOut := violet(t, "scan", "--hf-endpoint", s.URL, "--attest", att, "--key", key, "hf://org/model"); code != report.ExitFindings {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	a := readAttestation(t, att, keyVerifier(t, pub))
	if len(a.Subjects) != 2 || a.Subjects[0].Name != "config.json" || a.Subjects[1] != (sign.Subject{Name: "sub/evil.pkl", SHA256: sourcetest.SHA256(evil)}) {
		t.Errorf("subjects %+v", a.Subjects)
	}
	var p report.ScanAttestation
	if err := json.Unmarshal(a.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Targets) != 1 || p.Targets[0] != "hf://org/model@"+s.Commit || len(p.Findings) == 0 || p.Findings[0].Path != "sub/evil.pkl" {
		t.Errorf("predicate %s", a.Predicate)
	}
}
