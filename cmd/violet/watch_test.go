package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/source/sourcetest"
)

// TestWatchHFOnce: the first run scans the commit, a second finds nothing
// new, a new commit is scanned again; the state file names the commit.
func TestWatchHFOnce(t *testing.T) {
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"pytorch_model.bin": evil})
	t.Setenv("TMPDIR", t.TempDir())
	state := filepath.Join(t.TempDir(), "watch.json")
	args := []string{"watch", "--once", "--state", state, "--hf-endpoint", s.URL, "-f", "json", "hf://org/model"}
	code, out, errOut := violet(t, args...)
	if code != report.ExitFindings || !strings.Contains(out, "hf://org/model@"+s.Commit+"/pytorch_model.bin") {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	var st watchState
	b, _ := os.ReadFile(state)
	if err := json.Unmarshal(b, &st); err != nil || st.Scanned["hf://org/model"] != s.Commit {
		t.Errorf("state %s %v", b, err)
	}
	if code, out, _ := violet(t, args...); code != report.ExitPass || out != "" {
		t.Errorf("nothing new: exit %d, report %q", code, out)
	}
	s.Commit = strings.Repeat("cd", 20)
	s.Files["pytorch_model.bin"] = clean
	if code, out, errOut := violet(t, args...); code != report.ExitPass || !strings.Contains(out, s.Commit) {
		t.Errorf("a new commit: exit %d\n%s\n%s", code, out, errOut)
	}
	// A state of another location is refused.
	if code, _, errOut := violet(t, "watch", "--once", "--state", state, "hf://org/other"); code != report.ExitIncomplete || !strings.Contains(errOut, "state of") {
		t.Errorf("another location's state: exit %d %s", code, errOut)
	}
}

// TestWatchOCIRepositoryTags: a repository without a tag is watched tag by
// tag; a new tag and a tag moved to a new digest are scanned.
func TestWatchOCIRepositoryTags(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	layer := func(data []byte) []sourcetest.Layer {
		return []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{"org.cncf.model.filepath": "model.pkl"}, Data: data}}
	}
	reg.PushModel(t, "models/m", "v1", "", "", layer(clean))
	t.Setenv("TMPDIR", t.TempDir())
	state := filepath.Join(t.TempDir(), "watch.json")
	args := []string{"watch", "--once", "--state", state, "oci://" + reg.Host + "/models/m"}
	if code, out, errOut := violet(t, args...); code != report.ExitPass || !strings.Contains(errOut, "watch: scanned") {
		t.Fatalf("v1: exit %d\n%s\n%s", code, out, errOut)
	}
	reg.PushModel(t, "models/m", "v2", "", "", layer(evil))
	code, out, errOut := violet(t, args...)
	if code != report.ExitFindings || strings.Count(errOut, "watch: scanned") != 1 || !strings.Contains(out, "model.pkl") {
		t.Errorf("v2: exit %d\n%s\n%s", code, out, errOut)
	}
	reg.PushModel(t, "models/m", "v1", "", "", layer(evil)) // v1 moved
	if code, _, errOut := violet(t, args...); code != report.ExitFindings || strings.Count(errOut, "watch: scanned") != 1 {
		t.Errorf("v1 moved: exit %d %s", code, errOut)
	}
	if code, _, errOut := violet(t, args...); code != report.ExitPass || strings.Contains(errOut, "watch: scanned") {
		t.Errorf("nothing new: exit %d %s", code, errOut)
	}
}

// TestWatchLoopCancel polls an S3 prefix at a short interval: a new object
// is scanned at a later poll, and cancelling the context ends the command
// with exit 0.
func TestWatchLoopCancel(t *testing.T) {
	s3 := sourcetest.NewS3(t, "models")
	s3.Put(t, "models", "m/model.pkl", clean)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("TMPDIR", t.TempDir())
	root, _ := newRootWith()
	var out, errOut syncBuffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"watch", "--interval", "20ms", "--s3-endpoint", s3.URL, "s3://models/m"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	waitFor(t, func() bool { return strings.Count(errOut.String(), "watch: scanned") == 1 })
	s3.Put(t, "models", "m/extra.pkl", evil)
	waitFor(t, func() bool { return strings.Count(errOut.String(), "watch: scanned") == 2 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop after the cancel")
	}
	if !strings.Contains(out.String(), "s3://models/m/extra.pkl") {
		t.Errorf("the new object's report: %s", out.String())
	}
}

// waitFor waits until cond holds, at most 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// TestWatchUploadHF: a new commit's report is uploaded to violet serve
// under the model's Hugging Face repository.
func TestWatchUploadHF(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	url, _, _ := startServe(t, data)
	raw, err := os.ReadFile(filepath.Join(data, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	api(t, "POST", url+"/api/v1/teams", admin, map[string]string{"name": "ml"}, nil, 201)
	api(t, "POST", url+"/api/v1/users", admin, map[string]string{"login": "ci", "team": "ml", "role": "ml-engineer"}, nil, 201)
	var tok struct{ Secret string }
	api(t, "POST", url+"/api/v1/tokens", admin, map[string]any{"login": "ci", "team": "ml", "role": "ml-engineer", "name": "ci"}, &tok, 201)
	t.Setenv(TokenEnv, tok.Secret)
	t.Setenv("TMPDIR", t.TempDir())

	s := sourcetest.NewHF(t, "org/fraud-detector", map[string][]byte{"model.pkl": evil})
	code, _, errOut := violet(t, "watch", "--once", "--upload", url, "--hf-endpoint", s.URL, "hf://org/fraud-detector")
	if code != report.ExitFindings || !strings.Contains(errOut, "Uploaded the scan report of fraud-detector") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m struct {
		Name       string `json:"name"`
		SourceKind string `json:"source_kind"`
		SourceRef  string `json:"source_ref"`
	}
	api(t, "GET", url+"/api/v1/models/fraud-detector", tok.Secret, nil, &m, 200)
	if m.SourceKind != "huggingface" || m.SourceRef != "org/fraud-detector" {
		t.Errorf("model %+v", m)
	}
}
