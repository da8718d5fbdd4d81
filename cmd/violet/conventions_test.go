package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
)

// The conventions every command follows, as users of Trivy, Syft, Grype,
// cosign and osv-scanner expect them: docs/configuration.md, "Flags every
// command shares".

// verbs are the commands of the tree, by path ("policy test").
func verbs(t *testing.T) map[string]*cobra.Command {
	t.Helper()
	out := map[string]*cobra.Command{}
	var walk func(prefix string, c *cobra.Command)
	walk = func(prefix string, c *cobra.Command) {
		for _, sub := range c.Commands() {
			name := strings.TrimSpace(prefix + " " + sub.Name())
			if sub.Runnable() && sub.Name() != "help" && sub.Name() != "completion" {
				out[name] = sub
			}
			walk(name, sub)
		}
	}
	walk("", newRoot())
	return out
}

// TestSharedFlags checks that the flags several commands take are spelled
// the same everywhere: -f/--format, -o/--output, -v/--verbose (more detail
// in the text report), --fail-on, --config where a .violet.yaml setting
// applies, and -q, --no-color and --log-level on every command.
func TestSharedFlags(t *testing.T) {
	cmds := verbs(t)
	want := map[string]struct {
		format, output, verbose, failOn, config bool
	}{
		"scan":            {true, true, true, true, true},
		"deps":            {true, true, true, true, true},
		"verify":          {true, true, true, false, false},
		"gate":            {true, true, false, false, false},
		"bom":             {true, true, false, false, false},
		"discover":        {true, true, false, false, false},
		"hash":            {false, true, false, false, false},
		"sign":            {false, false, false, false, false},
		"policy test":     {false, false, true, false, false},
		"policy show":     {false, true, false, false, false},
		"version":         {false, false, false, false, false},
		"watch":           {true, true, true, true, true},
		"serve":           {false, false, false, false, true},
		"worker":          {false, false, false, false, true},
		"rescan":          {true, true, false, false, false},
		"serve backup":    {false, false, false, false, false},
		"serve restore":   {false, false, false, false, false},
		"audit verify":    {false, false, false, false, false},
		"release approve": {false, false, false, false, false},
		"release reject":  {false, false, false, false, false},
		"release verify":  {false, false, false, false, false},
	}
	if len(cmds) != len(want) {
		t.Errorf("commands %v: the table names %d", slices.Sorted(func(yield func(string) bool) {
			for k := range cmds {
				if !yield(k) {
					return
				}
			}
		}), len(want))
	}
	for name, w := range want {
		cmd := cmds[name]
		if cmd == nil {
			t.Errorf("no command %q", name)
			continue
		}
		for _, f := range []struct {
			long, short string
			has         bool
		}{{"format", "f", w.format}, {"output", "o", w.output}, {"verbose", "v", w.verbose}, {"fail-on", "", w.failOn}, {"config", "", w.config},
			{"quiet", "q", true}, {"no-color", "", true}, {"log-level", "", true}} {
			got := lookupFlag(cmd, "--"+f.long)
			if (got != nil) != f.has {
				t.Errorf("violet %s --%s: %v, want %v", name, f.long, got != nil, f.has)
				continue
			}
			if got != nil && got.Shorthand != f.short {
				t.Errorf("violet %s --%s: shorthand %q, want %q", name, f.long, got.Shorthand, f.short)
			}
		}
		if f := cmd.Flags().Lookup("verbose"); f != nil && !strings.Contains(f.Usage, "text report") && !strings.Contains(f.Usage, "in full") {
			t.Errorf("violet %s -v: %q: -v means more detail in the text report", name, f.Usage)
		}
		if f := cmd.Flags().Lookup("fail-on"); f != nil && !strings.Contains(f.Usage, "info, low, medium, high, critical") {
			t.Errorf("violet %s --fail-on: %q", name, f.Usage)
		}
	}
}

