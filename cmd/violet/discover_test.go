package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiscoverCommand(t *testing.T) {
	dir := t.TempDir()
	model, err := os.ReadFile("../../testdata/formats/benign/gguf/plain_v2.gguf")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "tiny.gguf", model)
	write(t, dir, "train.py", []byte(`m = AutoModel.from_pretrained("acme/base")`+"\n"))
	write(t, dir, "requirements.txt", []byte("torch==2.3.1\n"))

	code, out, errOut := violet(t, "discover", "--no-git", dir)
	if code != 0 || !strings.Contains(out, "tiny.gguf") || !strings.Contains(out, "acme/base") {
		t.Fatalf("text: exit %d\n%s%s", code, out, errOut)
	}

	code, out, _ = violet(t, "discover", "--no-git", "--format", "json", dir)
	var doc struct {
		SchemaVersion string         `json:"schema_version"`
		Summary       map[string]int `json:"summary"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.SchemaVersion != "1" || doc.Summary["model-file"] != 1 ||
		doc.Summary["dependency-file"] != 1 || doc.Summary["model-reference"] != 1 {
		t.Fatalf("json: exit %d, %+v\n%s", code, doc, out)
	}

	bom := filepath.Join(t.TempDir(), "bom.json")
	code, _, _ = violet(t, "discover", "--no-git", "--format", "cyclonedx", "-o", bom, dir)
	data, err := os.ReadFile(bom)
	if code != 0 || err != nil || !strings.Contains(string(data), `"pkg:huggingface/acme/base"`) {
		t.Fatalf("cyclonedx: exit %d, %v\n%s", code, err, data)
	}

	for _, args := range [][]string{
		{"discover", filepath.Join(dir, "missing")},
		{"discover", "--format", "sarif", dir},
		{"discover"},
	} {
		if code, _, _ := violet(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// gitTest runs git in dir for a test, in a clean environment.
func gitTest(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(stdin)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada Lovelace",
		"GIT_COMMITTER_EMAIL=ada@example.com"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// TestDiscoverArmedRepository: violet discover reads the owners of a
// repository whose configuration makes git run a program (a signed commit
// with log.showSignature and gpg.program, fsmonitor, pagers, an external
// diff), with no git on the PATH, and runs nothing.
func TestDiscoverArmedRepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.3.1\n"))
	gitTest(t, dir, "", "init", "-q", "-b", "main")
	gitTest(t, dir, "", "add", "-A")
	gitTest(t, dir, "", "commit", "-q", "-m", "deps")
	var signed strings.Builder
	for _, line := range strings.SplitAfter(gitTest(t, dir, "", "cat-file", "commit", "HEAD")+"\n", "\n") {
		signed.WriteString(line)
		if strings.HasPrefix(line, "committer ") {
			signed.WriteString("gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE=\n -----END PGP SIGNATURE-----\n")
		}
	}
	gitTest(t, dir, "", "update-ref", "refs/heads/main", gitTest(t, dir, signed.String(), "hash-object", "-t", "commit", "-w", "--stdin"))

	marker := filepath.Join(t.TempDir(), "ran")
	tool := write(t, t.TempDir(), "tool.sh", []byte("#!/bin/sh\necho \"$0 $*\" >> '"+marker+"'\n"))
	if err := os.Chmod(tool, 0o755); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf("[core]\n\tfsmonitor = %[1]s\n\tpager = %[1]s\n[log]\n\tshowSignature = true\n[gpg]\n\tprogram = %[1]s\n"+
		"[pager]\n\tlog = %[1]s\n[diff]\n\texternal = %[1]s\n", tool)
	write(t, filepath.Join(dir, ".git"), "config", []byte(config))

	t.Setenv("PATH", t.TempDir())
	code, out, errOut := violet(t, "discover", "--format", "json", dir)
	var doc struct {
		Assets []struct {
			Owners []struct{ Name, Source string } `json:"owners"`
		} `json:"assets"`
		Git bool `json:"git"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || !doc.Git || len(doc.Assets) != 1 || len(doc.Assets[0].Owners) != 1 ||
		doc.Assets[0].Owners[0] != (struct{ Name, Source string }{"Ada Lovelace <ada@example.com>", "git"}) {
		t.Errorf("exit %d, owners not read\n%s%s", code, out, errOut)
	}
	if data, err := os.ReadFile(marker); err == nil {
		t.Fatalf("violet discover ran a program of the repository:\n%s", data)
	}
}

// TestDiscoverGitFileNotFollowed: a .git file pointing outside PATH is
// not followed: no history, a note, exit 0.
func TestDiscoverGitFileNotFollowed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	outside := t.TempDir()
	write(t, outside, "requirements.txt", []byte("torch==2.3.1\n"))
	gitTest(t, outside, "", "init", "-q", "-b", "main")
	gitTest(t, outside, "", "add", "-A")
	gitTest(t, outside, "", "commit", "-q", "-m", "deps")
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.3.1\n"))
	write(t, dir, ".git", []byte("gitdir: "+filepath.Join(outside, ".git")+"\n"))
	code, out, errOut := violet(t, "discover", dir)
	if code != 0 || strings.Contains(out, "Ada Lovelace") || !strings.Contains(out, "not followed") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
