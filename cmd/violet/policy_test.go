package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyCommand runs violet policy test on the default policy, on a
// policy with a failing test, on broken Rego, and violet policy show.
func TestPolicyCommand(t *testing.T) {
	shown := filepath.Join(t.TempDir(), "policy")
	failing := t.TempDir()
	write(t, failing, "p.rego", []byte("package violet.gate\n\ndeny contains {\"id\": \"BIG\", \"msg\": \"big\"} if input.scan.files > data.violet.max_files\n"))
	write(t, failing, "data.yaml", []byte("violet:\n  max_files: 10\n"))
	write(t, failing, "p_test.rego", []byte(`package violet.gate_test

import data.violet.gate

test_small_passes if count(gate.deny) == 0 with input as {"scan": {"files": 3}}
test_big_denied if count(gate.deny) == 1 with input as {"scan": {"files": 30}}
`))
	override := write(t, t.TempDir(), "team.json", []byte(`{"violet": {"max_files": 2}}`))
	syntax := t.TempDir()
	write(t, syntax, "p.rego", []byte("package violet.gate\n\ndeny contains x if {\n"))
	write(t, syntax, "p_test.rego", []byte("package violet.gate_test\n\ntest_a if true\n"))
	erroring := t.TempDir()
	write(t, erroring, "p_test.rego", []byte("package violet.gate_test\n\ntest_a if count(input.x) == 0 with input as {\"x\": 1}\n"))
	noTests := t.TempDir()
	write(t, noTests, "p.rego", []byte("package violet.gate\n\ndeny contains {\"id\": \"X\", \"msg\": \"x\"} if false\n"))

	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"policy", "test"}, 0, []string{"PASS  violet.gate_test.test_allow_clean_signed_model", " 0 failed, 0 errors"}},
		{[]string{"policy", "show", "-o", shown}, 0, []string{"wrote"}},
		{[]string{"policy", "test", shown}, 0, []string{"PASS  violet.gate_test.test_deny_signature_invalid"}},
		{[]string{"policy", "show", "-o", shown}, 2, nil},
		{[]string{"policy", "show"}, 0, []string{"# ==> gate.rego <==", "// ==> data.json <==", "\"max_severity\": \"high\"", "package violet.gate_test"}},
		{[]string{"policy", "test", failing}, 0, []string{"2 tests: 2 passed"}},
		{[]string{"policy", "test", "--data", override, failing}, 1, []string{"FAIL  violet.gate_test.test_small_passes (", "1 failed"}},
		{[]string{"policy", "test", syntax}, 2, nil},
		{[]string{"policy", "test", erroring}, 2, []string{"ERROR violet.gate_test.test_a", "1 errors"}},
		{[]string{"policy", "test", noTests}, 2, nil},
		{[]string{"policy", "test", filepath.Join(noTests, "absent")}, 2, nil},
	} {
		code, out, errOut := violet(t, tc.args...)
		ok := code == tc.code
		for _, w := range tc.want {
			ok = ok && strings.Contains(out, w)
		}
		if !ok {
			t.Errorf("violet %v: exit %d (want %d)\n%.2000s\n%s", tc.args, code, tc.code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(shown, "data.json")); err != nil {
		t.Error(err)
	}
}