// TestQuiet: -q leaves nothing on standard error but errors; the report
// is still written.
func TestQuiet(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.6.0\n"))
	code, out, errOut := violet(t, "deps", dir)
	if code != 0 || !strings.Contains(errOut, "no vulnerability data") {
		t.Fatalf("deps: exit %d, stderr %q", code, errOut)
	}
	code, quiet, errOut := violet(t, "deps", "-q", dir)
	// The two runs may take different times ("took 0s", "took 3ms").
	took := regexp.MustCompile(`took [0-9.a-zµ]+`)
	if code != 0 || errOut != "" || took.ReplaceAllString(quiet, "took T") != took.ReplaceAllString(out, "took T") {
		t.Errorf("deps -q: exit %d, stderr %q, stdout %q (want %q)", code, errOut, quiet, out)
	}
	code, _, errOut = violet(t, "deps", "-q", "--format", "yaml", dir)
	if code != 2 || !strings.Contains(errOut, "--format") {
		t.Errorf("deps -q with an error: exit %d, stderr %q: errors are still printed", code, errOut)
	}
}

// TestVerbose: -v shows more of the text report: the clean dependency
// files of deps, every verified file of verify.
func TestVerbose(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.6.0 --hash=sha256:"+strings.Repeat("a", 64)+"\n"))
	_, out, _ := violet(t, "deps", "-q", dir)
	_, verbose, _ := violet(t, "deps", "-q", "-v", dir)
	if strings.Contains(out, "requirements.txt") || !strings.Contains(verbose, "requirements.txt") {
		t.Errorf("deps: without -v %q; with -v %q", out, verbose)
	}

	_, keys := refKeys(t)
	model := t.TempDir()
	write(t, model, "weights.bin", []byte("weights"))
	if code, _, errOut := violet(t, "sign", model, "--key", filepath.Join(keys, "signing-key.pem")); code != 0 {
		t.Fatal(errOut)
	}
	pub := filepath.Join(keys, "signing-key-pub.pem")
	_, out, _ = violet(t, "verify", model, "--key", pub)
	code, verbose, _ := violet(t, "verify", "-v", model, "--key", pub)
	line := regexp.MustCompile(`(?m)^  sha256:[0-9a-f]{64}  weights\.bin$`)
	if code != 0 || line.MatchString(out) || !line.MatchString(verbose) {
		t.Errorf("verify: exit %d; without -v %q; with -v %q", code, out, verbose)
	}
	report := filepath.Join(t.TempDir(), "verify.json")
	if code, out, _ := violet(t, "verify", "-f", "json", "-o", report, model, "--key", pub); code != 0 || out != "" {
		t.Errorf("verify -o: exit %d, stdout %q", code, out)
	}
	if data, err := os.ReadFile(report); err != nil || !json.Valid(data) || !strings.Contains(string(data), `"verified": true`) {
		t.Errorf("verify -o: %v %s", err, data)
	}
}

