package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The tests of this file run the shell of the CI integrations for real:
// the GitHub Action's steps, the GitLab template's jobs and the pre-commit
// hooks, with bash, in a workspace of model files, and a "violet" on PATH
// that is this test binary (TestMain runs the command line when asked to).
// The action installs violet as it does on GitHub, with ci/install.sh,
// from a fake release served on 127.0.0.1 (an archive holding the test's
// "violet", and its checksums.txt). What they cannot run is what lives on
// GitHub or GitLab: the actions the action uses (cosign-installer, cache,
// setup-go, upload-sarif), cosign's check of the release's signature (no
// cosign, no Sigstore here: the tests set VIOLET_VERIFY_SIGNATURE=false),
// the runners themselves, and the installation with go install (tested
// for shape in ci_files_test.go).

// asVioletEnv makes the test binary run as violet.
const asVioletEnv = "VIOLET_TEST_AS_VIOLET"

func TestMain(m *testing.M) {
	if os.Getenv(asVioletEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// violetScript returns a "violet" shell script that runs this test binary
// as violet.
func violetScript(t *testing.T) []byte {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", asVioletEnv, self))
}

// violetPATH returns a PATH whose first directory holds a "violet" that
// runs this test binary as violet.
func violetPATH(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "violet"), violetScript(t), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// pathWithout returns the test's PATH less the directories that hold any
// of names: no other violet than the one a test installs, no cosign.
func pathWithout(names ...string) string {
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		found := false
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				found = true
			}
		}
		if !found {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// shellRun is one run of a script: its exit code and what it printed.
type shellRun struct {
	code   int
	stdout string
	stderr string
}

// runShell runs script with bash (given its flags, and the script's
// arguments) in dir, with env added to the test's environment.
func runShell(t *testing.T, dir string, env map[string]string, script string, flags []string, args ...string) shellRun {
	t.Helper()
	return runShellWith(t, "bash", dir, env, script, flags, args...)
}

// runShellWith is runShell with another shell: sh is dash here, the
// busybox sh of the release image and the POSIX sh of ci/install.sh.
func runShellWith(t *testing.T, shell, dir string, env map[string]string, script string, flags []string, args ...string) shellRun {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Skipf("no %s", shell)
	}
	f := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(shell, append(append(flags, f), args...)...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return shellRun{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// modelWorkspace is a directory with a malicious and a benign PyTorch
// model, a malicious one whose name starts with a dash, and a
// requirements file with a typosquatted package.
func modelWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	models := filepath.Join(repoRoot, "testdata", "models")
	for name, src := range map[string]string{
		"evil.pt":  "malicious/pytorch/data_pkl_injected.pt",
		"-evil.pt": "malicious/pytorch/data_pkl_injected.pt",
		"good.pt":  "benign/pytorch/state_dict.pt",
	} {
		data, err := os.ReadFile(filepath.Join(models, src))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, name, data)
	}
	write(t, dir, "requirements.txt", []byte("torhc==2.4.0\n"))
	addTricks(t, dir)
	return dir
}

// addTricks adds to a workspace the folders of the tricks every CI recipe
// must not pass: lfs/ holds a Git LFS pointer named as a model (a checkout
// without lfs: true), docs/ holds no model at all (a wrong path),
// configured/ a malicious pickle beside its own .violet.yaml that allows
// it, and linked/ a link to a malicious pickle outside the workspace.
func addTricks(t *testing.T, dir string) {
	t.Helper()
	pointer := "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 438007000\n"
	for _, d := range []string{"lfs", "docs", "configured", "linked"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "lfs"), "pytorch_model.bin", []byte(pointer))
	write(t, filepath.Join(dir, "docs"), "README.md", []byte("# The model card\n"))
	write(t, filepath.Join(dir, "configured"), "model.pkl", evil)
	write(t, filepath.Join(dir, "configured"), ".violet.yaml", []byte("allow:\n  - posix.system\nignore:\n  - '*.pkl'\n"))
	outside := write(t, t.TempDir(), "model.pkl", evil)
	if err := os.Symlink(outside, filepath.Join(dir, "linked", "model.pkl")); err != nil {
		t.Fatal(err)
	}
}

// expression is a GitHub Actions expression of the kinds action.yml passes
// to its steps: an input, a step's output, and the runner's platform and
// temporary folder.
var expression = regexp.MustCompile(`\$\{\{\s*(?:inputs\.([\w-]+)|steps\.([\w-]+)\.outputs\.([\w-]+)|runner\.(os|arch|temp))\s*\}\}`)

// inputCondition is a condition of a step's if: on an input's value.
var inputCondition = regexp.MustCompile(`inputs\.([\w-]+) == '([^']*)'`)

// githubOutputs parses a $GITHUB_OUTPUT file (name=value lines).
func githubOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			outs[k] = v
		}
	}
	return outs
}

