package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The tests of this file run the shell of the CI integrations for real:
// the GitHub Action's steps, the GitLab template's jobs and the pre-commit
// hooks, with bash, in a workspace of model files, and a "violet" on PATH
// that is this test binary (TestMain runs the command line when asked to).
// What they cannot run is what lives on GitHub or GitLab: actions/setup-go,
// the SARIF upload, the runners themselves, and the installation with go
// install (tested for shape in ci_files_test.go).

// asVioletEnv makes the test binary run as violet.
const asVioletEnv = "VIOLET_TEST_AS_VIOLET"

func TestMain(m *testing.M) {
	if os.Getenv(asVioletEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// violetPATH returns a PATH whose first directory holds a "violet" that
// runs this test binary as violet.
func violetPATH(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", asVioletEnv, self)
	if err := os.WriteFile(filepath.Join(dir, "violet"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
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
	f := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append(append(flags, f), args...)...)
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

// expression is a GitHub Actions expression of the two kinds action.yml
// passes to its steps: an input, and a step's output.
var expression = regexp.MustCompile(`\$\{\{\s*(?:inputs\.([\w-]+)|steps\.([\w-]+)\.outputs\.([\w-]+))\s*\}\}`)

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

// TestGitHubActionRuns runs the action's own steps (after the
// installation) as a runner would: each input through the step's env,
// bash with GitHub's flags, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, then
// the last step that exits with violet's code.
func TestGitHubActionRuns(t *testing.T) {
	var a actionFile
	unmarshalYAML(t, "action.yml", &a)
	path := violetPATH(t)

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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := modelWorkspace(t)
			meta := t.TempDir()
			env := map[string]string{
				"PATH":                path,
				"GITHUB_WORKSPACE":    work,
				"GITHUB_OUTPUT":       filepath.Join(meta, "output"),
				"GITHUB_STEP_SUMMARY": filepath.Join(meta, "summary"),
				"GITHUB_PATH":         filepath.Join(meta, "path"),
			}
			for _, f := range []string{env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"]} {
				write(t, meta, filepath.Base(f), nil)
			}
			inputs := map[string]string{}
			for name, in := range a.Inputs {
				inputs[name] = in.Default
			}
			for k, v := range c.inputs {
				inputs[k] = v
			}
			outputs := map[string]map[string]string{}
			// value evaluates the expressions of an env value.
			value := func(s string) string {
				return expression.ReplaceAllStringFunc(s, func(e string) string {
					m := expression.FindStringSubmatch(e)
					if m[1] != "" {
						v, ok := inputs[m[1]]
						if !ok {
							t.Errorf("action.yml reads input %q, which it does not declare", m[1])
						}
						return v
					}
					return outputs[m[2]][m[3]]
				})
			}

			ran := false
			var last shellRun
			for _, s := range a.Runs.Steps {
				if s.Run == "" || strings.Contains(s.Run, "go install") {
					continue // actions run on GitHub; the installation is tested for shape
				}
				if s.If != "" && strings.Contains(s.If, "exit-code != ''") && outputs["violet"]["exit-code"] == "" {
					continue
				}
				stepEnv := map[string]string{}
				for k, v := range env {
					stepEnv[k] = v
				}
				for k, v := range s.Env {
					stepEnv[k] = value(v)
				}
				// GitHub runs a bash step as: bash --noprofile --norc -eo pipefail {0}
				last = runShell(t, work, stepEnv, s.Run, []string{"--noprofile", "--norc", "-eo", "pipefail"})
				if s.ID != "" {
					if last.code != 0 {
						t.Fatalf("step %q exited %d (it must exit 0 and record violet's code)\n%s%s", s.Name, last.code, last.stdout, last.stderr)
					}
					outputs[s.ID] = githubOutputs(t, env["GITHUB_OUTPUT"])
					if !strings.Contains(last.stdout+last.stderr, c.inStdout) {
						t.Errorf("step %q printed\n%s%s\nwant %q in it", s.Name, last.stdout, last.stderr, c.inStdout)
					}
				}
				ran = true
			}
			if !ran {
				t.Fatal("no step ran")
			}
			out := outputs["violet"]
			if out["exit-code"] != c.exit {
				t.Errorf("exit-code %q, want %s", out["exit-code"], c.exit)
			}
			if strconv.Itoa(last.code) != c.exit {
				t.Errorf("the action ends with exit %d, want %s", last.code, c.exit)
			}
			if !c.sarif {
				if out["sarif-file"] != "" {
					t.Errorf("sarif-file %q, want none", out["sarif-file"])
				}
				return
			}
			if out["sarif-file"] != inputs["sarif"] {
				t.Fatalf("sarif-file %q, want %q", out["sarif-file"], inputs["sarif"])
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
			work := modelWorkspace(t)
			r := runShell(t, work, env, strings.Join(lines, "\n")+"\n", []string{"-eo", "pipefail"})
			if r.code != c.exit {
				t.Errorf("job exit %d, want %d\n%s%s", r.code, c.exit, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, c.inLog) {
				t.Errorf("job log\n%s\nwant %q in it", r.stdout, c.inLog)
			}
			if job.Artifacts.When != "always" || len(job.Artifacts.Paths) != 1 {
				t.Fatalf("artifacts %+v: want one report kept always", job.Artifacts)
			}
			report, err := os.ReadFile(filepath.Join(work, job.Artifacts.Paths[0]))
			if c.exit == 2 {
				return // nothing to report
			}
			if err != nil {
				t.Fatalf("the artifact: %v", err)
			}
			if !json.Valid(report) {
				t.Errorf("the artifact %s is not JSON:\n%s", job.Artifacts.Paths[0], report)
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
		t.Run(c.hook+" "+strings.Join(c.staged, ","), func(t *testing.T) {
			h, ok := byID[c.hook]
			if !ok {
				t.Fatalf("no hook %s", c.hook)
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
