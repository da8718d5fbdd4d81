package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

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

// TestDepsDatabaseWithoutPyPI: an OSV database that holds no PyPI record
// cannot check anything: exit 2, never a clean pass.
func TestDepsDatabaseWithoutPyPI(t *testing.T) {
	fixed := filepath.Join("..", "..", "deps", "testdata", "incidents", "fixed")
	npm := `{"id":"GHSA-aaaa-bbbb-cccc","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["1.0.0"]}]}`
	for name, db := range map[string]string{
		"an empty zip":                    tu.ZipFile(t, nil),
		"a zip of npm records":            tu.ZipFile(t, map[string]string{"GHSA-aaaa-bbbb-cccc.json": npm}),
		"a zip of files that are not OSV": tu.ZipFile(t, map[string]string{"README.md": "# OSV\n", "data.csv": "a,b\n"}),
		"a zip of JSON that is not OSV":   tu.ZipFile(t, map[string]string{"package.json": `{"name":"x"}`}),
		"a file that is not a zip":        write(t, t.TempDir(), "all.zip", []byte(npm)),
		"an empty folder":                 t.TempDir(),
	} {
		for _, args := range [][]string{{"deps", "--osv-db", db, fixed}, {"deps", "--osv-db", db, t.TempDir()}} {
			code, out, errOut := violet(t, args...)
			if code != 2 || !strings.Contains(errOut, "osv database") {
				t.Errorf("%s, %v: exit %d (want 2)\n%s\n%s", name, args[3], code, out, errOut)
			}
		}
	}
}

// TestDepsFlags: contradictory flags are usage errors (exit 2), found
// before anything is read. deps has no numeric flag.
func TestDepsFlags(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.6.0\n"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deps", "--cache-dir", t.TempDir(), dir}, "--cache-dir is the cache of --online"},
		{[]string{"deps", "--osv-db", "x.zip", "--online", dir}, "not both"},
		{[]string{"deps", "--fail-on", "severe", dir}, "severe"},
		{[]string{"deps", "--format", "xml", dir}, "--format"},
		{[]string{"deps", dir, dir}, "accepts 1 arg"},
		{[]string{"deps", "--osv-db", filepath.Join(dir, "missing.zip"), dir}, "no such file"},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("violet %v: exit %d (want 2), stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// depsReportSchema is docs/report.schema.json as docs/deps.md documents
// the JSON of violet deps: the report of violet scan, with tool.name
// "violet deps".
func depsReportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDepsJSONSchema: the JSON of violet deps validates against the
// report schema (docs/deps.md, "The JSON report"), for findings of every
// kind, a malformed file and a clean run, and says what docs/deps.md
// says it does.
func TestDepsJSONSchema(t *testing.T) {
	s := depsReportSchema(t)
	testdata := filepath.Join("..", "..", "deps", "testdata")
	db := filepath.Join(testdata, "osv")
	broken := t.TempDir()
	write(t, broken, "poetry.lock", []byte("[[package]]\nname = \"torch\"\nversion = \n"))
	write(t, broken, "setup.py", []byte("setup(install_requires=open('r.txt').read().split())\n"))
	for _, dir := range []string{filepath.Join(testdata, "incidents", "affected"), filepath.Join(testdata, "incidents", "fixed"), broken} {
		_, out, _ := violet(t, "deps", "--osv-db", db, "--format", "json", dir)
		tu.ValidateJSON(t, s, []byte(out))
		var rep struct {
			Tool    struct{ Name string }
			Targets []string
			Summary struct {
				Files, Scanned, Incomplete int
				Formats                    map[string]int
			}
			Files []struct {
				Path       string
				Formats    []string
				Incomplete bool
				Packages   []struct{ Name string }
				Findings   []struct {
					Rule     string
					Location struct {
						Path string
						Line int
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Tool.Name != "violet deps" || len(rep.Targets) != 1 || rep.Targets[0] != dir || rep.Summary.Scanned != rep.Summary.Files {
			t.Errorf("%s: %+v", dir, rep)
		}
		for _, f := range rep.Files {
			if len(f.Formats) != 1 || rep.Summary.Formats[f.Formats[0]] == 0 {
				t.Errorf("%s: file %s formats %q", dir, f.Path, f.Formats)
			}
			if dir != broken && len(f.Packages) == 0 {
				t.Errorf("%s: file %s lists no packages", dir, f.Path)
			}
			for _, x := range f.Findings {
				if x.Location.Path != f.Path {
					t.Errorf("%s: finding of %s in %s", dir, x.Location.Path, f.Path)
				}
			}
		}
		if dir == broken && rep.Summary.Incomplete != 2 {
			t.Errorf("broken: %d incomplete files, want 2 (poetry.lock, setup.py)", rep.Summary.Incomplete)
		}
	}
}
