package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestDepsCommand runs violet deps on the incident lockfiles with the
// offline database, in each output format, and on broken input.
func TestDepsCommand(t *testing.T) {
	testdata := filepath.Join("..", "..", "deps", "testdata")
	db := filepath.Join(testdata, "osv")
	affected, fixed := filepath.Join(testdata, "incidents", "affected"), filepath.Join(testdata, "incidents", "fixed")
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("--extra-index-url https://pypi.internal.example.com/simple\ntorch>=2.0\ntransfromers==4.38.0\n"))
	broken := t.TempDir()
	write(t, broken, "poetry.lock", []byte("[[package]]\nname = \"torch\"\nversion = \n"))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deps", "--osv-db", db, affected}, 1, "GHSA-53q9-r3pm-6pq6"},
		{[]string{"deps", "--osv-db", db, fixed}, 0, "PASS"},
		{[]string{"deps", "--osv-db", db, "--format", "sarif", affected}, 1, `"ruleId": "DEPS-MALICIOUS"`},
		{[]string{"deps", dir}, 1, "DEPS-CONFUSION"},
		{[]string{"deps", dir}, 1, "transfromers looks like transformers"},
		{[]string{"deps", "--fail-on", "critical", dir}, 0, "DEPS-UNPINNED"},
		{[]string{"deps", broken}, 2, "DEPS-MALFORMED"},
		{[]string{"deps", "--osv-db", filepath.Join(dir, "missing.zip"), affected}, 2, ""},
		{[]string{"deps", "--osv-db", db, "--online", affected}, 2, ""},
		{[]string{"deps", "--format", "xml", affected}, 2, ""},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("violet %v: exit %d (want %d)\n%.600s\n%s", tc.args, code, tc.code, out, errOut)
		}
	}

	code, out, _ := violet(t, "deps", "--osv-db", db, "--format", "cyclonedx", affected)
	if code != 1 {
		t.Errorf("cyclonedx: exit %d", code)
	}
	tu.ValidateJSON(t, tu.CycloneDXSchema(t, "1.6"), []byte(out))
	var bom struct {
		Components      []struct{ Purl string }
		Vulnerabilities []struct {
			ID      string
			Affects []struct{ Ref string }
		}
	}
	if err := json.Unmarshal([]byte(out), &bom); err != nil || len(bom.Components) < 5 || len(bom.Vulnerabilities) < 6 {
		t.Errorf("cyclonedx: %v %+v", err, bom)
	}
}