// runnerPlatform returns GitHub's names of the test's platform, the
// runner.os and runner.arch of a runner like this machine.
func runnerPlatform(t *testing.T) (string, string) {
	t.Helper()
	os, ok := map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS]
	if !ok {
		t.Skipf("ci/install.sh is tested on linux and darwin, not %s", runtime.GOOS)
	}
	arch, ok := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	if !ok {
		t.Skipf("violet is released for amd64 and arm64, not %s", runtime.GOARCH)
	}
	return os, arch
}

// tarEntry is a file of a test archive: a regular file, or a symbolic
// link when link is set.
type tarEntry struct {
	name, link string
	body       []byte
}

// tarGz returns a .tar.gz of the entries.
func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o755, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.link != "" {
			h = &tar.Header{Name: e.name, Mode: 0o777, Linkname: e.link, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.link == "" {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checksums returns a checksums.txt of the files, as GoReleaser writes it:
// "SHA256  NAME" lines, sorted by name.
func checksums(files map[string][]byte) []byte {
	var lines []string
	for name, data := range files {
		lines = append(lines, fmt.Sprintf("%x  %s", sha256.Sum256(data), name))
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	return []byte(strings.Join(lines, "\n") + "\n")
}

// fakeRelease is a violet release, served on 127.0.0.1 as GitHub serves
// its releases (BASE/TAG/NAME): the archive of this platform holding the
// test's "violet", another platform's archive, and checksums.txt. It has
// no checksums.txt.sigstore.json: nothing here can sign as GitHub's OIDC
// identity.
type fakeRelease struct {
	url     string // VIOLET_DOWNLOAD_URL
	version string
	archive string // the archive of this platform
	mu      sync.Mutex
	files   map[string][]byte
	gets    atomic.Int64
}

func newFakeRelease(t *testing.T, version string) *fakeRelease {
	t.Helper()
	goos, goarch := runtime.GOOS, runtime.GOARCH
	r := &fakeRelease{version: version, archive: fmt.Sprintf("violet_%s_%s_%s.tar.gz", strings.TrimPrefix(version, "v"), goos, goarch)}
	r.files = map[string][]byte{
		r.archive: tarGz(t, tarEntry{name: "violet", body: violetScript(t)}, tarEntry{name: "LICENSE", body: []byte("Apache-2.0\n")}),
		fmt.Sprintf("violet_%s_windows_amd64.zip", strings.TrimPrefix(version, "v")): []byte("another platform's archive"),
	}
	r.files["checksums.txt"] = checksums(r.files)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.gets.Add(1)
		r.mu.Lock()
		data, ok := r.files[strings.TrimPrefix(req.URL.Path, "/"+r.version+"/")]
		r.mu.Unlock()
		if !ok || !strings.HasPrefix(req.URL.Path, "/"+r.version+"/") {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// set replaces a file of the release (nil: removes it).
func (r *fakeRelease) set(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if data == nil {
		delete(r.files, name)
		return
	}
	r.files[name] = data
}

// actionRun is what a run of the action's steps did.
type actionRun struct {
	outputs map[string]map[string]string // by step id
	failed  string                       // the step that failed, "" when none did
	last    shellRun                     // the last step that ran
	log     string                       // what the steps printed
}

// runAction runs the action's run steps as a runner would: each input
// through the step's env, bash with GitHub's flags, a $GITHUB_OUTPUT file
// of its own for each step, the folders written to $GITHUB_PATH put first
// on PATH for the steps after, the steps of the other install input
// skipped, and after a failed step only the steps that run always(). The
// steps that use an action (cosign-installer, cache, setup-go,
// upload-sarif) run on GitHub only.
func runAction(t *testing.T, a actionFile, with map[string]string, env map[string]string, work string) actionRun {
	t.Helper()
	runnerOS, runnerArch := runnerPlatform(t)
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
	}
	for k, v := range with {
		inputs[k] = v
	}
	runner := map[string]string{"os": runnerOS, "arch": runnerArch, "temp": env["RUNNER_TEMP"]}
	run := actionRun{outputs: map[string]map[string]string{}}
	// value evaluates the expressions of an env value.
	value := func(s string) string {
		return expression.ReplaceAllStringFunc(s, func(e string) string {
			m := expression.FindStringSubmatch(e)
			switch {
			case m[1] != "":
				v, ok := inputs[m[1]]
				if !ok {
					t.Errorf("action.yml reads input %q, which it does not declare", m[1])
				}
				return v
			case m[4] != "":
				return runner[m[4]]
			}
			return run.outputs[m[2]][m[3]]
		})
	}
	for i, s := range a.Runs.Steps {
		if s.Run == "" || strings.Contains(s.Run, "go install") {
			continue // an action, or the source build: tested for shape (ci_files_test.go)
		}
		if run.failed != "" && !strings.Contains(s.If, "always()") {
			continue // a step failed: the job runs only the steps that run always()
		}
		skip := false
		for _, c := range inputCondition.FindAllStringSubmatch(s.If, -1) {
			skip = skip || inputs[c[1]] != c[2]
		}
		if strings.Contains(s.If, "exit-code != ''") && run.outputs["violet"]["exit-code"] == "" {
			skip = true
		}
		if skip {
			continue
		}
		stepEnv := map[string]string{}
		for k, v := range env {
			stepEnv[k] = v
		}
		// The runner puts the folders of $GITHUB_PATH first, the last one added first of all.
		if data, err := os.ReadFile(env["GITHUB_PATH"]); err == nil {
			dirs := strings.Fields(string(data))
			slices.Reverse(dirs)
			stepEnv["PATH"] = strings.Join(append(dirs, env["PATH"]), string(os.PathListSeparator))
		}
		stepEnv["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), fmt.Sprintf("output-%d", i))
		write(t, filepath.Dir(stepEnv["GITHUB_OUTPUT"]), filepath.Base(stepEnv["GITHUB_OUTPUT"]), nil)
		for k, v := range s.Env {
			stepEnv[k] = value(v)
		}
		// GitHub runs a bash step as: bash --noprofile --norc -eo pipefail {0}
		run.last = runShell(t, work, stepEnv, s.Run, []string{"--noprofile", "--norc", "-eo", "pipefail"})
		run.log += run.last.stdout + run.last.stderr
		if s.ID != "" {
			run.outputs[s.ID] = githubOutputs(t, stepEnv["GITHUB_OUTPUT"])
		}
		if run.last.code != 0 && run.failed == "" {
			run.failed = s.Name
		}
	}
	return run
}

// actionEnv returns the environment of a runner for the action: the
// workspace, the files of the runner's commands, the action's own
// checkout, and the fake release to install from. PATH has no violet: the
// action installs its own.
func actionEnv(t *testing.T, work string, rel *fakeRelease) map[string]string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	meta := t.TempDir()
	env := map[string]string{
		"PATH":                    pathWithout("violet"),
		"GITHUB_ACTIONS":          "true",
		"GITHUB_WORKSPACE":        work,
		"GITHUB_ACTION_PATH":      root,
		"GITHUB_STEP_SUMMARY":     filepath.Join(meta, "summary"),
		"GITHUB_PATH":             filepath.Join(meta, "path"),
		"RUNNER_TEMP":             t.TempDir(),
		"VIOLET_DOWNLOAD_URL":     rel.url,
		"VIOLET_VERIFY_SIGNATURE": "false", // no cosign here: the SHA-256 only
	}
	write(t, meta, "summary", nil)
	write(t, meta, "path", nil)
	return env
}

// skipWithoutTools skips a test whose PATH lost, with the directories
// pathWithout left out, a tool that ci/install.sh needs: a cosign
// installed in /usr/bin takes sh and tar with it.
func skipWithoutTools(t *testing.T, path string) {
	t.Helper()
	for _, tools := range [][]string{{"sh"}, {"tar"}, {"awk"}, {"curl", "wget"}, {"sha256sum", "shasum", "openssl"}} {
		found := false
		for _, tool := range tools {
			for _, dir := range filepath.SplitList(path) {
				if _, err := os.Stat(filepath.Join(dir, tool)); err == nil {
					found = true
				}
			}
		}
		if !found {
			t.Skipf("%v is only where cosign is, on this machine's PATH", tools)
		}
	}
}

// TestGitHubActionRuns runs the action's own steps as a runner would,
// installing violet from a fake release with ci/install.sh, then the
// command with each input, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, then
// the last step that exits with violet's code.
func TestGitHubActionRuns(t *testing.T) {
	var a actionFile
	unmarshalYAML(t, "action.yml", &a)
	rel := newFakeRelease(t, installDefaultVersion(t))

	cases := []struct {
		name     string
		inputs   map[string]string
		exit     string // the exit-code output
		sarif    bool   // a SARIF file is written and named in sarif-file
		rule     string // a rule the SARIF file holds
		inStdout string // something the step prints
	}{
		{"scan malicious", map[string]string{"path": "evil.pt"}, "1", true, "PICKLE-PROCESS", "violet scan evil.pt: exit 1"},
		{"scan benign", map[string]string{"path": "good.pt"}, "0", true, "", "violet scan good.pt: exit 0, passed"},
		{"path starting with a dash", map[string]string{"path": "-evil.pt"}, "1", true, "PICKLE-PROCESS", "exit 1"},
		{"fail-on passed to scan", map[string]string{"path": "good.pt", "fail-on": "severe"}, "2", false, "", "exit 2"},
		{"deps", map[string]string{"command": "deps", "path": "."}, "1", true, "DEPS-TYPOSQUAT", "exit 1"},
		{"gate", map[string]string{"command": "gate", "path": "evil.pt"}, "1", true, "GATE-DENY", "exit 1"},
		{"verify writes no SARIF and has no fail-on", map[string]string{"command": "verify", "path": "good.pt", "fail-on": "high"},
			"2", false, "", "::warning title=violet::violet verify has no --fail-on"},
		{"no SARIF asked", map[string]string{"path": "evil.pt", "sarif": ""}, "1", false, "", "PICKLE-PROCESS"},
		{"bad command", map[string]string{"command": "rm"}, "2", false, "", "::error title=violet::the command input must be"},
		{"LFS pointer not fetched", map[string]string{"path": "lfs"}, "2", true, "CONTENT-NOT-FETCHED", "exit 2"},
		{"no model in path", map[string]string{"path": "docs"}, "2", true, "", "exit 2"},
		{"config shipped in the model", map[string]string{"path": "configured"}, "1", true, "PICKLE-PROCESS", "exit 1"},
		{"link out of the workspace", map[string]string{"path": "linked"}, "2", true, "SYMLINK-OUTSIDE", "exit 2"},
		{"gate on an LFS pointer", map[string]string{"command": "gate", "path": "lfs"}, "1", true, "GATE-DENY", "exit 1"},
		{"version pinned", map[string]string{"path": "evil.pt", "version": rel.version}, "1", true, "PICKLE-PROCESS", "exit 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := modelWorkspace(t)
			env := actionEnv(t, work, rel)
			r := runAction(t, a, c.inputs, env, work)
			// Only the last step fails, with violet's exit code.
			if last := a.Runs.Steps[len(a.Runs.Steps)-1].Name; r.failed != "" && r.failed != last {
				t.Fatalf("step %q failed (exit %d): the action must install violet and record its code\n%s", r.failed, r.last.code, r.log)
			}
			// The violet that ran is the one the action installed from the release.
			bin := filepath.Join(env["RUNNER_TEMP"], "violet-bin")
			if got, _ := os.ReadFile(env["GITHUB_PATH"]); strings.TrimSpace(string(got)) != bin {
				t.Errorf("$GITHUB_PATH %q, want %s", got, bin)
			}
			if got, err := os.ReadFile(filepath.Join(bin, "violet")); err != nil || !bytes.Equal(got, violetScript(t)) {
				t.Errorf("%s/violet is not the violet of the release (%v)", bin, err)
			}
			if !strings.Contains(r.log, "SHA-256 ") || !strings.Contains(r.log, "matches checksums.txt") {
				t.Errorf("the install step did not say the SHA-256 was checked:\n%s", r.log)
			}
			if !strings.Contains(r.log, c.inStdout) {
				t.Errorf("the steps printed\n%s\nwant %q in it", r.log, c.inStdout)
			}
			out := r.outputs["violet"]
			if out["exit-code"] != c.exit {
				t.Errorf("exit-code %q, want %s", out["exit-code"], c.exit)
			}
			if strconv.Itoa(r.last.code) != c.exit {
				t.Errorf("the action ends with exit %d, want %s", r.last.code, c.exit)
			}
			if !c.sarif {
				if out["sarif-file"] != "" {
					t.Errorf("sarif-file %q, want none", out["sarif-file"])
				}
				return
			}
			sarifName := a.Inputs["sarif"].Default
			if v, ok := c.inputs["sarif"]; ok {
				sarifName = v
			}
			if out["sarif-file"] != sarifName {
				t.Fatalf("sarif-file %q, want %q", out["sarif-file"], sarifName)
			}
			data, err := os.ReadFile(filepath.Join(work, out["sarif-file"]))
			if err != nil {
				t.Fatal(err)
			}
			var log struct {
				Version string
				Runs    []struct{ Results []struct{ RuleID string } }
			}
			if err := json.Unmarshal(data, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
				t.Fatalf("the SARIF file is not one SARIF 2.1.0 run (%v):\n%s", err, data)
			}
			var rules []string
			for _, r := range log.Runs[0].Results {
				rules = append(rules, r.RuleID)
			}
			if c.rule != "" && !strings.Contains(strings.Join(rules, " "), c.rule) {
				t.Errorf("SARIF results %v, want %s among them", rules, c.rule)
			}
			summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
			if !strings.Contains(string(summary), "exit "+c.exit) {
				t.Errorf("step summary %q does not give the exit code", summary)
			}
		})
	}
}

// TestGitHubActionInstallFails runs the action where it must not install:
// the job fails at the installation, violet never runs, and no SARIF
// verdict is written that a later step could read as a pass.
func TestGitHubActionInstallFails(t *testing.T) {
	var a actionFile
	unmarshalYAML(t, "action.yml", &a)
	cases := []struct {
		name    string
		inputs  map[string]string
		tamper  func(r *fakeRelease)
		env     map[string]string
		step    string // the step that fails
		code    int
		message string
	}{
		{"tampered archive", nil, func(r *fakeRelease) {
			r.set(r.archive, tarGz(t, tarEntry{name: "violet", body: []byte("#!/bin/sh\nexit 0\n")}))
		}, nil, "Install violet from the release", 1, "SHA-256 mismatch"},
		{"no checksum for the archive", nil, func(r *fakeRelease) {
			r.set("checksums.txt", checksums(map[string][]byte{"violet_0.0.1_plan9_amd64.tar.gz": nil}))
		}, nil, "Install violet from the release", 1, "has no entry for"},
		{"signature required, no cosign", nil, nil, map[string]string{"VIOLET_VERIFY_SIGNATURE": "", "PATH": pathWithout("violet", "cosign")},
			"Install violet from the release", 2, "cosign is not on PATH"},
		{"unreleased version", map[string]string{"version": "v9.9.9"}, nil, nil, "Install violet from the release", 2, "could not download"},
		{"version not a tag", map[string]string{"version": "main"}, nil, nil, "Resolve the violet release", 2, "not a release tag"},
		{"bad install input", map[string]string{"install": "binary"}, nil, nil, "Resolve the violet release", 2,
			"::error title=violet::the install input must be release or source, not 'binary'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rel := newFakeRelease(t, installDefaultVersion(t))
			if c.tamper != nil {
				c.tamper(rel)
			}
			work := modelWorkspace(t)
			env := actionEnv(t, work, rel)
			for k, v := range c.env {
				env[k] = v
			}
			skipWithoutTools(t, env["PATH"])
			if v, ok := c.env["VIOLET_VERIFY_SIGNATURE"]; ok && v == "" {
				delete(env, "VIOLET_VERIFY_SIGNATURE")
			}
			r := runAction(t, a, c.inputs, env, work)
			if r.failed != c.step || r.last.code != c.code {
				t.Errorf("failed step %q with exit %d, want %q with exit %d\n%s", r.failed, r.last.code, c.step, c.code, r.log)
			}
			if !strings.Contains(r.log, c.message) {
				t.Errorf("the steps printed\n%s\nwant %q in it", r.log, c.message)
			}
			if _, ran := r.outputs["violet"]; ran {
				t.Error("violet ran after a failed installation")
			}
			if _, err := os.Stat(filepath.Join(env["RUNNER_TEMP"], "violet-bin", "violet")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("violet was installed (%v)", err)
			}
			if _, err := os.Stat(filepath.Join(work, "violet.sarif")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a SARIF file was written (%v)", err)
			}
		})
	}
}

// TestInstallScript runs ci/install.sh with sh (dash here: POSIX, no
// bashisms) against a fake release on 127.0.0.1: it installs a release
// whose archive matches checksums.txt, and installs nothing, with a clear
// message and a non-zero exit, when a check fails or cannot be made.
func TestInstallScript(t *testing.T) {
	runnerPlatform(t)
	version := installDefaultVersion(t)
	script, err := filepath.Abs(filepath.Join(repoRoot, installScript))
	if err != nil {
		t.Fatal(err)
	}
	noCosign := pathWithout("violet", "cosign")

	cases := []struct {
		name    string
		args    []string
		env     map[string]string // added; "" removes
		tamper  func(r *fakeRelease)
		code    int
		message string // in what it printed
		gets    int    // downloads; -1: any
	}{
		{"installs", nil, nil, nil, 0, "matches checksums.txt; signature NOT verified (VIOLET_VERIFY_SIGNATURE=false)", 2},
		{"version argument", []string{version}, map[string]string{"VIOLET_VERSION": "v9.9.9"}, nil, 0, version + " installed", 2},
		{"tampered archive", nil, nil, func(r *fakeRelease) {
			r.set(r.archive, tarGz(t, tarEntry{name: "violet", body: []byte("#!/bin/sh\nexit 0\n")}))
		}, 1, "SHA-256 mismatch for violet_", 2},
		{"no checksum for the archive", nil, nil, func(r *fakeRelease) {
			r.set("checksums.txt", checksums(map[string][]byte{"violet_0.0.1_windows_amd64.zip": nil}))
		}, 1, "has no entry for violet_", 1},
		{"two checksums for the archive", nil, nil, func(r *fakeRelease) {
			r.set("checksums.txt", append(checksums(map[string][]byte{r.archive: r.files[r.archive]}),
				checksums(map[string][]byte{r.archive: []byte("other")})...))
		}, 1, "has no single SHA-256", 1},
		{"a checksum that is not a SHA-256", nil, nil, func(r *fakeRelease) {
			r.set("checksums.txt", []byte(fmt.Sprintf("%x  %s\n", sha256.Sum224(r.files[r.archive]), r.archive)))
		}, 1, "has no single SHA-256", 1},
		{"no checksums.txt", nil, nil, func(r *fakeRelease) { r.set("checksums.txt", nil) }, 2, "could not download", 1},
		{"signature required, no cosign", nil, map[string]string{"VIOLET_VERIFY_SIGNATURE": "", "PATH": noCosign}, nil,
			2, "cosign is not on PATH", 0},
		{"signature opt-out misspelled", nil, map[string]string{"VIOLET_VERIFY_SIGNATURE": "no"}, nil,
			2, "VIOLET_VERIFY_SIGNATURE must be true or false", 0},
		{"latest is not a release tag", []string{"latest"}, nil, nil, 2, "not a release tag", 0},
		{"a path is not a release tag", []string{version + "/../../x"}, nil, nil, 2, "not a release tag", 0},
		{"a short version is not a release tag", []string{"v1.2"}, nil, nil, 2, "not a release tag", 0},
		{"not released", []string{"v9.9.9"}, nil, nil, 2, "could not download", 1},
		{"http off loopback", nil, map[string]string{"VIOLET_DOWNLOAD_URL": "http://example.invalid/releases"}, nil,
			2, "is not an https URL", 0},
		{"unsupported architecture", nil, map[string]string{"VIOLET_ARCH": "X86"}, nil, 2, "no violet release for the architecture", 0},
		{"unsupported system", nil, map[string]string{"VIOLET_OS": "plan9"}, nil, 2, "no violet release for the operating system", 0},
		{"no violet in the archive", nil, nil, func(r *fakeRelease) {
			r.set(r.archive, tarGz(t, tarEntry{name: "LICENSE", body: []byte("x")}))
			r.set("checksums.txt", checksums(map[string][]byte{r.archive: r.files[r.archive]}))
		}, 2, "holds no violet", 2},
		{"violet is a link", nil, nil, func(r *fakeRelease) {
			r.set(r.archive, tarGz(t, tarEntry{name: "violet", link: "/bin/true"}))
			r.set("checksums.txt", checksums(map[string][]byte{r.archive: r.files[r.archive]}))
		}, 2, "is not a regular file", 2},
		{"a violet that does not run", nil, nil, func(r *fakeRelease) {
			r.set(r.archive, tarGz(t, tarEntry{name: "violet", body: []byte("#!/bin/sh\nexit 3\n")}))
			r.set("checksums.txt", checksums(map[string][]byte{r.archive: r.files[r.archive]}))
		}, 2, "does not run here: nothing installed", 2},
		{"dry run", []string{"-n"}, nil, nil, 0, "archive=violet_" + strings.TrimPrefix(version, "v") + "_", 0},
		{"bad flag", []string{"-x"}, nil, nil, 2, "usage: sh install.sh", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rel := newFakeRelease(t, version)
			if c.tamper != nil {
				c.tamper(rel)
			}
			dir := filepath.Join(t.TempDir(), "bin")
			env := map[string]string{
				"PATH":                    pathWithout("violet"),
				"VIOLET_DOWNLOAD_URL":     rel.url,
				"VIOLET_VERIFY_SIGNATURE": "false",
				"VIOLET_INSTALL_DIR":      dir,
				"VIOLET_VERSION":          "",
				"VIOLET_INSTALL_CACHE":    "",
				"GITHUB_ACTIONS":          "",
			}
			for k, v := range c.env {
				env[k] = v
			}
			skipWithoutTools(t, env["PATH"])
			for k, v := range env {
				if v == "" {
					delete(env, k)
				}
			}
			r := runShellWith(t, "sh", t.TempDir(), unsetEnv(env), `exec sh "$@"`+"\n", nil, append([]string{script}, c.args...)...)
			if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.message) {
				t.Errorf("exit %d, want %d, with %q\n%s%s", r.code, c.code, c.message, r.stdout, r.stderr)
			}
			if c.gets >= 0 && rel.gets.Load() != int64(c.gets) {
				t.Errorf("%d downloads, want %d", rel.gets.Load(), c.gets)
			}
			installed, err := os.ReadFile(filepath.Join(dir, "violet"))
			if c.code != 0 || slices.Contains(c.args, "-n") {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("violet was installed (%v)", err)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("%s holds %v: a failed install leaves nothing", dir, entries)
				}
				return
			}
			if !bytes.Equal(installed, violetScript(t)) {
				t.Fatalf("%s/violet is not the violet of the archive: %v", dir, err)
			}
			// The violet installed works.
			work := modelWorkspace(t)
			v := runShellWith(t, "sh", work, map[string]string{"PATH": dir + string(os.PathListSeparator) + env["PATH"]}, "violet scan evil.pt\n", nil)
			if v.code != 1 || !strings.Contains(v.stdout, "PICKLE-PROCESS") {
				t.Errorf("the installed violet scan evil.pt: exit %d\n%s%s", v.code, v.stdout, v.stderr)
			}
		})
	}
}

