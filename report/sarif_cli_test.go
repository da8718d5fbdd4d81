package report

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildViolet builds the violet command into a temporary folder and
// returns its path. Without a go command it skips the test, except in CI
// (CI=true), where it fails it.
func buildViolet(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("no go command to build violet with:", err)
	}
	bin := filepath.Join(t.TempDir(), "violet")
	build := exec.Command(goCmd, "build", "-o", bin, "./cmd/violet")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/violet: %v\n%s", err, out)
	}
	return bin
}

// TestSARIFFromViolet runs violet as a user would and checks every SARIF
// file it writes, for each command that writes SARIF, against the schema
// and GitHub code scanning's rules: scans of the format and model fixtures,
// a dependency check and a release gate that denies.
func TestSARIFFromViolet(t *testing.T) {
	violet := buildViolet(t)
	deps := t.TempDir()
	if err := os.WriteFile(filepath.Join(deps, "requirements.txt"), []byte("torhc==2.4.0\nrequests\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		prefix string // every result's rule starts with it
	}{
		{"scan testdata/formats", []string{"scan", "testdata/formats"}, ""},
		{"scan testdata/models", []string{"scan", "testdata/models"}, ""},
		{"scan both", []string{"scan", "testdata/models", "testdata/formats"}, ""},
		{"deps", []string{"deps", deps}, "DEPS-"},
		{"gate", []string{"gate", "testdata/models/malicious/pickle/system_p0.pkl"}, "GATE-DENY/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.sarif")
			args := append([]string{tc.args[0], "--format", "sarif", "--output", out}, tc.args[1:]...)
			cmd := exec.Command(violet, args...)
			cmd.Dir = ".."
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != ExitFindings {
				t.Fatalf("violet %s: %v, want exit %d\n%s", strings.Join(args, " "), err, ExitFindings, stderr.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			checkSARIF(t, tc.name, data)
			run := decodeSARIF(t, data).Runs[0]
			if len(run.Results) == 0 {
				t.Fatal("no results")
			}
			for _, res := range run.Results {
				if !strings.HasPrefix(res.RuleID, tc.prefix) {
					t.Errorf("result of rule %s, want %s...", res.RuleID, tc.prefix)
				}
			}
			if v := run.Tool.Driver.Version; v == "dev" || v != "v"+run.Tool.Driver.SemanticVersion && v != run.Tool.Driver.SemanticVersion {
				t.Errorf("driver version %q, semanticVersion %q", v, run.Tool.Driver.SemanticVersion)
			}
		})
	}
}
