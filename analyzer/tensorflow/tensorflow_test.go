package tensorflow_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/tensorflow"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

// msg builds a protobuf message (testutil.Proto).
var msg = testutil.Proto

// nodeDef builds a NodeDef; attrs are map entries built with attr.
func nodeDef(name, op string, attrs ...[]byte) []byte {
	b := msg(1, name, 2, op, 3, "x:0", 4, "/device:CPU:0")
	for _, a := range attrs {
		b = append(b, msg(5, a)...)
	}
	return b
}

// attr builds one entry of map<string, AttrValue>.
func attr(key string, value []byte) []byte { return msg(1, key, 2, value) }

// funcAttr is an AttrValue naming a function.
func funcAttr(name string) []byte { return msg(10, msg(1, name)) }

// graphDef builds a GraphDef of nodes, with a library of functions.
func graphDef(nodes [][]byte, functions ...[]byte) []byte {
	var b []byte
	for _, n := range nodes {
		b = append(b, msg(1, n)...)
	}
	if len(functions) > 0 {
		var lib []byte
		for _, f := range functions {
			lib = append(lib, msg(1, f)...)
		}
		b = append(b, msg(2, lib)...)
	}
	return append(b, msg(4, msg(1, 1205, 2, 12))...)
}

// functionDef builds a FunctionDef named name holding nodes.
func functionDef(name string, nodes ...[]byte) []byte {
	b := msg(1, msg(1, name, 2, msg(1, "x", 3, 1)))
	for _, n := range nodes {
		b = append(b, msg(3, n)...)
	}
	return append(b, msg(4, msg(1, "out", 2, "y:output:0"))...)
}

// savedModel wraps a GraphDef in a SavedModel.
func savedModel(graph []byte) []byte {
	meta := msg(1, msg(1, "serve"), 2, graph, 3, msg(1, "saver_filename:0"), 5, msg(1, "serving_default"))
	return msg(1, 1, 2, meta)
}

var plain = [][]byte{
	nodeDef("x", "Placeholder", attr("dtype", msg(6, 1))),
	nodeDef("w", "Const", attr("value", msg(8, msg(1, 1)))),
	nodeDef("mm", "MatMul"),
	nodeDef("b", "Const"),
	nodeDef("add", "Add"),
}

func with(extra ...[]byte) [][]byte {
	return append(append([][]byte{}, plain...), extra...)
}

