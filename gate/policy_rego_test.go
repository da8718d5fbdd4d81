package gate

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

// TestDefaultPolicyRegoTests runs the default policy's Rego tests
// (policies/*_test.rego) through OPA's tester.
func TestDefaultPolicyRegoTests(t *testing.T) {
	results, err := RunPolicyTests(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 20 {
		t.Errorf("%d Rego tests, want at least 20", len(results))
	}
	for _, r := range results {
		switch {
		case r.Pass:
		case r.Skip:
			t.Logf("%s: skipped", r.Name)
		case r.Fail:
			t.Errorf("%s (%s): FAIL", r.Name, r.Location)
		default:
			t.Errorf("%s (%s): ERROR %v", r.Name, r.Location, r.Err)
		}
	}
}

// TestDefaultPolicyFormatted checks that the default policy's files are
// formatted as "opa fmt" formats them.
func TestDefaultPolicyFormatted(t *testing.T) {
	files, err := DefaultPolicyFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if !strings.HasSuffix(name, ".rego") {
			continue
		}
		got, err := format.SourceWithOpts(name, b, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(got) != string(b) {
			t.Errorf("%s is not formatted (opa fmt):\n%s", name, got)
		}
	}
}