// unsetEnv returns env with the variables the test removes from its own
// environment set to nothing the script reads as set.
func unsetEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"VIOLET_VERSION", "VIOLET_INSTALL_CACHE", "VIOLET_VERIFY_SIGNATURE", "VIOLET_OS", "VIOLET_ARCH", "GITHUB_ACTIONS"} {
		out[k] = ""
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// TestInstallScriptCache runs ci/install.sh twice with a cache folder: the
// second run installs from the cache, without the release; a cached
// archive that was changed fails the check like a downloaded one.
func TestInstallScriptCache(t *testing.T) {
	runnerPlatform(t)
	version := installDefaultVersion(t)
	script, err := filepath.Abs(filepath.Join(repoRoot, installScript))
	if err != nil {
		t.Fatal(err)
	}
	rel := newFakeRelease(t, version)
	cache := t.TempDir()
	install := func(want int, message string) {
		t.Helper()
		dir := t.TempDir()
		env := unsetEnv(map[string]string{"PATH": pathWithout("violet"), "VIOLET_DOWNLOAD_URL": rel.url, "VIOLET_VERIFY_SIGNATURE": "false"})
		r := runShellWith(t, "sh", dir, env, `exec sh "$@"`+"\n", nil, script, "-b", dir, "-c", cache)
		if r.code != want || !strings.Contains(r.stdout+r.stderr, message) {
			t.Errorf("exit %d, want %d, with %q\n%s%s", r.code, want, message, r.stdout, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "violet")); (err == nil) != (want == 0) {
			t.Errorf("exit %d, and violet installed: %v", r.code, err == nil)
		}
	}
	install(0, "from "+rel.url)
	if n := rel.gets.Load(); n != 2 {
		t.Errorf("%d downloads, want 2 (checksums.txt, the archive)", n)
	}
	// The release is gone: the cache has it all.
	rel.set(rel.archive, nil)
	rel.set("checksums.txt", nil)
	install(0, "from the cache "+cache)
	if n := rel.gets.Load(); n != 2 {
		t.Errorf("%d downloads, want none from the cache", n-2)
	}
	// A cached archive is checked again.
	cached := filepath.Join(cache, version, rel.archive)
	if err := os.WriteFile(cached, tarGz(t, tarEntry{name: "violet", body: []byte("#!/bin/sh\nexit 0\n")}), 0o644); err != nil {
		t.Fatal(err)
	}
	install(1, "SHA-256 mismatch for "+rel.archive+" (the cache "+cache)
}

// TestGitLabTemplateRuns runs the template's jobs as a GitLab runner's
// bash would (set -eo pipefail, the lines in order), with the template's
// variables: exit code, artifact, and the text report in the log.
func TestGitLabTemplateRuns(t *testing.T) {
	_, jobs, variables := readGitLabTemplate(t)
	path := violetPATH(t)

	cases := []struct {
		job, model, args string
		exit             int
		inLog            string
	}{
		{"violet-scan", "evil.pt", "", 1, "PICKLE-PROCESS"},
		{"violet-scan", "good.pt", "", 0, "violet scan exit code 0"},
		{"violet-scan", "good.pt", "--fail-on severe", 2, "violet scan exit code 2"},
		{"violet-gate", "evil.pt", "", 1, "SCAN-SEVERITY"},
		{"violet-scan", "lfs", "", 2, "CONTENT-NOT-FETCHED"},
		{"violet-scan", "docs", "", 2, "no file Violet reads as a model"},
		{"violet-scan", "configured", "", 1, "PICKLE-PROCESS"},
		{"violet-scan", "linked", "", 2, "SYMLINK-OUTSIDE"},
		{"violet-gate", "lfs", "", 1, "SCAN-INCOMPLETE"},
	}
	for _, c := range cases {
		t.Run(c.job+" "+c.model+" "+c.args, func(t *testing.T) {
			job, ok := jobs[c.job]
			if !ok {
				t.Fatalf("%s has no job %s", gitlabTemplate, c.job)
			}
			var lines []string
			if base, ok := job.Extends.(string); ok {
				for _, l := range jobs[base].BeforeScript {
					if !strings.HasPrefix(l, "go install") { // the installation: violet is on PATH
						lines = append(lines, l)
					}
				}
			}
			lines = append(lines, job.Script...)
			env := map[string]string{"PATH": path}
			for k, v := range variables {
				env[k] = v
			}
			env["VIOLET_PATH"], env["VIOLET_ARGS"] = c.model, c.args
			// The release image has busybox sh (dash here); golang:1.26, of
			// .violet-source, has bash, which GitLab prefers.
			for _, shell := range []struct {
				name  string
				flags []string
			}{{"sh", []string{"-e"}}, {"bash", []string{"-eo", "pipefail"}}} {
				work := modelWorkspace(t)
				r := runShellWith(t, shell.name, work, env, strings.Join(lines, "\n")+"\n", shell.flags)
				if r.code != c.exit {
					t.Errorf("%s: job exit %d, want %d\n%s%s", shell.name, r.code, c.exit, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stdout, c.inLog) {
					t.Errorf("%s: job log\n%s\nwant %q in it", shell.name, r.stdout, c.inLog)
				}
				if job.Artifacts.When != "always" || len(job.Artifacts.Paths) != 1 {
					t.Fatalf("artifacts %+v: want one report kept always", job.Artifacts)
				}
				report, err := os.ReadFile(filepath.Join(work, job.Artifacts.Paths[0]))
				if c.exit == 2 {
					continue // nothing to report
				}
				if err != nil {
					t.Fatalf("%s: the artifact: %v", shell.name, err)
				}
				if !json.Valid(report) {
					t.Errorf("%s: the artifact %s is not JSON:\n%s", shell.name, job.Artifacts.Paths[0], report)
				}
			}
		})
	}
}

// preCommitHook is a hook of .pre-commit-hooks.yaml.
type preCommitHook struct {
	ID            string `yaml:"id"`
	Entry         string `yaml:"entry"`
	Files         string `yaml:"files"`
	PassFilenames *bool  `yaml:"pass_filenames"`
}

// TestPreCommitHooksRun runs each hook as pre-commit would on a set of
// staged files: those its files pattern matches, after its entry (or the
// entry alone, without pass_filenames).
func TestPreCommitHooksRun(t *testing.T) {
	var hooks []preCommitHook
	unmarshalYAML(t, ".pre-commit-hooks.yaml", &hooks)
	path := violetPATH(t)
	byID := map[string]preCommitHook{}
	for _, h := range hooks {
		byID[h.ID] = h
	}
	cases := []struct {
		hook   string
		staged []string
		exit   int
		passed []string // the files the hook gets
	}{
		{"violet-scan", []string{"good.pt", "README.md", "evil.pt"}, 1, []string{"good.pt", "evil.pt"}},
		{"violet-scan", []string{"good.pt", "notes.txt"}, 0, []string{"good.pt"}},
		{"violet-scan", []string{"notes.txt"}, 0, nil},
		{"violet-deps", []string{"requirements.txt", "good.pt"}, 1, nil},
		{"violet-deps", []string{"good.pt"}, 0, nil},
		{"violet-scan", []string{"lfs/pytorch_model.bin", "good.pt"}, 2, []string{"lfs/pytorch_model.bin", "good.pt"}},
		{"violet-scan", []string{"configured/model.pkl", "configured/.violet.yaml"}, 1, []string{"configured/model.pkl"}},
		// a link named on the command line is scanned through: what it points to is judged
		{"violet-scan", []string{"linked/model.pkl"}, 1, []string{"linked/model.pkl"}},
	}
	for _, c := range cases {
		for _, id := range []string{c.hook, c.hook + "-system"} { // built by pre-commit, and on PATH
			t.Run(id+" "+strings.Join(c.staged, ","), func(t *testing.T) {
				h, ok := byID[id]
				if !ok {
					t.Fatalf("no hook %s", id)
				}
				files := regexp.MustCompile(h.Files)
				var matched []string
				for _, f := range c.staged {
					if files.MatchString(f) {
						matched = append(matched, f)
					}
				}
				if len(matched) == 0 {
					return // pre-commit does not run a hook that matches no file
				}
				args := strings.Fields(h.Entry)
				if h.PassFilenames == nil || *h.PassFilenames {
					if strings.Join(matched, " ") != strings.Join(c.passed, " ") {
						t.Errorf("files %v, want %v", matched, c.passed)
					}
					args = append(args, matched...)
				}
				work := modelWorkspace(t)
				write(t, work, "README.md", []byte("# a model\n"))
				write(t, work, "notes.txt", []byte("notes\n"))
				r := runShell(t, work, map[string]string{"PATH": path}, `exec "$@"`+"\n", nil, args...)
				if r.code != c.exit {
					t.Errorf("%v: exit %d, want %d\n%s%s", args, r.code, c.exit, r.stdout, r.stderr)
				}
			})
		}
	}
}

// TestShellStreams runs violet as a shell user pipes models to it:
// standard input (-), /dev/stdin, a process substitution and a FIFO are
// read and judged, never skipped as "not a file".
func TestShellStreams(t *testing.T) {
	path := violetPATH(t)
	cases := map[string]struct {
		script string
		exit   int
	}{
		"stdin dash":              {`cat evil.pt | violet scan -`, 1},
		"/dev/stdin":              {`cat evil.pt | violet scan /dev/stdin`, 1},
		"process substitution":    {`violet scan <(cat evil.pt)`, 1},
		"benign from stdin":       {`violet scan - < good.pt`, 0},
		"nothing piped":           {`violet scan - < /dev/null`, 2},
		"a FIFO with a writer":    {`mkfifo f.pt; (cat evil.pt > f.pt &); violet scan f.pt`, 1},
		"a FIFO nobody writes to": {`mkfifo g.pt; violet scan --timeout 1s g.pt`, 2},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			work := modelWorkspace(t)
			r := runShell(t, work, map[string]string{"PATH": path}, c.script+"\n", nil)
			if r.code != c.exit {
				t.Errorf("%s: exit %d, want %d\n%s%s", c.script, r.code, c.exit, r.stdout, r.stderr)
			}
		})
	}
}
