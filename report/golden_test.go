package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name.golden, or rewrites the file when
// the test runs with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test ./report -update if the change is intended):\n%s",
			path, firstDifference(string(want), string(got)))
	}
}

// firstDifference shows the first line where want and got differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n   got: " + gl
		}
	}
	return "(identical lines; the line endings differ)"
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			render := func(kind string, write func() error) {
				t.Helper()
				buf.Reset()
				if err := write(); err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				golden(t, kind+"_"+tc.name, buf.Bytes())
			}
			render("text", func() error { return WriteText(&buf, tc.report(), TextOptions{}) })
			render("text_verbose", func() error { return WriteText(&buf, tc.report(), TextOptions{Verbose: true}) })
			render("json", func() error { return WriteJSON(&buf, tc.report()) })
			render("sarif", func() error { return WriteSARIF(&buf, tc.report()) })
		})
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, criticalReport(), TextOptions{Color: true, Verbose: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "text_color_critical", buf.Bytes())
}

// readTestdata reads a file the repository holds (the SARIF 2.1.0 schema
// is a copy of the OASIS one, kept in testdata).
func readTestdata(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compileSchema compiles the JSON schema in data, registered under its own
// $id (or id, in draft 4) so that nothing is fetched from the network.
func compileSchema(t *testing.T, data []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := doc.(map[string]any)
	id, _ := obj["$id"].(string)
	if id == "" {
		id, _ = obj["id"].(string)
	}
	if id == "" {
		t.Fatal("the schema has no $id")
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noNetwork{})
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noNetwork refuses to load any schema that was not registered.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, errors.New("schema " + url + " is not registered and will not be fetched")
}

func validate(t *testing.T, s *jsonschema.Schema, name string, data []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not validate:\n%v", name, err)
	}
}

func TestSARIFValidates(t *testing.T) {
	schema := compileSchema(t, readTestdata(t, "testdata/sarif-schema-2.1.0.json"))
	for _, tc := range goldenReports {
		var buf bytes.Buffer
		if err := WriteSARIF(&buf, tc.report()); err != nil {
			t.Fatal(err)
		}
		validate(t, schema, "sarif_"+tc.name, buf.Bytes())
	}
}

func TestJSONValidates(t *testing.T) {
	data, err := os.ReadFile("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schema := compileSchema(t, data)
	for _, tc := range goldenReports {
		path := filepath.Join("testdata", "json_"+tc.name+".golden")
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, schema, path, golden)
	}
	// The examples of the documentation validate too.
	doc, err := os.ReadFile("../docs/report-json.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := jsonBlocks(string(doc))
	if len(examples) == 0 {
		t.Fatal("docs/report-json.md has no ```json example")
	}
	for i, ex := range examples {
		validate(t, schema, "docs/report-json.md example "+strconv.Itoa(i+1), []byte(ex))
	}
}

// jsonBlocks returns the ```json fenced blocks of a Markdown text.
func jsonBlocks(md string) []string {
	var out []string
	for {
		start := strings.Index(md, "```json\n")
		if start < 0 {
			return out
		}
		md = md[start+len("```json\n"):]
		end := strings.Index(md, "\n```")
		if end < 0 {
			return out
		}
		out = append(out, md[:end])
		md = md[end:]
	}
}

// TestSchemasRejectInvalidDocuments makes sure the validation above is real.
func TestSchemasRejectInvalidDocuments(t *testing.T) {
	reportSchema, err := os.ReadFile("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		schema []byte
		doc    string
	}{
		"report with an unknown field": {reportSchema, `{"schema_version":"1.0.0","tool":{"name":"violet","version":"","analyzers":[]},` +
			`"started_at":"2026-01-15T10:30:00Z","duration_ms":0,"targets":[],"fail_on":"high","summary":{"files":0,"scanned":0,` +
			`"skipped":0,"incomplete":0,"formats":{},"findings":{"info":0,"low":0,"medium":0,"high":0,"critical":0},"bytes":0},"files":[],"verdict":"pass"}`},
		"report with a bad date": {reportSchema, `{"schema_version":"1.0.0","tool":{"name":"violet","version":"","analyzers":[]},` +
			`"started_at":"yesterday","duration_ms":0,"targets":[],"fail_on":"high","summary":{"files":0,"scanned":0,` +
			`"skipped":0,"incomplete":0,"formats":{},"findings":{"info":0,"low":0,"medium":0,"high":0,"critical":0},"bytes":0},"files":[]}`},
		"SARIF with a bad level": {readTestdata(t, "testdata/sarif-schema-2.1.0.json"),
			`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"violet"}},"results":[{"message":{"text":"m"},"level":"critical"}]}]}`},
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		if compileSchema(t, tc.schema).Validate(v) == nil {
			t.Errorf("the schema accepts a %s", name)
		}
	}
}
