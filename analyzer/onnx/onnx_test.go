package onnx_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/onnx"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

// msg builds a protobuf message (testutil.Proto).
var msg = testutil.Proto

func externalTensor(name, location string) []byte {
	return msg(8, name, 14, 1, 13, msg(1, "location", 2, location))
}

func TestParse(t *testing.T) {
	node := msg(4, "CustomOp", 7, "evil.ops", 5, msg(1, "then_branch", 6, msg(5, externalTensor("s", "../x.bin"))))
	model := msg(1, 8, 8, msg(1, "", 2, 13), 8, msg(1, "evil.ops", 2, 1), 7, msg(1, node, 5, externalTensor("W", "/etc/shadow")))
	m, err := onnx.Parse(model)
	if err != nil {
		t.Fatal(err)
	}
	if m.IRVersion != 8 || len(m.External) != 2 || len(m.Domains) != 2 || m.Domains[1] != "evil.ops" {
		t.Errorf("%+v", m)
	}
	a := onnx.Analyzer{}
	in := analyzer.NewBytesInput("model.onnx", model)
	if !a.Sniff(in) {
		t.Fatal("not sniffed")
	}
	out := &testutil.Output{}
	if err := a.Analyze(t.Context(), in, out); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{finding.ONNXExternalData: 2, finding.ONNXCustomDomain: 1}
	got := map[string]int{}
	for _, f := range out.Findings {
		got[f.Rule]++
	}
	for r, n := range want {
		if got[r] != n {
			t.Errorf("%s: %d findings, want %d (%v)", r, got[r], n, out.Findings)
		}
	}
}

func TestMalformed(t *testing.T) {
	model := append(msg(1, 8), 0x3a, 0xff, 0xff, 0x01) // graph field longer than the input
	out := &testutil.Output{}
	if err := (onnx.Analyzer{}).Analyze(t.Context(), analyzer.NewBytesInput("m.onnx", model), out); err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 || out.Findings[0].Rule != finding.FormatMalformed {
		t.Errorf("%v", out.Findings)
	}
}

func TestSniffRejectsOtherFormats(t *testing.T) {
	savedModel, err := os.ReadFile(filepath.Join("..", "..", "testdata", "formats", "benign", "tensorflow", "plain_math", "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{[]byte("\x08\x01hello"), []byte("{\"a\":1}"), []byte("\x80\x04\x95"), savedModel} {
		if (onnx.Analyzer{}).Sniff(analyzer.NewBytesInput("x.bin", data)) {
			t.Errorf("sniffed %q", data)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(msg(1, 8, 7, msg(5, externalTensor("W", "w.bin"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = onnx.Parse(data) // hostile input: an error is expected, only a panic or a hang is a failure
	})
}
