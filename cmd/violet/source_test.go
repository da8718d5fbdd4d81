package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/report"
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
