package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// cleanInput is a model the default policy allows.
func cleanInput() *Input {
	return &Input{
		SchemaVersion: SchemaVersion,
		Model:         ModelInfo{Path: "models/bert", Name: "bert"},
		Scan: &ScanEvidence{Files: 3, Findings: []Finding{
			{Rule: "PICKLE-IMPORT", Severity: "low", Path: "pytorch_model.bin", Message: "imports collections.OrderedDict"},
		}, Counts: map[string]int{"low": 1}},
		Signature: &SignatureEvidence{Present: true, Verified: true, Method: "key"},
		BOM: &BOMEvidence{
			Licenses:    []string{"Apache-2.0"},
			UseCases:    []string{"Sentence classification."},
			Limitations: []string{"English only."},
		},
		Deps:         &DepsEvidence{Files: 1, Packages: 2, Pinned: 2, VulnerabilityData: "offline"},
		Attestations: []AttestationEvidence{{Verified: true, Signer: "ci"}},
	}
}

// defaultPolicy loads the embedded policy once per test binary.
var testPolicy = func() func(t testing.TB) *Policy {
	var p *Policy
	var err error
	return func(t testing.TB) *Policy {
		if p == nil && err == nil {
			p, err = LoadPolicy(context.Background(), nil, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}()

func ids(d *Decision) []string {
	var out []string
	for _, r := range d.Reasons {
		if !slices.Contains(out, r.ID) {
			out = append(out, r.ID)
		}
	}
	return out
}

func evaluate(t *testing.T, p *Policy, in *Input) *Decision {
	t.Helper()
	d, err := p.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow != (len(d.Reasons) == 0) {
		t.Fatalf("allow %v with %d reasons", d.Allow, len(d.Reasons))
	}
	return d
}

func TestEvaluateDefaultPolicy(t *testing.T) {
	p := testPolicy(t)
	cases := []struct {
		name   string
		change func(in *Input)
		want   []string
	}{
		{"clean", func(*Input) {}, nil},
		{"unsigned", func(in *Input) { in.Signature = &SignatureEvidence{} }, nil},
		{"medium finding", func(in *Input) { in.Scan.Findings[0].Severity = "medium" }, nil},
		{"no scan", func(in *Input) { in.Scan = nil }, []string{"SCAN-MISSING"}},
		{"high finding", func(in *Input) { in.Scan.Findings[0].Severity = "high" }, []string{"SCAN-SEVERITY"}},
		{"critical finding", func(in *Input) { in.Scan.Findings[0].Severity = "critical" }, []string{"SCAN-SEVERITY"}},
		{"unknown severity", func(in *Input) { in.Scan.Findings[0].Severity = "bad" }, []string{"SCAN-SEVERITY"}},
		{"incomplete", func(in *Input) { in.Scan.Incomplete = 1 }, []string{"SCAN-INCOMPLETE"}},
		{"incomplete finding", func(in *Input) { in.Scan.Incomplete = 1; in.Scan.Findings[0].Incomplete = true }, []string{"SCAN-INCOMPLETE"}},
		{"incomplete finding, not counted", func(in *Input) { in.Scan.Findings[0].Incomplete = true }, []string{"SCAN-INCOMPLETE"}},
		{"counts and positions that lie", func(in *Input) {
			in.Scan.Findings[0].Severity = "critical"
			in.Scan.Counts = map[string]int{"low": 1}
			in.Scan.BySeverity = map[string][]int{"low": {0}}
		}, []string{"SCAN-SEVERITY"}},
		{"signature invalid", func(in *Input) {
			in.Signature = &SignatureEvidence{Present: true, Error: "digest mismatch", Missing: []string{"a.bin"}}
		}, []string{"SIGNATURE-INVALID"}},
		{"signature required, none", func(in *Input) { in.Signature = nil; in.Options.RequireSignature = true }, []string{"SIGNATURE-REQUIRED"}},
		{"signature required, verified", func(in *Input) { in.Options.RequireSignature = true }, nil},
		{"malicious dep", func(in *Input) {
			in.Deps.Findings = []Finding{{Rule: "DEPS-MALICIOUS", Severity: "critical", Path: "requirements.txt", Message: "evil"}}
		}, []string{"DEPS-MALICIOUS"}},
		{"typosquat dep", func(in *Input) {
			in.Deps.Findings = []Finding{{Rule: "DEPS-TYPOSQUAT", Severity: "high", Path: "requirements.txt", Message: "torhc"}}
		}, []string{"DEPS-TYPOSQUAT"}},
		{"critical vuln", func(in *Input) {
			in.Deps.Findings = []Finding{{Rule: "DEPS-VULNERABLE", Severity: "critical", Path: "requirements.txt", Message: "x"}}
		}, []string{"DEPS-VULNERABLE"}},
		{"high vuln", func(in *Input) {
			in.Deps.Findings = []Finding{{Rule: "DEPS-VULNERABLE", Severity: "high", Path: "requirements.txt", Message: "x"}}
		}, nil},
		{"unpinned dep", func(in *Input) {
			in.Deps.Findings = []Finding{{Rule: "DEPS-UNPINNED", Severity: "medium", Path: "requirements.txt", Message: "x"}}
		}, nil},
		{"license not allowed", func(in *Input) { in.BOM.Licenses = []string{"CC-BY-NC-4.0"} }, []string{"LICENSE"}},
		{"license hub id", func(in *Input) { in.BOM.Licenses = []string{"openrail"} }, nil},
		{"no license", func(in *Input) { in.BOM.Licenses = nil }, []string{"LICENSE-MISSING"}},
		{"no intended use", func(in *Input) { in.BOM.UseCases = nil }, []string{"MODEL-CARD"}},
		{"no limitations", func(in *Input) { in.BOM.Limitations = []string{""} }, []string{"MODEL-CARD"}},
		{"no bom", func(in *Input) { in.BOM = nil }, []string{"LICENSE-MISSING", "MODEL-CARD"}},
		{"attestation unverified", func(in *Input) {
			in.Attestations = append(in.Attestations, AttestationEvidence{Error: "subjects differ"})
		}, []string{"ATTESTATION"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := cleanInput()
			c.change(in)
			d := evaluate(t, p, in)
			if got := ids(d); !slices.Equal(got, c.want) {
				t.Errorf("reasons %v, want %v: %+v", got, c.want, d.Reasons)
			}
		})
	}
}

func TestEvaluateReasonDetails(t *testing.T) {
	in := cleanInput()
	in.Scan.Findings = append(in.Scan.Findings,
		Finding{Rule: "PICKLE-PROCESS", Severity: "critical", Path: "b.pkl", Message: "runs os.system"},
		Finding{Rule: "PICKLE-EXEC", Severity: "high", Path: "a.pkl", Message: "runs exec"})
	in.Signature = &SignatureEvidence{Present: true, Error: "content differs", Modified: []string{"model.safetensors"}, Added: []string{"x.py"}}
	d := evaluate(t, testPolicy(t), in)
	want := []Reason{
		{ID: "SCAN-SEVERITY", Message: "a.pkl: PICKLE-EXEC (high): runs exec", Severity: "high"},
		{ID: "SCAN-SEVERITY", Message: "b.pkl: PICKLE-PROCESS (critical): runs os.system", Severity: "critical"},
		{ID: "SIGNATURE-INVALID", Message: "the signature does not verify; error: content differs; modified: model.safetensors; added: x.py"},
	}
	if !reflect.DeepEqual(d.Reasons, want) {
		t.Errorf("reasons\n%+v\nwant\n%+v", d.Reasons, want)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDataOverride(t *testing.T) {
	dir := t.TempDir()
	in := cleanInput()
	in.Scan.Findings[0].Severity = "high"
	in.BOM.Licenses = []string{"LLAMA-3.1"}
	if d := evaluate(t, testPolicy(t), in); !slices.Equal(ids(d), []string{"LICENSE", "SCAN-SEVERITY"}) {
		t.Fatalf("default policy: %v", ids(d))
	}
	yamlData := writeFile(t, dir, "team.yaml", "violet:\n  max_severity: critical\n  license_allowlist: [Apache-2.0, LLAMA-3.1]\n")
	p, err := LoadPolicy(context.Background(), nil, []string{yamlData})
	if err != nil {
		t.Fatal(err)
	}
	if d := evaluate(t, p, in); !d.Allow {
		t.Errorf("with team.yaml: %+v", d.Reasons)
	}
	// Settings not overridden keep their default.
	in.BOM.UseCases = nil
	if d := evaluate(t, p, in); !slices.Equal(ids(d), []string{"MODEL-CARD"}) {
		t.Errorf("with team.yaml, no use cases: %v", ids(d))
	}
	// A later JSON file wins over an earlier one.
	jsonData := writeFile(t, dir, "strict.json", `{"violet": {"required_card_sections": []}}`)
	p, err = LoadPolicy(context.Background(), nil, []string{yamlData, jsonData})
	if err != nil {
		t.Fatal(err)
	}
	if d := evaluate(t, p, in); !d.Allow {
		t.Errorf("with strict.json: %+v", d.Reasons)
	}
	// A bad threshold denies rather than lets everything through.
	bad := writeFile(t, dir, "bad.json", `{"violet": {"max_severity": "severe"}}`)
	p, err = LoadPolicy(context.Background(), nil, []string{bad})
	if err != nil {
		t.Fatal(err)
	}
	if d := evaluate(t, p, cleanInput()); !slices.Equal(ids(d), []string{"POLICY-CONFIG"}) {
		t.Errorf("with bad.json: %v", ids(d))
	}
}

func TestCustomPolicyDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "policy.rego", `package violet.gate

deny contains {"id": "TOO-BIG", "msg": sprintf("%d files", [input.scan.files])} if input.scan.files > data.violet.max_files
`)
	writeFile(t, dir, "policy_test.rego", `package violet.gate_test
test_x if true
`)
	writeFile(t, dir, "data.json", `{"violet": {"max_files": 2}}`)
	p, err := LoadPolicy(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := evaluate(t, p, cleanInput())
	if want := []Reason{{ID: "TOO-BIG", Message: "3 files"}}; !reflect.DeepEqual(d.Reasons, want) {
		t.Errorf("reasons %+v, want %+v", d.Reasons, want)
	}
	override := writeFile(t, t.TempDir(), "data.json", `{"violet": {"max_files": 5}}`)
	p, err = LoadPolicy(context.Background(), []string{dir}, []string{override})
	if err != nil {
		t.Fatal(err)
	}
	if d := evaluate(t, p, cleanInput()); !d.Allow {
		t.Errorf("with max_files 5: %+v", d.Reasons)
	}
}

func TestBrokenPolicies(t *testing.T) {
	loadErrors := map[string]string{
		"syntax error":       "package violet.gate\n\ndeny contains x if {\n",
		"no deny":            "package violet.gate\n\nallow := true\n",
		"conflicting kinds":  "package violet.gate\n\ndeny := {}\ndeny contains \"x\" if true\n",
		"unsafe variable":    "package violet.gate\n\ndeny contains x if true\n",
		"rego v0 syntax":     "package violet.gate\n\ndeny[x] { x := 1 }\n",
		"undefined function": "package violet.gate\n\ndeny contains x if x := nope(1)\n",
	}
	for name, src := range loadErrors {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "p.rego", src)
			if _, err := LoadPolicy(context.Background(), []string{dir}, nil); err == nil {
				t.Error("LoadPolicy: no error")
			}
		})
	}
	evalErrors := map[string]string{
		"deny of strings":     "package violet.gate\n\ndeny contains \"no\" if true\n",
		"deny an object":      "package violet.gate\n\ndeny := {\"id\": \"X\", \"msg\": \"y\"}\n",
		"deny a string":       "package violet.gate\n\ndeny := \"no\"\n",
		"deny without id":     "package violet.gate\n\ndeny contains {\"msg\": \"y\"} if true\n",
		"deny without msg":    "package violet.gate\n\ndeny contains {\"id\": \"X\"} if true\n",
		"severity not string": "package violet.gate\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\", \"severity\": 3} if true\n",
		"conflicting rules":   "package violet.gate\n\nlimit := 1 if true\nlimit := 2 if true\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if limit > 5\n",
		"builtin error":       "package violet.gate\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if count(input.scan.files) > 0\n",
		"undefined deny":      "package violet.gate\n\ndeny := x if { x := input.nothing }\n",
	}
	for name, src := range evalErrors {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "p.rego", src)
			p, err := LoadPolicy(context.Background(), []string{dir}, nil)
			if err != nil {
				t.Fatalf("LoadPolicy: %v", err)
			}
			d, err := p.Evaluate(context.Background(), cleanInput())
			if err == nil {
				t.Errorf("Evaluate: no error, decision %+v", d)
			} else if d != nil {
				t.Errorf("Evaluate: decision %+v with error %v", d, err)
			}
		})
	}
}

