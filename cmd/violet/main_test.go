package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// violet runs the command line and returns the exit code, stdout and stderr.
func violet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	evil   = tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	custom = tu.NewPickle(4).StackGlobal("mylib.models", "Net").EmptyTuple().NewObj().Stop().Bytes()
	clean  = tu.NewPickle(4).EmptyDict().Str("a").Int(1).SetItem().Stop().Bytes()
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "weights.txt", evil) // content decides, not the name
	good := write(t, dir, "model.pkl", clean)
	readme := write(t, dir, "README.md", []byte("# a model\n"))
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"scan", bad}, 1, "posix.system('id')"},
		{[]string{"scan", good}, 0, "PASS"},
		{[]string{"scan", readme}, 0, "0 scanned, 1 skipped"},
		{[]string{"scan", "--fail-on", "critical", write(t, dir, "custom.pkl", custom)}, 0, "PICKLE-UNKNOWN-GLOBAL-CALL"},
		{[]string{"scan", write(t, dir, "custom2.pkl", custom)}, 1, "mylib.models.Net()"},
		{[]string{"scan", "--allow", "mylib.models.Net", write(t, dir, "custom3.pkl", custom)}, 0, "PASS"},
		{[]string{"scan", filepath.Join(dir, "missing")}, 2, ""},
		{[]string{"scan", "--format", "xml", good}, 2, ""},
		{[]string{"scan", "--fail-on", "severe", good}, 2, ""},
		{[]string{"scan", "--bogus", good}, 2, ""},
		{[]string{"scan"}, 2, ""},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("violet %v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out, errOut)
		}
	}
}

