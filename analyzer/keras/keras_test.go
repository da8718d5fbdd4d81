package keras_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/keras"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
)

const metadata = `{"keras_version": "3.8.0", "date_saved": "2025-03-01@12:00:00"}`

// dense is a Dense layer as Keras 3 serializes it.
func dense(name string, units int) string {
	return `{"module": "keras.layers", "class_name": "Dense", "config": {"name": "` + name + `", "trainable": true,
 "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
 "units": ` + strconv.Itoa(units) + `, "activation": "relu", "use_bias": true,
 "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
 "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
 "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null},
 "registered_name": null, "build_config": {"input_shape": [null, 4]}}`
}

const inputLayer = `{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null}`

// sequential wraps layers in a Keras 3 Sequential config.
func sequential(layers ...string) string {
	return `{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true,
 "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
 "layers": [` + strings.Join(append([]string{inputLayer}, layers...), ", ") + `], "build_input_shape": [null, 4]},
 "registered_name": null, "build_config": {"input_shape": [null, 4]},
 "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.001}, "registered_name": null},
 "loss": {"module": "keras.losses", "class_name": "MeanSquaredError", "config": {"name": "mean_squared_error", "reduction": "sum_over_batch_size"}, "registered_name": null},
 "metrics": null, "run_eagerly": false}}`
}