func TestBadDataFiles(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"list.json": "[1, 2]", "broken.json": "{", "broken.yaml": "a: [\n"} {
		f := writeFile(t, dir, name, text)
		if _, err := LoadPolicy(context.Background(), nil, []string{f}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadPolicy(context.Background(), nil, []string{filepath.Join(dir, "absent.json")}); err == nil {
		t.Error("absent data file: no error")
	}
	if _, err := LoadPolicy(context.Background(), []string{filepath.Join(dir, "absent")}, nil); err == nil {
		t.Error("absent policy dir: no error")
	}
}

func TestEvaluateDeadline(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "slow.rego", `package violet.gate

deny contains {"id": "X", "msg": "m"} if {
	some i in numbers.range(1, 100000000)
	i < 0
}
`)
	p, err := LoadPolicy(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	d, err := p.Evaluate(ctx, cleanInput())
	if err == nil {
		t.Fatalf("no error, decision %+v", d)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "cancel") {
		t.Logf("error: %v", err)
	}
}

// TestInputValue checks that inputValue makes what encoding/json makes of
// an Input with every field set, and of one with none.
func TestInputValue(t *testing.T) {
	full := &Input{}
	fill(reflect.ValueOf(full).Elem())
	for _, in := range []*Input{full, {}, cleanInput()} {
		want, err := ast.InterfaceToValue(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := inputValue(in); got.Compare(want) != 0 {
			t.Errorf("inputValue\n%v\nwant\n%v", got, want)
		}
	}
}

// fill sets every field of v to a non-zero value, recursively.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x\"y")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	}
}

func TestDefaultPolicyFiles(t *testing.T) {
	files, err := DefaultPolicyFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"data.json", "gate.rego", "scan.rego", "gate_test.rego"} {
		if len(files[name]) == 0 {
			t.Errorf("no %s", name)
		}
	}
	// The files, written out, are a policy that loads and passes its tests.
	dir := t.TempDir()
	for name, b := range files {
		writeFile(t, dir, name, string(b))
	}
	if _, err := LoadPolicy(context.Background(), []string{dir}, nil); err != nil {
		t.Fatal(err)
	}
	results, err := RunPolicyTests(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
}

func TestRunPolicyTestsFailures(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "p.rego", "package violet.gate\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if input.bad\n")
	writeFile(t, dir, "p_test.rego", `package violet.gate_test

import data.violet.gate

test_pass if count(gate.deny) == 0 with input as {}
test_fail if count(gate.deny) == 1 with input as {}
test_error if count(input.x) == 0 with input as {"x": 1}
`)
	results, err := RunPolicyTests(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		outcome := "ERROR"
		switch {
		case r.Pass:
			outcome = "PASS"
		case r.Fail:
			outcome = "FAIL"
		}
		got = append(got, fmt.Sprintf("%s %s", r.Name, outcome))
	}
	want := []string{"test_pass PASS", "test_fail FAIL", "test_error ERROR"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	empty := t.TempDir()
	writeFile(t, empty, "p.rego", "package violet.gate\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if false\n")
	if _, err := RunPolicyTests(context.Background(), []string{empty}, nil); !errors.Is(err, ErrNoTests) {
		t.Errorf("no tests: %v", err)
	}
	writeFile(t, empty, "bad_test.rego", "package x\n\ntest_a if {\n")
	if _, err := RunPolicyTests(context.Background(), []string{empty}, nil); err == nil || errors.Is(err, ErrNoTests) {
		t.Errorf("syntax error: %v", err)
	}
}

// benchInput is an Input with n scan findings: mostly low and medium,
// one in a hundred high.
func benchInput(n int) *Input {
	in := cleanInput()
	sev := []string{"info", "low", "medium", "low"}
	in.Scan.Findings = make([]Finding, n)
	for i := range in.Scan.Findings {
		s := sev[i%len(sev)]
		if i%100 == 0 {
			s = "high"
		}
		in.Scan.Findings[i] = Finding{
			Rule: "PICKLE-IMPORT", Severity: s, Path: fmt.Sprintf("shard-%05d.bin", i/10),
			Message: fmt.Sprintf("imports module%d.function", i), Evidence: "GLOBAL module.function",
		}
	}
	in.Scan.Files = n / 10
	return in
}

func TestEvaluateLargeInput(t *testing.T) {
	in := benchInput(10000)
	before := fmt.Sprint(in.Scan.Counts, in.Scan.BySeverity, in.Scan.Incomplete)
	d := evaluate(t, testPolicy(t), in)
	if len(d.Reasons) != 100 {
		t.Fatalf("%d reasons, want 100", len(d.Reasons))
	}
	for _, r := range d.Reasons {
		if r.Severity != "high" || !strings.Contains(r.Message, "(high)") {
			t.Errorf("reason %+v is not a high finding's", r)
		}
	}
	if !strings.HasSuffix(d.Reasons[99].Message, "imports module9900.function") {
		t.Errorf("last reason %q, want finding 9900's", d.Reasons[99].Message)
	}
	if after := fmt.Sprint(in.Scan.Counts, in.Scan.BySeverity, in.Scan.Incomplete); after != before {
		t.Errorf("Evaluate changed its input: %s, was %s", after, before)
	}
}

// BenchmarkEvaluate evaluates the default policy over 10,000 scan
// findings (100 of them high): the budget is 10 ms.
func BenchmarkEvaluate(b *testing.B) {
	p := testPolicy(b)
	in := benchInput(10000)
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.Evaluate(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateAllowed is the common case: 10,000 findings, none of
// them blocking.
func BenchmarkEvaluateAllowed(b *testing.B) {
	p := testPolicy(b)
	in := benchInput(10000)
	for i := range in.Scan.Findings {
		if in.Scan.Findings[i].Severity == "high" {
			in.Scan.Findings[i].Severity = "medium"
		}
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.Evaluate(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateAllDenied is the worst case: all 10,000 findings are
// reasons.
func BenchmarkEvaluateAllDenied(b *testing.B) {
	p := testPolicy(b)
	in := benchInput(10000)
	for i := range in.Scan.Findings {
		in.Scan.Findings[i].Severity = "critical"
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.Evaluate(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateRego is the part of BenchmarkEvaluate spent in Rego,
// on an input already converted.
func BenchmarkEvaluateRego(b *testing.B) {
	p := testPolicy(b)
	v := inputValue(withDerived(benchInput(10000)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.evaluateValue(ctx, v, MaxEvalMemory); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInputValue is the part of BenchmarkEvaluate spent preparing
// the Input and converting it into OPA's values.
func BenchmarkInputValue(b *testing.B) {
	in := benchInput(10000)
	for b.Loop() {
		inputValue(withDerived(in))
	}
}