func TestFormats(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "evil.pkl", evil)
	code, out, _ := violet(t, "scan", "--format", "json", bad)
	var r struct {
		SchemaVersion string `json:"schema_version"`
		Files         []struct {
			Findings []struct{ Rule, Evidence string }
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if r.SchemaVersion == "" || len(r.Files) != 1 || len(r.Files[0].Findings) == 0 || r.Files[0].Findings[0].Rule != "PICKLE-PROCESS" {
		t.Errorf("json report: %+v", r)
	}
	sarif := filepath.Join(dir, "out.sarif")
	if code, out, _ := violet(t, "scan", "--format", "sarif", "--output", sarif, bad); code != 1 || out != "" {
		t.Errorf("sarif to a file: exit %d, stdout %q", code, out)
	}
	data, err := os.ReadFile(sarif)
	if err != nil || !bytes.Contains(data, []byte(`"version": "2.1.0"`)) {
		t.Errorf("sarif file: %v %.200s", err, data)
	}
}

// TestConfigFile checks that the project's .violet.yaml (the working
// directory, up to the top of its git work tree) configures the scan of
// any target in it, that a typo is an error, and that --config wins.
func TestConfigFile(t *testing.T) {
	project := t.TempDir()
	if err := os.Mkdir(filepath.Join(project, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	models := filepath.Join(project, "models")
	if err := os.Mkdir(models, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, models, "custom.pkl", custom)
	write(t, project, ".violet.yaml", []byte("allow:\n  - mylib.models.Net\n"))
	t.Chdir(models) // a subfolder of the project: its config still applies
	if code, out, errOut := violet(t, "scan", "custom.pkl"); code != 0 {
		t.Errorf("allowed by the project's .violet.yaml, scanning one file: exit %d\n%s%s", code, out, errOut)
	}
	t.Chdir(project)
	if code, out, errOut := violet(t, "scan", "models/custom.pkl"); code != 0 {
		t.Errorf("allowed by the project's .violet.yaml from its root: exit %d\n%s%s", code, out, errOut)
	}
	write(t, project, ".violet.yaml", []byte("alow:\n  - mylib.models.Net\n"))
	if code, _, errOut := violet(t, "scan", "models"); code != 2 || !strings.Contains(errOut, "alow") {
		t.Errorf("typo in .violet.yaml: exit %d, %s", code, errOut)
	}
	write(t, project, ".violet.yaml", []byte("severity:\n  PICKLE-UNKNOWN-GLOBAL-CALL: low\nignore:\n  - '*.tmp'\n"))
	write(t, models, "x.tmp", evil)
	if code, out, _ := violet(t, "scan", "."); code != 0 || strings.Contains(out, "x.tmp") {
		t.Errorf("severity override and ignore: exit %d\n%s", code, out)
	}
	other := write(t, t.TempDir(), "strict.yaml", []byte("fail_on: low\n"))
	if code, _, _ := violet(t, "scan", "--config", other, "models/custom.pkl"); code != 1 {
		t.Errorf("--config replaces the project's: exit %d", code)
	}
}

// TestConfigInsideTarget checks that a model cannot configure its own scan:
// a .violet.yaml shipped inside a scanned folder that allows the payload's
// global, ignores the pickle or lowers its severity is reported and
// ignored, and the scan fails.
func TestConfigInsideTarget(t *testing.T) {
	t.Chdir(t.TempDir()) // a project without configuration
	for _, cfg := range []string{
		"allow:\n  - posix.system\n",
		"ignore:\n  - '*.pkl'\n",
		"severity:\n  PICKLE-PROCESS: info\n",
		"fail_on: critical\nlimits:\n  max_depth: 1\n",
	} {
		model := filepath.Join(t.TempDir(), "downloaded-model")
		if err := os.Mkdir(model, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, model, "model.pkl", evil)
		write(t, model, ".violet.yaml", []byte(cfg))
		code, out, _ := violet(t, "scan", model)
		if code != 1 || !strings.Contains(out, "SCAN-CONFIG-IGNORED") || !strings.Contains(out, "PICKLE-PROCESS") {
			t.Errorf("config %q inside the target: exit %d\n%s", cfg, code, out)
		}
	}
}

// TestConfigReadBounded checks that a configuration that is not a plain
// file of the project is refused without hanging or reading it: a link out
// of the project, a FIFO, a device, a file too large.
func TestConfigReadBounded(t *testing.T) {
	outside := write(t, t.TempDir(), "secret", []byte("allow:\n  - posix.system\n"))
	cases := map[string]func(path string) error{
		"link out of the project": func(p string) error { return os.Symlink(outside, p) },
		"FIFO":                    func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"device":                  func(p string) error { return os.Symlink("/dev/zero", p) },
		"too large": func(p string) error {
			return os.WriteFile(p, bytes.Repeat([]byte("# x\n"), 1<<19), 0o644)
		},
	}
	for name, make := range cases {
		t.Run(name, func(t *testing.T) {
			project := t.TempDir()
			if err := os.Mkdir(filepath.Join(project, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := make(filepath.Join(project, ".violet.yaml")); err != nil {
				t.Fatal(err)
			}
			write(t, project, "model.pkl", evil)
			t.Chdir(project)
			code, out, errOut := violet(t, "scan", "model.pkl")
			if code != 2 || strings.Contains(out+errOut, "posix.system\n") {
				t.Errorf("exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	if code, out, _ := violet(t, "version"); code != 0 || !strings.HasPrefix(out, "violet ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestExplain checks that --explain lists the globals of a file that passes
// and of one that fails, with the entry that decided, without changing the
// exit code.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	lib := write(t, dir, "lib.pkl", tu.NewPickle(4).StackGlobal("timm.layers", "Mlp").EmptyTuple().NewObj().Stop().Bytes())
	own := write(t, dir, "own.pkl", custom)
	code, out, _ := violet(t, "scan", "--explain", lib)
	if code != 0 || !strings.Contains(out, "PICKLE-GLOBAL") || !strings.Contains(out, "instantiates timm.layers.Mlp: allowed by library timm") {
		t.Errorf("library class: exit %d\n%s", code, out)
	}
	code, out, _ = violet(t, "scan", "--explain", own)
	if code != 1 || !strings.Contains(out, "instantiates mylib.models.Net: reported as PICKLE-UNKNOWN-GLOBAL-CALL by no entry: unknown") {
		t.Errorf("own class: exit %d\n%s", code, out)
	}
	if code, out, _ := violet(t, "scan", lib); code != 0 || strings.Contains(out, "PICKLE-GLOBAL") {
		t.Errorf("without --explain: exit %d\n%s", code, out)
	}
}

// TestRequireModels checks that --require-models fails a scan whose targets
// hold no model (exit 2, said in the report), and passes one that does.
func TestRequireModels(t *testing.T) {
	empty := t.TempDir()
	write(t, empty, "README.md", []byte("# a model card without the model\n"))
	code, out, _ := violet(t, "scan", "--require-models", empty)
	if code != 2 || !strings.Contains(out, "no file Violet reads as a model") {
		t.Errorf("no model: exit %d\n%s", code, out)
	}
	if code, out, _ := violet(t, "scan", "--require-models", "--format", "json", empty); code != 2 || !strings.Contains(out, `"require_models": true`) {
		t.Errorf("no model, json: exit %d\n%s", code, out)
	}
	if code, _, _ := violet(t, "scan", empty); code != 0 {
		t.Errorf("no model without the flag: exit %d", code)
	}
	model := write(t, empty, "model.pkl", clean)
	if code, out, _ := violet(t, "scan", "--require-models", model); code != 0 {
		t.Errorf("a model: exit %d\n%s", code, out)
	}
}

// TestScanFlagValues checks that bad flag values are usage errors.
func TestScanFlagValues(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--workers", "-3"}, {"--timeout", "-1s"}} {
		if code, _, errOut := violet(t, append(append([]string{"scan"}, args...), dir)...); code != 2 || !strings.Contains(errOut, args[0]) {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
}
