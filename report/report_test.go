package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

var writers = map[string]func(*bytes.Buffer, *Report) error{
	"text": func(b *bytes.Buffer, r *Report) error { return WriteText(b, r, TextOptions{}) },
	"text-verbose": func(b *bytes.Buffer, r *Report) error {
		return WriteText(b, r, TextOptions{Verbose: true, Color: true})
	},
	"json":  func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) },
	"sarif": func(b *bytes.Buffer, r *Report) error { return WriteSARIF(b, r) },
}

func TestWritersDoNotModifyTheReport(t *testing.T) {
	for name, write := range writers {
		for _, tc := range goldenReports {
			r := tc.report()
			before := tc.report()
			if err := write(&bytes.Buffer{}, r); err != nil {
				t.Fatalf("%s %s: %v", name, tc.name, err)
			}
			if !reflect.DeepEqual(r, before) {
				t.Errorf("%s changed the %s report", name, tc.name)
			}
		}
	}
}

func TestWritersRejectInvalidReports(t *testing.T) {
	noThreshold := cleanReport()
	noThreshold.FailOn = 0
	badFinding := criticalReport()
	badFinding.Files[0].Findings[0].Severity = 0
	for name, write := range writers {
		for what, r := range map[string]*Report{"nil": nil, "no fail_on": noThreshold, "bad severity": badFinding} {
			if err := write(&bytes.Buffer{}, r); err == nil {
				t.Errorf("%s accepted a report with %s", name, what)
			}
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWritersReturnWriteErrors(t *testing.T) {
	r := criticalReport()
	for name, err := range map[string]error{
		"text":  WriteText(failingWriter{}, r, TextOptions{}),
		"json":  WriteJSON(failingWriter{}, r),
		"sarif": WriteSARIF(failingWriter{}, r),
	} {
		if err == nil {
			t.Errorf("%s ignored a write error", name)
		}
	}
}

// TestEmptyReport: a report with nothing set but its threshold renders
// everywhere, and the JSON has no null.
func TestEmptyReport(t *testing.T) {
	r := &Report{FailOn: finding.High}
	for name, write := range writers {
		var buf bytes.Buffer
		if err := write(&buf, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "json" || name == "sarif" {
			if bytes.Contains(buf.Bytes(), []byte("null")) {
				t.Errorf("%s of an empty report has a null:\n%s", name, buf.String())
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema_version"] != SchemaVersion || doc["tool"].(map[string]any)["name"] != "violet" {
		t.Errorf("the empty report lacks its schema version or tool name:\n%s", buf.String())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, tc := range goldenReports {
		var first, second bytes.Buffer
		if err := WriteJSON(&first, tc.report()); err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(first.Bytes(), &back); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := WriteJSON(&second, &back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Errorf("%s: the JSON report does not survive a round trip through Report", tc.name)
		}
		if back.ExitCode(back.FailOn) != tc.report().ExitCode(tc.report().FailOn) {
			t.Errorf("%s: the verdict changed in the round trip", tc.name)
		}
	}
}

// TestJSONDocumented: every field of the JSON report is in the schema and in
// docs/report-json.md, and the schema has no field the report lacks.
func TestJSONDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/report-json.md")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	defs, _ := schema["$defs"].(map[string]any)
	resolve := func(node map[string]any) map[string]any {
		for {
			ref, ok := node["$ref"].(string)
			if !ok {
				return node
			}
			node, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
	}
	var walk func(typ reflect.Type, node map[string]any, where string)
	walk = func(typ reflect.Type, node map[string]any, where string) {
		for typ.Kind() == reflect.Slice || typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
			if items, ok := resolve(node)["items"].(map[string]any); ok {
				node = items
			}
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() == "time" {
			return
		}
		node = resolve(node)
		props, _ := node["properties"].(map[string]any)
		seen := map[string]bool{}
		for i := range typ.NumField() {
			field := typ.Field(i)
			name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			seen[name] = true
			path := strings.TrimPrefix(where+"."+name, ".")
			if !bytes.Contains(doc, []byte("`"+name+"`")) && !bytes.Contains(doc, []byte("."+name+"`")) {
				t.Errorf("docs/report-json.md does not document %s", path)
			}
			child, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("docs/report.schema.json has no property %s", path)
				continue
			}
			walk(field.Type, child, path)
		}
		for name := range props {
			if !seen[name] {
				t.Errorf("docs/report.schema.json has a property %s.%s that the report does not have", where, name)
			}
		}
	}
	walk(reflect.TypeFor[Report](), schema, "")
}

func TestTextEscapesHostileText(t *testing.T) {
	r := criticalReport()
	r.Files = append(r.Files, File{Path: "::warning::x.pkl\x1b]0;pwned\a", Formats: []string{"pickle"},
		Findings: []finding.Finding{finding.New(finding.PickleMalformed,
			finding.Location{Path: "::warning::x.pkl", Offset: 3}, "line one\nline two\u202e", "\xff\xfe")}})
	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"\x1b", "\a", "\r", "\u202e", "\xff", "\nline two", "\n::"} {
		if strings.Contains(out, bad) {
			t.Errorf("the text report contains %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`\x1b[2K`, `\x3a:warning::x.pkl\x1b]0;pwned\x07`, `line one\x0aline two\u202e`, `\xff\xfe`} {
		if !strings.Contains(out, want) {
			t.Errorf("the text report lacks %q:\n%s", want, out)
		}
	}
}

func TestTextShortensLongEvidence(t *testing.T) {
	r := cleanReport()
	long := strings.Repeat("é", 1000) // 2000 bytes
	r.Files[0].Findings = []finding.Finding{finding.New(finding.PickleUnknownRef, finding.Location{Path: r.Files[0].Path, Offset: 0}, "m", long)}
	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "... (1488 more bytes)") {
		t.Errorf("long evidence was not shortened on a rune boundary:\n%s", buf.String())
	}
}

func TestTextIncompleteFileWithoutFinding(t *testing.T) {
	r := cleanReport()
	r.Files[0].Incomplete = true
	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"NOT FULLY ANALYZED", "is not reported as clean", "INCOMPLETE: 1 file could not be fully analyzed", "(exit code 2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the text report lacks %q:\n%s", want, out)
		}
	}
}

func TestTextVerdictBothFindingsAndIncomplete(t *testing.T) {
	r := criticalReport()
	r.Files[0].Incomplete = true
	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "FAIL: 4 findings at or above high; 1 file not fully analyzed (exit code 1)"; !strings.Contains(buf.String(), want) {
		t.Errorf("the text report lacks %q:\n%s", want, buf.String())
	}
	r.FailOn = finding.Critical
	buf.Reset()
	if err := WriteText(&buf, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "FAIL: 3 findings at or above critical"; !strings.Contains(buf.String(), want) {
		t.Errorf("the text report lacks %q:\n%s", want, buf.String())
	}
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	var plain, color bytes.Buffer
	if err := WriteText(&plain, incompleteReport(), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&color, incompleteReport(), TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte("\x1b[")) {
		t.Error("the text report has ANSI codes without Color")
	}
	if !bytes.Contains(color.Bytes(), []byte(ansiBold+ansiYellow+"INCOMPLETE"+ansiReset)) {
		t.Errorf("the colored verdict is missing:\n%q", color.String())
	}
}