// TestDepsConfig: deps reads fail_on from the project's .violet.yaml, or
// from --config; --fail-on wins over both.
func TestDepsConfig(t *testing.T) {
	project := t.TempDir()
	if err := os.Mkdir(filepath.Join(project, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, project, "requirements.txt", []byte("torch\n")) // unpinned: a finding below high
	t.Chdir(project)
	if code, out, _ := violet(t, "deps", "-q", "."); code != 0 || !strings.Contains(out, "DEPS-") {
		t.Fatalf("no configuration: exit %d\n%s", code, out)
	}
	write(t, project, ".violet.yaml", []byte("fail_on: info\n"))
	if code, _, _ := violet(t, "deps", "-q", "."); code != 1 {
		t.Errorf("fail_on: info in the project's .violet.yaml: exit %d, want 1", code)
	}
	if code, _, _ := violet(t, "deps", "-q", "--fail-on", "critical", "."); code != 0 {
		t.Errorf("--fail-on critical over the file: exit %d, want 0", code)
	}
	other := write(t, t.TempDir(), "lenient.yaml", []byte("fail_on: critical\n"))
	if code, _, _ := violet(t, "deps", "-q", "--config", other, "."); code != 0 {
		t.Errorf("--config replaces the project's: exit %d, want 0", code)
	}
	write(t, project, ".violet.yaml", []byte("fail_onn: info\n"))
	if code, _, errOut := violet(t, "deps", "-q", "."); code != 2 || !strings.Contains(errOut, "fail_onn") {
		t.Errorf("a typo in .violet.yaml: exit %d, %s", code, errOut)
	}
}

// TestEnvironmentVariables: every flag can be set by VIOLET_<FLAG>; the
// flag wins; a value its flag refuses is exit 2 naming the variable.
func TestEnvironmentVariables(t *testing.T) {
	dir := t.TempDir()
	own := write(t, dir, "own.pkl", custom) // PICKLE-UNKNOWN-GLOBAL-CALL, high
	for _, tc := range []struct {
		env  map[string]string
		args []string
		code int
		out  string // in stdout, or in stderr for exit 2
	}{
		{nil, nil, 1, "mylib.models.Net"},
		{map[string]string{"VIOLET_FAIL_ON": "critical"}, nil, 0, "PICKLE-UNKNOWN-GLOBAL-CALL"},
		{map[string]string{"VIOLET_FAIL_ON": "critical"}, []string{"--fail-on", "high"}, 1, ""},
		{map[string]string{"VIOLET_FAIL_ON": ""}, nil, 1, ""},
		{map[string]string{"VIOLET_FAIL_ON": "severe"}, nil, 2, `VIOLET_FAIL_ON="severe"`},
		{map[string]string{"VIOLET_FORMAT": "json"}, nil, 1, `"schema_version"`},
		{map[string]string{"VIOLET_FORMAT": "json"}, []string{"-f", "text"}, 1, "FAIL"},
		{map[string]string{"VIOLET_FORMAT": "xml"}, nil, 2, `VIOLET_FORMAT="xml": want text, json or sarif`},
		{map[string]string{"VIOLET_ALLOW": "mylib.models.Net,other.Thing"}, nil, 0, "PASS"},
		{map[string]string{"VIOLET_REQUIRE_MODELS": "yes"}, nil, 2, "VIOLET_REQUIRE_MODELS"},
		{map[string]string{"VIOLET_WORKERS": "-3"}, nil, 2, `--workers from VIOLET_WORKERS="-3"`},
		{map[string]string{"VIOLET_KEY": "k.pem"}, nil, 2, `--key from VIOLET_KEY="k.pem"`},
		{map[string]string{"VIOLET_LOG_LEVEL": "loud"}, nil, 2, "VIOLET_LOG_LEVEL"},
		// The CI templates' own variables set no flag.
		{map[string]string{"VIOLET_VERSION": "latest", "VIOLET_PATH": "/", "VIOLET_ARGS": "--fail-on critical"}, nil, 1, ""},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		code, out, errOut := violet(t, append(append([]string{"scan"}, tc.args...), own)...)
		where := out
		if tc.code == 2 {
			where = errOut
		}
		if code != tc.code || !strings.Contains(where, tc.out) {
			t.Errorf("%v violet scan %v: exit %d (want %d), want %q\nstdout: %.300s\nstderr: %s", tc.env, tc.args, code, tc.code, tc.out, out, errOut)
		}
		for k := range tc.env {
			os.Unsetenv(k) // t.Setenv restores at the end; the next case starts clean
		}
	}
}

// ciVariables are the variables the CI integrations (action.yml,
// ci/gitlab, ci/install.sh) set for their own use, each with the flag it
// means ("": none). A flag whose VIOLET_<FLAG> is one of them for another
// purpose must not take it (cli.Reserved), or every violet in such a job
// would take it as a flag.
var ciVariables = map[string]string{
	"VIOLET_PATH": "", "VIOLET_ARGS": "", "VIOLET_COMMAND": "", "VIOLET_SARIF": "", "VIOLET_EXIT": "",
	"VIOLET_INSTALL": "", "VIOLET_VERSION": "", "VIOLET_TEST_AS_VIOLET": "", "VIOLET_INSTALL_DIR": "",
	"VIOLET_INSTALL_CACHE": "", "VIOLET_DOWNLOAD_URL": "", "VIOLET_VERIFY_SIGNATURE": "", "VIOLET_OS": "", "VIOLET_ARCH": "",
	"VIOLET_FAIL_ON": "fail-on", "VIOLET_REQUIRE_MODELS": "require-models",
}

func TestCIVariablesAreNotFlags(t *testing.T) {
	root := newRoot()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name := cli.EnvName(f.Name)
			_, reserved := cli.Reserved[name]
			if flag, ok := ciVariables[name]; ok && flag != f.Name && !reserved {
				t.Errorf("violet %s --%s: its variable %s is one the CI integrations set for another purpose", c.Name(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// They change nothing, set as ci/install.sh and the templates set them.
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.6.0\n"))
	for name := range ciVariables {
		if ciVariables[name] == "" {
			t.Setenv(name, "x")
		}
	}
	if code, _, errOut := violet(t, "deps", "-q", dir); code != 0 {
		t.Errorf("deps with the CI variables set: exit %d, %s", code, errOut)
	}
}

// TestCompletion: the shell completion scripts, and the values of flags
// that take one of a fixed set.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if code, out, errOut := violet(t, "completion", shell); code != 0 || !strings.Contains(out, "violet") {
			t.Errorf("completion %s: exit %d, %.100s %s", shell, code, out, errOut)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"scan", "--fail-on", ""}, cli.Severities()},
		{[]string{"deps", "--fail-on", ""}, cli.Severities()},
		{[]string{"scan", "--format", ""}, []string{"text", "json", "sarif"}},
		{[]string{"deps", "-f", ""}, []string{"text", "json", "sarif", "cyclonedx"}},
		{[]string{"hash", "--hash", ""}, []string{"sha256", "blake3"}},
		{[]string{"verify", "--verify-time", ""}, []string{"now", "signing-cert-start"}},
		{[]string{"scan", "--log-level", ""}, cli.LogLevels},
		{[]string{"scan", "--skip-analyzers", "pickle,to"}, nil}, // no analyzer starts with "to"
		{[]string{"scan", "--skip-analyzers", "pickle,te"}, []string{"pickle,tensorflow"}},
		{[]string{"scan", "--analyzers", "py"}, []string{"pytorch-legacy", "pytorch-zip"}},
	} {
		code, out, _ := violet(t, append([]string{"__complete"}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
			t.Errorf("__complete %q: exit %d\n%s", tc.args, code, out)
			continue
		}
		if got := lines[:len(lines)-1]; !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("__complete %q: %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestLogLevel: --log-level debug makes the scan engine say which
// analyzer claimed each input and why a file was skipped; by default
// (warn) it says nothing; a level it does not know is exit 2.
func TestLogLevel(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "model.pkl", clean)
	write(t, dir, "notes.txt", []byte("not a model"))
	write(t, dir, "cache.tmp", clean)
	code, _, errOut := violet(t, "scan", "--log-level", "debug", "--ignore", "*.tmp", dir)
	for _, want := range []string{
		`level=DEBUG msg="analyzer claims the input" input=` + filepath.Join(dir, "model.pkl") + " analyzer=pickle runs=true",
		`level=DEBUG msg="no analyzer claims the input" input=` + filepath.Join(dir, "notes.txt"),
		`level=DEBUG msg="not scanned: an ignore pattern matches" path=` + filepath.Join(dir, "cache.tmp") + ` pattern=*.tmp`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("--log-level debug: exit %d, no %q in\n%s", code, want, errOut)
		}
	}
	if code, _, errOut := violet(t, "scan", dir); code != 0 || errOut != "" {
		t.Errorf("default level: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := violet(t, "scan", "--log-level", "trace", dir); code != 2 || !strings.Contains(errOut, `--log-level "trace": want debug, info, warn or error`) {
		t.Errorf("--log-level trace: exit %d, stderr %q", code, errOut)
	}
}

// TestAnalyzerSelection: --analyzers and --skip-analyzers choose the
// analyzers by name; an unknown name is exit 2 listing the names; the
// report names the analyzers that ran and a warning says that not all
// did; a scan attestation needs every analyzer.
func TestAnalyzerSelection(t *testing.T) {
	dir := t.TempDir()
	evilPkl := write(t, dir, "evil.pkl", evil)
	evilTxt := write(t, dir, "evil.txt", evil)
	if code, _, _ := violet(t, "scan", "--skip-analyzers", "gguf,onnx", evilTxt); code != 1 {
		t.Errorf("skipping other analyzers: exit %d, want 1", code)
	}
	code, out, errOut := violet(t, "scan", "--skip-analyzers", "pickle", "-f", "json", evilTxt)
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if code != 0 || !strings.Contains(errOut, "not every analyzer runs") || slices.ContainsFunc(r.Tool.Analyzers, func(a string) bool { return strings.HasPrefix(a, "pickle/") }) {
		t.Errorf("--skip-analyzers pickle: exit %d, analyzers %v, stderr %q", code, r.Tool.Analyzers, errOut)
	}
	// A file named as a model that no analyzer left reads is still not passed.
	if code, out, _ := violet(t, "scan", "--analyzers", "safetensors", evilPkl); code != 2 || !strings.Contains(out, finding.FormatUnrecognized) {
		t.Errorf("--analyzers safetensors on a pickle: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"--analyzers", "pikle"}, {"--skip-analyzers", "safetensors,nope"}} {
		if code, _, errOut := violet(t, append(append([]string{"scan"}, args...), evilPkl)...); code != 2 || !strings.Contains(errOut, "the analyzers are zip, tar") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
	if code, _, errOut := violet(t, "scan", "--analyzers", "pickle", "--skip-analyzers", "pickle", evilPkl); code != 2 || !strings.Contains(errOut, "no analyzer left") {
		t.Errorf("nothing left: exit %d, %s", code, errOut)
	}
	_, keys := refKeys(t)
	att := filepath.Join(t.TempDir(), "scan.att")
	if code, _, errOut := violet(t, "scan", "--skip-analyzers", "gguf", "--attest", att, "--key", filepath.Join(keys, "signing-key.pem"), dir); code != 2 || !strings.Contains(errOut, "--attest") {
		t.Errorf("--attest with --skip-analyzers: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(att); err == nil {
		t.Error("an attestation of a partial scan was written")
	}
}

// TestExitCode: the one mapping from errors to exit codes. An error that
// carries no code (an interrupt, a flag value, an unreadable file) is 2,
// never 0.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, report.ExitPass, ""},
		{exitError{code: report.ExitFindings}, report.ExitFindings, ""},
		{fmt.Errorf("wrapped: %w", exitError{code: report.ExitFindings, msg: "denied"}), report.ExitFindings, "denied"},
		{usageError(errors.New("--workers -3")), report.ExitIncomplete, "--workers -3"},
		{context.Canceled, report.ExitIncomplete, "context canceled"},
		{os.ErrNotExist, report.ExitIncomplete, "file does not exist"},
	} {
		if code, msg := exitCode(tc.err); code != tc.code || msg != tc.msg {
			t.Errorf("exitCode(%v) = %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
}

var updateDocs = flag.Bool("update", false, "rewrite the exit code tables of README.md and docs/ci.md")

// exitDocs are the generated tables of the documentation: between the
// markers, what the function writes.
var exitDocs = []struct {
	file  string
	table func() string
}{
	{"README.md", func() string { return exitCodesTable("scan") }},
	{"docs/ci.md", exitCodesMatrix},
}

const (
	beginExitCodes = "<!-- exit codes: written by go test ./cmd/violet -run TestExitCodeDocs -update -->\n"
	endExitCodes   = "<!-- end of exit codes -->\n"
)

// TestExitCodeDocs checks that the exit code tables of the documentation
// are the ones the code writes from exitMeanings, and the help of every
// command has its exit codes.
func TestExitCodeDocs(t *testing.T) {
	for _, d := range exitDocs {
		path := filepath.Join(repoRoot, d.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		begin, end := strings.Index(text, beginExitCodes), strings.Index(text, endExitCodes)
		if begin < 0 || end < begin {
			t.Errorf("%s: no exit code table between %q and %q", d.file, beginExitCodes, endExitCodes)
			continue
		}
		want := text[:begin+len(beginExitCodes)] + d.table() + text[end:]
		if *updateDocs {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if want != text {
			t.Errorf("%s: the exit code table is not the code's: run go test ./cmd/violet -run TestExitCodeDocs -update", d.file)
		}
	}
	for name, cmd := range verbs(t) {
		if name == "version" {
			continue
		}
		if !strings.Contains(cmd.Long, exitCodesHelp(name)) {
			t.Errorf("violet %s --help has no exit codes", name)
		}
	}
}