// kerasFile builds a .keras zip holding config, the metadata, weights and
// extra members.
func kerasFile(t testing.TB, config string, extra map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	write("metadata.json", []byte(metadata))
	write("config.json", []byte(config))
	// Weights as Keras 3 writes them, by h5py (testdata/gen/formats).
	weights, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gen", "formats", "keras_weights.h5"))
	if err != nil {
		t.Fatal(err)
	}
	write("model.weights.h5", weights)
	for name, data := range extra {
		write(name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type collect struct {
	findings []finding.Finding
	members  []string
}

func (c *collect) Report(f finding.Finding) { c.findings = append(c.findings, f) }

func (c *collect) Member(_ context.Context, m analyzer.Member) error {
	c.members = append(c.members, m.Name)
	return nil
}

func (c *collect) Format(string) {}

func analyze(t *testing.T, data []byte) *collect {
	t.Helper()
	in := analyzer.NewBytesInput("model.keras", data)
	if !(keras.Analyzer{}).Sniff(in) {
		t.Fatal("Sniff rejected the .keras file")
	}
	c := &collect{}
	if err := (keras.Analyzer{}).Analyze(context.Background(), in, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func rules(c *collect) map[string]int {
	m := map[string]int{}
	for _, f := range c.findings {
		m[f.Rule]++
	}
	return m
}

func TestBenign(t *testing.T) {
	c := analyze(t, kerasFile(t, sequential(dense("dense", 8), dense("dense_1", 1)), map[string][]byte{"assets/vocab.txt": []byte("a\nb\n")}))
	if len(c.findings) != 0 {
		t.Fatalf("benign model: %+v", c.findings)
	}
	if len(c.members) != 0 {
		t.Errorf("members = %v: the zip analyzer hands them to the engine", c.members)
	}
}

func TestLambda(t *testing.T) {
	bytecode := []byte("\xe3\x01\x00\x00\x00\x00\x00\x00\x00os.system('id') and a long tail of marshaled bytes....")
	code := base64.StdEncoding.EncodeToString(bytecode)
	lambda := `{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil_lambda", "trainable": true,
 "function": {"class_name": "__lambda__", "code": "` + code + `", "defaults": null, "closure": null},
 "arguments": {}}, "registered_name": null}`
	c := analyze(t, kerasFile(t, sequential(dense("dense", 8), lambda), nil))
	r := rules(c)
	if r[finding.KerasLambda] != 1 || len(c.findings) != 1 {
		t.Fatalf("findings: %+v", c.findings)
	}
	f := c.findings[0]
	if f.Severity != finding.Critical || !strings.Contains(f.Evidence, "evil_lambda") || !strings.Contains(f.Evidence, code[:60]) || strings.Contains(f.Evidence, code[:61]) {
		t.Errorf("evidence %q", f.Evidence)
	}
	if !strings.Contains(f.Message, strconv.Itoa(len(bytecode))+" bytes") {
		t.Errorf("message %q", f.Message)
	}
}

func TestLambdaVariants(t *testing.T) {
	code := base64.StdEncoding.EncodeToString([]byte("bytecode"))
	for name, cfg := range map[string]string{
		"config.value":  `{"class_name": "__lambda__", "config": {"value": ["` + code + `", null, null]}}`,
		"config.code":   `{"class_name": "__lambda__", "config": {"code": "` + code + `"}}`,
		"keras2 list":   `{"class_name": "Lambda", "config": {"name": "l", "function": ["` + code + `", null, null], "function_type": "lambda", "module": "__main__"}}`,
		"bare __lambda": `{"class_name": "__lambda__", "code": "` + code + `"}`,
	} {
		issues, err := keras.Walk([]byte(cfg))
		if err != nil {
			t.Fatal(name, err)
		}
		if len(issues) != 1 || issues[0].Kind != keras.Lambda || !strings.Contains(issues[0].Message, "8 bytes") {
			t.Errorf("%s: %+v", name, issues)
		}
	}
}

func TestUnsafeModule(t *testing.T) {
	evil := `{"module": "os", "class_name": "system", "config": {"command": "id"}, "registered_name": null}`
	fn := `{"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}`
	layer := strings.Replace(dense("dense", 8), `"kernel_regularizer": null`, `"kernel_regularizer": `+evil, 1)
	layer = strings.Replace(layer, `"activation": "relu"`, `"activation": `+fn, 1)
	c := analyze(t, kerasFile(t, sequential(layer), nil))
	var ev []string
	for _, f := range c.findings {
		if f.Rule != finding.KerasUnsafeModule || f.Severity != finding.Critical {
			t.Errorf("unexpected %+v", f)
		}
		ev = append(ev, f.Evidence)
	}
	if got := strings.Join(ev, ","); got != "builtins.exec,os.system" {
		t.Errorf("evidence %q", got)
	}
}

func TestNestedFunctional(t *testing.T) {
	// A Functional model holding a Functional model holding a Sequential
	// whose layer's initializer comes from subprocess.
	evil := strings.Replace(dense("deep", 2), `"module": "keras.initializers", "class_name": "Zeros", "config": {}`,
		`"module": "subprocess", "class_name": "Popen", "config": {"args": ["sh", "-c", "id"]}`, 1)
	inner := sequential(evil)
	mid := `{"module": "keras", "class_name": "Functional", "config": {"name": "mid", "layers": [` + inner + `], "input_layers": [], "output_layers": []}, "registered_name": null}`
	outer := `{"module": "keras", "class_name": "Functional", "config": {"name": "outer", "layers": [` + inputLayer + `, ` + mid + `], "input_layers": [["input_layer", 0, 0]], "output_layers": [["mid", 0, 0]]}, "registered_name": null}`
	c := analyze(t, kerasFile(t, outer, nil))
	if len(c.findings) != 1 || c.findings[0].Rule != finding.KerasUnsafeModule || c.findings[0].Evidence != "subprocess.Popen" {
		t.Fatalf("findings: %+v", c.findings)
	}
	if !strings.Contains(c.findings[0].Message, "layers[1].config.layers[0].config.layers[1]") {
		t.Errorf("message %q", c.findings[0].Message)
	}
}

func TestCustomObject(t *testing.T) {
	custom := `{"module": "__main__", "class_name": "MyDense", "config": {"name": "my_dense", "units": 4}, "registered_name": "MyLayers>MyDense"}`
	hub := `{"module": "keras_hub.src.models.gemma.gemma_backbone", "class_name": "GemmaBackbone", "config": {"name": "gemma"}, "registered_name": "keras_hub>GemmaBackbone"}`
	c := analyze(t, kerasFile(t, sequential(dense("dense", 8), custom, hub), nil))
	if len(c.findings) != 1 || c.findings[0].Rule != finding.KerasCustomObject || c.findings[0].Severity != finding.Medium || c.findings[0].Evidence != "MyLayers>MyDense" {
		t.Fatalf("findings: %+v", c.findings)
	}
}

func TestMalformed(t *testing.T) {
	deep := strings.Repeat("[", keras.MaxDepth+1) + strings.Repeat("]", keras.MaxDepth+1)
	for name, cfg := range map[string]string{"truncated": `{"module": "keras"`, "deep": deep, "two values": `{} {}`} {
		c := analyze(t, kerasFile(t, cfg, nil))
		if r := rules(c); r[finding.FormatMalformed] != 1 || len(c.findings) != 1 {
			t.Errorf("%s: %+v", name, c.findings)
		}
	}
	ok := strings.Repeat("[", keras.MaxDepth) + strings.Repeat("]", keras.MaxDepth)
	if _, err := keras.Walk([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", keras.MaxDepth, err)
	}
}

func TestSniff(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("config.json")
	if _, err := w.Write([]byte("{}")); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if (keras.Analyzer{}).Sniff(analyzer.NewBytesInput("x.zip", buf.Bytes())) {
		t.Error("a zip without metadata.json is not a Keras file")
	}
	if (keras.Analyzer{}).Sniff(analyzer.NewBytesInput("x.keras", []byte("not a zip"))) {
		t.Error("not a zip")
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	lambda := `{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lambda", "function": {"class_name": "__lambda__", "code": "` +
		base64.StdEncoding.EncodeToString([]byte("code")) + `", "defaults": null, "closure": null}}, "registered_name": null}`
	evil := filepath.Join(dir, "evil.keras")
	if err := os.WriteFile(evil, kerasFile(t, sequential(lambda), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.keras")
	if err := os.WriteFile(good, kerasFile(t, sequential(dense("dense", 8)), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := scan.Options{
		Analyzers: scan.Analyzers(pickle.DefaultPolicy()),
		Limits:    analyzer.DefaultLimits(),
	}
	r, err := scan.Scan(context.Background(), []string{evil}, opts)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range r.AllFindings() {
		found = found || f.Rule == finding.KerasLambda && f.Analyzer == "keras/1"
	}
	if !found || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("evil: exit %d, findings %+v", r.ExitCode(finding.High), r.AllFindings())
	}
	r, err = scan.Scan(context.Background(), []string{good}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if code := r.ExitCode(finding.High); code != report.ExitPass || len(r.AllFindings()) != 0 {
		t.Errorf("good: exit %d, findings %+v", code, r.AllFindings())
	}
	formats := strings.Join(r.Files[0].Formats, ",")
	if !strings.Contains(formats, "keras") {
		t.Errorf("formats %q", formats)
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte(sequential(dense("dense", 8))))
	f.Add([]byte(`{"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", "code": "AAAA"}}}`))
	f.Add([]byte(`{"module": "os", "class_name": "system", "config": "id"}`))
	f.Add([]byte(`[[[[{"registered_name": "a>b"}]]]]`))
	for _, a := range advisories {
		if a.config != nil {
			f.Add([]byte(a.config(f)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		issues, err := keras.Walk(data)
		if err != nil && len(issues) != 0 {
			t.Fatal("issues with an error")
		}
		if r, err := keras.Scan(data); err == nil {
			total := 0
			for _, b := range r.Blobs {
				total += len(b.Data)
			}
			if len(r.Blobs) > keras.MaxBlobs || total > keras.MaxBlobBytes {
				t.Fatalf("%d blobs, %d bytes", len(r.Blobs), total)
			}
		}
		if len(data) < 1<<16 {
			in := analyzer.NewBytesInput("model.keras", kerasFile(t, string(data), nil))
			c := &collect{}
			if err := (keras.Analyzer{}).Analyze(context.Background(), in, c); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestLambdaDecoded: the bytecode of a real lambda (marshaled by CPython
// 3.11, internal/pymarshal/testdata) is decoded, never run, and the
// finding shows what the function calls.
func TestLambdaDecoded(t *testing.T) {
	b64, err := os.ReadFile(filepath.Join("..", "..", "internal", "pymarshal", "testdata", "os_system.b64"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := `{"class_name": "Lambda", "config": {"name": "l", "function": [` + strconv.Quote(string(b64)) + `, null, null], "function_type": "lambda", "module": "__main__"}}`
	issues, err := keras.Walk([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 1 {
		t.Fatalf("issues %+v", issues)
	}
	is := issues[0]
	for _, want := range []string{"system", "'id'", "<lambda>"} {
		if !strings.Contains(is.Evidence, want) || !strings.Contains(is.Message, want) {
			t.Errorf("%q missing from evidence %q or message %q", want, is.Evidence, is.Message)
		}
	}
}