func TestAnalyze(t *testing.T) {
	saverGraph := graphDef(with(
		nodeDef("save/Const", "Const"),
		nodeDef("save/SaveV2", "SaveV2"),
		nodeDef("save/RestoreV2", "RestoreV2"),
		nodeDef("save/ShardedFilename", "ShardedFilename"),
		nodeDef("StatefulPartitionedCall_1", "StatefulPartitionedCall", attr("f", funcAttr("__inference__traced_save_123"))),
	), functionDef("__inference__traced_save_123", nodeDef("SaveV2", "SaveV2"), nodeDef("MergeV2Checkpoints", "MergeV2Checkpoints")),
		functionDef("__inference__traced_restore_124", nodeDef("RestoreV2", "RestoreV2")))
	tests := []struct {
		name string
		file string
		data []byte
		want map[string]int
	}{
		{"plain graph", "frozen.pb", graphDef(plain), nil},
		{"plain savedmodel", "saved_model.pb", savedModel(graphDef(plain)), nil},
		{"pyfunc", "frozen.pb", graphDef(with(nodeDef("py", "PyFunc", attr("token", msg(2, "pyfunc_0"))))), map[string]int{finding.TFUnsafeOp: 1}},
		{"readfile", "frozen.pb", graphDef(with(nodeDef("rf", "ReadFile"), nodeDef("rf2", "ReadFile"))), map[string]int{finding.TFUnsafeOp: 1}},
		{"eagerpyfunc in library", "saved_model.pb", savedModel(graphDef(
			with(nodeDef("StatefulPartitionedCall", "StatefulPartitionedCall", attr("f", funcAttr("__inference_call_42")))),
			functionDef("__inference_call_42", nodeDef("EagerPyFunc", "EagerPyFunc"), nodeDef("Identity", "Identity")))),
			map[string]int{finding.TFUnsafeOp: 1}},
		{"custom op", "saved_model.pb", savedModel(graphDef(with(nodeDef("c1", "MyCustomOp"), nodeDef("c2", "MyCustomOp")))), map[string]int{finding.TFUnknownOp: 1}},
		{"saver", "saved_model.pb", savedModel(saverGraph), nil},
		{"savev2 outside the saver", "frozen.pb", graphDef(with(nodeDef("evil", "SaveV2"))), map[string]int{finding.TFUnsafeOp: 1}},
		{"func attr names an op", "frozen.pb", graphDef(with(nodeDef("call", "PartitionedCall", attr("f", funcAttr("WriteFile"))))), map[string]int{finding.TFUnsafeOp: 1}},
		{"func attr names a missing function", "frozen.pb", graphDef(with(nodeDef("call", "PartitionedCall", attr("f", funcAttr("__inference_gone_1"))))), map[string]int{finding.TFUnknownOp: 1}},
		{"debug urls", "frozen.pb", graphDef(with(nodeDef("dbg", "DebugIdentity", attr("debug_urls", msg(1, msg(2, "file:///tmp/dump")))))), map[string]int{finding.TFUnsafeOp: 1}},
		{"debug without urls", "frozen.pb", graphDef(with(nodeDef("dbg", "DebugIdentity"))), nil},
		{"printv2 to a file", "frozen.pb", graphDef(with(nodeDef("p", "PrintV2", attr("output_stream", msg(2, "file:///tmp/x"))))), map[string]int{finding.TFUnsafeOp: 1}},
		{"printv2 to stderr", "frozen.pb", graphDef(with(nodeDef("p", "PrintV2", attr("output_stream", msg(2, "stderr"))))), nil},
		{"while body", "frozen.pb", graphDef(with(nodeDef("w", "While", attr("body", funcAttr("body_1")), attr("cond", funcAttr("cond_1")))),
			functionDef("body_1", nodeDef("wf", "WriteFile")), functionDef("cond_1", nodeDef("less", "Less"))), map[string]int{finding.TFUnsafeOp: 1}},
		{"keras lambda", "keras_metadata.pb", msg(1, msg(1, 1, 3, "root", 4, "_tf_keras_model", 5, `{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda"}]}}`)),
			map[string]int{finding.KerasLambda: 1}},
		{"keras plain", "keras_metadata.pb", msg(1, msg(1, 1, 3, "root", 5, `{"class_name": "Dense"}`)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := analyzer.NewBytesInput(tt.file, tt.data)
			a := tensorflow.Analyzer{}
			if !a.Sniff(in) {
				t.Fatal("not sniffed")
			}
			out := &testutil.Output{}
			if err := a.Analyze(t.Context(), in, out); err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, f := range out.Findings {
				got[f.Rule]++
				t.Logf("%s %s: %s [%s] at %s", f.Severity, f.Rule, f.Message, f.Evidence, f.Location)
			}
			if len(got) != len(tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
			for r, n := range tt.want {
				if got[r] != n {
					t.Errorf("%s: %d findings, want %d", r, got[r], n)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	g := graphDef(with(nodeDef("c1", "MyCustomOp"), nodeDef("c2", "MyCustomOp"), nodeDef("py", "PyFuncStateless")),
		functionDef("f", nodeDef("c3", "MyCustomOp")))
	m, err := tensorflow.Parse(savedModel(g), tensorflow.KindSavedModel)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 1 || len(m.Functions) != 1 || m.Functions[0] != "f" {
		t.Errorf("%+v", m)
	}
	if len(m.Unknown) != 1 || m.Unknown[0].Op != "MyCustomOp" || m.Unknown[0].Count != 3 {
		t.Errorf("unknown %+v", m.Unknown)
	}
	if len(m.Unsafe) != 1 || m.Unsafe[0].Op != "PyFuncStateless" || m.Unsafe[0].Nodes[0] != "py" {
		t.Errorf("unsafe %+v", m.Unsafe)
	}
}

func TestMalformed(t *testing.T) {
	data := append(msg(1, 1), 0x12, 0xff, 0xff, 0x01) // meta_graphs longer than the input
	out := &testutil.Output{}
	if err := (tensorflow.Analyzer{}).Analyze(t.Context(), analyzer.NewBytesInput("saved_model.pb", data), out); err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 || out.Findings[0].Rule != finding.FormatMalformed {
		t.Errorf("%v", out.Findings)
	}
}

func TestSniff(t *testing.T) {
	fp := msg(1, 12345, 2, 678, 3, 9, 6, msg(1, 1)) // FingerprintDef
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"frozen.pb", graphDef(plain), true},
		{"saved_model.pb", savedModel(graphDef(plain)), true},
		{"model.bin", graphDef(plain), false},
		{"fingerprint.pb", fp, false},
		{"saved_model.pb", fp, false},
		{"empty.pb", msg(4, msg(1, 1205)), true},
		{"x.pb", []byte("\x08\x01hello"), false},
		{"x.pb", []byte(`{"a":1}`), false},
		{"x.pb", []byte("\x80\x04\x95"), false},
		{"x.pb", msg(1, msg(1, "name", 2, "not an op!")), false},
	} {
		if got := (tensorflow.Analyzer{}).Sniff(analyzer.NewBytesInput(c.name, c.data)); got != c.want {
			t.Errorf("Sniff(%s, %q) = %v, want %v", c.name, c.data, got, c.want)
		}
	}
}

// TestTestdata analyzes the fixtures of testdata, written by
// TestWriteTestdata from the builders above.
func TestTestdata(t *testing.T) {
	want := map[string]string{
		"clean/saved_model.pb":    "",
		"pyfunc/saved_model.pb":   finding.TFUnsafeOp,
		"frozen_readfile.pb":      finding.TFUnsafeOp,
		"custom_op/frozen.pb":     finding.TFUnknownOp,
		"clean/keras_metadata.pb": "",
	}
	for name, rule := range want {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out := &testutil.Output{}
		in := analyzer.NewBytesInput(filepath.Base(name), data)
		if !(tensorflow.Analyzer{}).Sniff(in) {
			t.Errorf("%s: not sniffed", name)
			continue
		}
		if err := (tensorflow.Analyzer{}).Analyze(t.Context(), in, out); err != nil {
			t.Fatal(err)
		}
		switch {
		case rule == "" && len(out.Findings) > 0:
			t.Errorf("%s: %v", name, out.Findings)
		case rule != "" && (len(out.Findings) != 1 || out.Findings[0].Rule != rule):
			t.Errorf("%s: %v, want %s", name, out.Findings, rule)
		}
	}
}

// TestWriteTestdata writes the fixtures of testdata when VIOLET_WRITE_TESTDATA
// is set.
func TestWriteTestdata(t *testing.T) {
	if os.Getenv("VIOLET_WRITE_TESTDATA") == "" {
		t.Skip("set VIOLET_WRITE_TESTDATA=1 to rewrite testdata")
	}
	files := map[string][]byte{
		"clean/saved_model.pb": savedModel(graphDef(with(nodeDef("save/SaveV2", "SaveV2")))),
		"pyfunc/saved_model.pb": savedModel(graphDef(
			with(nodeDef("StatefulPartitionedCall", "StatefulPartitionedCall", attr("f", funcAttr("__inference_call_42")))),
			functionDef("__inference_call_42", nodeDef("EagerPyFunc", "EagerPyFunc")))),
		"frozen_readfile.pb":      graphDef(with(nodeDef("rf", "ReadFile"))),
		"custom_op/frozen.pb":     graphDef(with(nodeDef("c", "MyCustomOp"))),
		"clean/keras_metadata.pb": msg(1, msg(1, 1, 3, "root", 5, `{"class_name": "Dense"}`)),
	}
	for name, data := range files {
		p := filepath.Join("testdata", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(savedModel(graphDef(plain, functionDef("f", nodeDef("n", "PartitionedCall", attr("f", funcAttr("g")))))))
	f.Add(graphDef(with(nodeDef("dbg", "DebugIdentity", attr("debug_urls", msg(1, msg(2, "file:///tmp/dump")))))))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := analyzer.NewBytesInput("saved_model.pb", data)
		a := tensorflow.Analyzer{}
		a.Sniff(in)
		if err := a.Analyze(context.Background(), in, &testutil.Output{}); err != nil {
			t.Fatal(err)
		}
		_, _ = tensorflow.Parse(data, tensorflow.KindGraphDef) // hostile input: an error is expected, only a panic or a hang is a failure
	})
}
