package msgpack_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/msgpack"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

func str(s string) []byte {
	if len(s) < 32 {
		return append([]byte{0xa0 | byte(len(s))}, s...)
	}
	return append([]byte{0xd9, byte(len(s))}, s...)
}

func fixmap(pairs ...[]byte) []byte {
	b := []byte{0x80 | byte(len(pairs)/2)}
	for _, p := range pairs {
		b = append(b, p...)
	}
	return b
}

func fixarray(items ...[]byte) []byte {
	b := []byte{0x90 | byte(len(items))}
	for _, p := range items {
		b = append(b, p...)
	}
	return b
}

func bin32(data []byte) []byte {
	b := []byte{0xc6, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(data)))
	return append(b, data...)
}

func ext32(code int8, payload []byte) []byte {
	b := []byte{0xc9, 0, 0, 0, 0, byte(code)}
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	return append(b, payload...)
}

// ndarray builds Flax's ext 1: [shape, dtype, data].
func ndarray(dtype string, data []byte, shape ...byte) []byte {
	dims := make([][]byte, len(shape))
	for i, s := range shape {
		dims[i] = []byte{s}
	}
	return ext32(1, fixarray(fixarray(dims...), str(dtype), bin32(data)))
}

func flaxTree(kernel, bias []byte) []byte {
	return fixmap(str("params"), fixmap(str("Dense_0"), fixmap(str("kernel"), kernel, str("bias"), bias)))
}

func goodTree() []byte {
	k := make([]byte, 4*3*2)
	for i := range 6 {
		binary.LittleEndian.PutUint32(k[4*i:], math.Float32bits(float32(i)))
	}
	return flaxTree(ndarray("float32", k, 3, 2), ndarray("float32", make([]byte, 8), 2))
}

func run(t *testing.T, name string, data []byte) map[string][]finding.Finding {
	t.Helper()
	in := analyzer.NewBytesInput(name, data)
	out := &testutil.Output{}
	if err := (msgpack.Analyzer{}).Analyze(t.Context(), in, out); err != nil {
		t.Fatal(err)
	}
	got := map[string][]finding.Finding{}
	for _, f := range out.Findings {
		got[f.Rule] = append(got[f.Rule], f)
	}
	return got
}

func TestFlaxTree(t *testing.T) {
	data := goodTree()
	if !(msgpack.Analyzer{}).Sniff(analyzer.NewBytesInput("checkpoint", data)) {
		t.Fatal("Flax tree not sniffed")
	}
	if got := run(t, "checkpoint", data); len(got) != 0 {
		t.Errorf("findings on a clean tree: %v", got)
	}
}

func TestExtension(t *testing.T) {
	data := flaxTree(ext32(42, []byte("payload")), ndarray("float32", make([]byte, 8), 2))
	got := run(t, "x.msgpack", data)
	if len(got) != 1 || len(got[finding.MsgpackExtension]) != 1 {
		t.Fatalf("got %v", got)
	}
	f := got[finding.MsgpackExtension][0]
	if f.Severity != finding.Medium || !bytes.Contains([]byte(f.Evidence), []byte("ext 42 at params/Dense_0/kernel")) {
		t.Errorf("finding %+v", f)
	}
}

func TestNDArraySizeMismatch(t *testing.T) {
	data := flaxTree(ndarray("float32", make([]byte, 20), 3, 2), ndarray("float32", make([]byte, 8), 2))
	got := run(t, "x.msgpack", data)
	if len(got) != 1 || len(got[finding.MsgpackExtension]) != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestMalformed(t *testing.T) {
	good := goodTree()
	past := fixmap(str("params"), []byte{0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3})
	nested := bytes.Repeat([]byte{0x91}, 100_000)
	nested = append(nested, 0xc0)
	for name, data := range map[string][]byte{
		"bin32 past end":   past,
		"trailing":         append(append([]byte{}, good...), 0x00),
		"depth bomb":       nested,
		"reserved":         fixmap(str("a"), []byte{0xc1}),
		"truncated":        good[:len(good)-3],
		"empty":            {},
		"ext payload tail": flaxTree(ext32(1, append(fixarray(fixarray([]byte{2}), str("int8"), bin32([]byte{1, 2})), 0)), []byte{1}),
		"huge map":         {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'},
	} {
		got := run(t, "x.msgpack", data)
		if len(got[finding.FormatMalformed]) != 1 {
			t.Errorf("%s: got %v", name, got)
		}
	}
}

func TestSniff(t *testing.T) {
	a := msgpack.Analyzer{}
	for name, tc := range map[string]struct {
		name string
		data []byte
		want bool
	}{
		"by name":         {"model.msgpack", []byte{0x90}, true},
		"tree":            {"ckpt", goodTree(), true},
		"two pairs":       {"ckpt", fixmap(str("a"), []byte{1}, str("b"), []byte{2}), false},
		"int keys":        {"ckpt", fixmap([]byte{1}, []byte{1}, []byte{2}, []byte{2}, []byte{3}, []byte{3}), false},
		"not a map":       {"ckpt", fixarray(str("a"), str("b"), str("c")), false},
		"random":          {"ckpt", []byte{0x83, 0x12, 0x99, 0xfe, 0xc1, 0x00}, false},
		"big head prefix": {"ckpt", flaxTree(ndarray("float32", make([]byte, 8000), 100, 20), []byte{1}), true},
	} {
		if got := a.Sniff(analyzer.NewBytesInput(tc.name, tc.data)); got != tc.want {
			t.Errorf("%s: Sniff = %v", name, got)
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add(goodTree())
	f.Add(flaxTree(ext32(42, []byte("x")), []byte{0xc1}))
	f.Add([]byte{0xde, 0x00, 0x03, 0xa1, 'a', 0xd4, 0x05, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := analyzer.NewBytesInput("f", data)
		a := msgpack.Analyzer{}
		a.Sniff(in)
		if err := a.Analyze(context.Background(), in, &testutil.Output{}); err != nil {
			t.Fatal(err)
		}
	})
}
