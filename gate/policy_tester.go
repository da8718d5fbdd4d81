package gate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// DefaultTestTimeout bounds each Rego test.
const DefaultTestTimeout = 5 * time.Second

// TestResult is the outcome of one Rego test (a rule named test_... in a
// *_test.rego module).
type TestResult struct {
	// Package is the test's package ("data.violet.gate_test"), Name its
	// rule name ("test_allow_clean_signed_model").
	Package string
	Name    string
	// Location is the file and line of the test.
	Location string
	// Pass, Fail, Skip: the outcome. A test that is none of them stopped
	// on Err (an evaluation or builtin error: the policy is broken).
	Pass bool
	Fail bool
	Skip bool
	Err  error
	// Duration is how long it ran.
	Duration time.Duration
}

// ErrNoTests is returned by RunPolicyTests when the policy has no test.
var ErrNoTests = errors.New("policy: no tests (rules named test_... in *_test.rego files)")

// RunPolicyTests runs the Rego tests of a policy through OPA's tester:
// the modules and tests of dirs (the embedded default policy and its
// tests when dirs is empty), with the data LoadPolicy would use. A module
// that does not parse or compile is an error; a test that fails or stops
// on an error is a result. Results are sorted by file and line.
func RunPolicyTests(ctx context.Context, dirs, data []string) ([]TestResult, error) {
	src, err := loadSources(dirs, data)
	if err != nil {
		return nil, err
	}
	if len(src.tests) == 0 {
		return nil, ErrNoTests
	}
	modules := make(map[string]*ast.Module, len(src.modules)+len(src.tests))
	maps.Copy(modules, src.modules)
	maps.Copy(modules, src.tests)
	runner := tester.NewRunner().
		SetStore(src.store()).
		SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).
		RaiseBuiltinErrors(true).
		SetTimeout(DefaultTestTimeout)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var results []TestResult
	for r := range ch {
		if !strings.HasPrefix(r.Name, "test_") && !strings.HasPrefix(r.Name, "todo_test_") {
			continue
		}
		tr := TestResult{
			Package:  r.Package,
			Name:     r.Name,
			Pass:     r.Pass(),
			Fail:     r.Fail && r.Error == nil,
			Skip:     r.Skip,
			Err:      r.Error,
			Duration: r.Duration,
		}
		if r.Location != nil {
			tr.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
		}
		results = append(results, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(results) == 0 {
		return nil, ErrNoTests
	}
	sort.Slice(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if a.Location != b.Location {
			return lessLocation(a.Location, b.Location)
		}
		return a.Name < b.Name
	})
	return results, nil
}

// lessLocation orders "file:line" by file, then by line as a number.
func lessLocation(a, b string) bool {
	af, al, _ := cutLast(a)
	bf, bl, _ := cutLast(b)
	if af != bf {
		return af < bf
	}
	if len(al) != len(bl) {
		return len(al) < len(bl)
	}
	return al < bl
}

// cutLast splits s around its last colon.
func cutLast(s string) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
