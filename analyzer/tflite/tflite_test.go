package tflite_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/tflite"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

// A tiny flatbuffer builder. A tbl lists its fields by field id (nil means
// absent); a field is a u8, u32, i32, u64, string, *tbl, []*tbl, []byte
// (a vector of ubyte) or a badOff (a raw uoffset_t, to break the file).
// The builder writes forward: a vtable, its table, then what the table
// refers to, so every uoffset_t points forward as the format requires.
type (
	tbl    []any
	u8     uint8
	u32    uint32
	i32    int32
	u64    uint64
	badOff uint32
)

type builder struct{ b []byte }

func (w *builder) put32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

func (w *builder) patch(at int, target int) {
	binary.LittleEndian.PutUint32(w.b[at:], uint32(target-at))
}

// write writes a referenced object (table, string, vector) and returns its
// position.
func (w *builder) write(v any) int {
	switch v := v.(type) {
	case tbl:
		return w.table(v)
	case string:
		pos := len(w.b)
		w.put32(uint32(len(v)))
		w.b = append(append(w.b, v...), 0)
		return pos
	case []byte:
		pos := len(w.b)
		w.put32(uint32(len(v)))
		w.b = append(w.b, v...)
		return pos
	case []tbl:
		pos := len(w.b)
		w.put32(uint32(len(v)))
		slots := len(w.b)
		for range v {
			w.put32(0)
		}
		for i, e := range v {
			w.patch(slots+4*i, w.table(e))
		}
		return pos
	}
	panic("unknown object")
}

func (w *builder) table(t tbl) int {
	offs := make([]uint16, len(t))
	size := 4
	for i, f := range t {
		if f == nil {
			continue
		}
		offs[i] = uint16(size)
		switch f.(type) {
		case u8:
			size++
		case u64:
			size += 8
		default:
			size += 4
		}
	}
	vt := len(w.b)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(4+2*len(t)))
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(size))
	for _, o := range offs {
		w.b = binary.LittleEndian.AppendUint16(w.b, o)
	}
	pos := len(w.b)
	w.put32(uint32(pos - vt))
	type ref struct {
		at int
		v  any
	}
	var refs []ref
	for _, f := range t {
		switch f := f.(type) {
		case nil:
		case u8:
			w.b = append(w.b, byte(f))
		case u32:
			w.put32(uint32(f))
		case i32:
			w.put32(uint32(f))
		case u64:
			w.b = binary.LittleEndian.AppendUint64(w.b, uint64(f))
		case badOff:
			w.put32(uint32(f))
		default:
			refs = append(refs, ref{len(w.b), f})
			w.put32(0)
		}
	}
	for _, r := range refs {
		w.patch(r.at, w.write(r.v))
	}
	return pos
}

// build returns a TFLite file whose root table is model.
func build(model tbl) []byte {
	w := &builder{b: []byte{0, 0, 0, 0, 'T', 'F', 'L', '3'}}
	w.patch(0, w.table(model))
	return w.b
}

// opcode returns an OperatorCode table.
func opcode(builtin int32, custom string) tbl {
	t := tbl{u8(min(builtin, 127)), nil, i32(1), i32(builtin)}
	if custom != "" {
		t[1] = custom
	}
	return t
}

// model returns a Model table with the operator codes, one subgraph whose
// operators use the opcode indexes, and the buffers.
func model(codes []tbl, indexes []uint32, buffers []tbl) tbl {
	var ops []tbl
	for _, i := range indexes {
		ops = append(ops, tbl{u32(i)})
	}
	subgraph := tbl{nil, nil, nil, ops, "main"}
	return tbl{u32(3), codes, []tbl{subgraph}, "test model", buffers}
}

func analyze(t *testing.T, data []byte) map[string]int {
	t.Helper()
	a := tflite.Analyzer{}
	in := analyzer.NewBytesInput("model.tflite", data)
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
		if f.Rule == finding.TFLiteCustomOp && f.Severity != finding.Medium {
			t.Errorf("severity %v", f.Severity)
		}
	}
	t.Logf("%v", out.Findings)
	return got
}

func TestClean(t *testing.T) {
	data := build(model([]tbl{opcode(0, ""), opcode(3, "")}, []uint32{0, 1, 1},
		[]tbl{{}, {[]byte{1, 2, 3, 4}}}))
	m, err := tflite.Parse(data, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 3 || m.Description != "test model" || len(m.OperatorCodes) != 2 || m.OperatorCodes[1].Builtin != 3 ||
		m.Subgraphs != 1 || m.Operators != 3 || m.Buffers != 2 {
		t.Errorf("%+v", m)
	}
	if got := analyze(t, data); len(got) != 0 {
		t.Errorf("findings %v", got)
	}
}

func TestCustomOp(t *testing.T) {
	data := build(model([]tbl{opcode(0, ""), opcode(32, "MyCustomOp"), opcode(250, "")}, []uint32{0, 1, 2}, nil))
	got := analyze(t, data)
	if got[finding.TFLiteCustomOp] != 2 || len(got) != 1 {
		t.Errorf("findings %v", got)
	}
	m, _ := tflite.Parse(data, int64(len(data)))
	if m.OperatorCodes[1].Custom != "MyCustomOp" {
		t.Errorf("%+v", m.OperatorCodes)
	}
}

func TestMalformed(t *testing.T) {
	for name, data := range map[string][]byte{
		"offset past end":        build(tbl{u32(3), badOff(0x7fffffff)}),
		"opcode_index too large": build(model([]tbl{opcode(0, "")}, []uint32{0, 1}, nil)),
		"buffer past the file":   build(model([]tbl{opcode(0, "")}, []uint32{0}, []tbl{{nil, u64(100), u64(1 << 40)}})),
		"buffer offset past":     build(model([]tbl{opcode(0, "")}, []uint32{0}, []tbl{{nil, u64(1 << 62), u64(0)}})),
		"truncated":              build(model([]tbl{opcode(0, "")}, []uint32{0}, nil))[:30],
	} {
		t.Run(name, func(t *testing.T) {
			if got := analyze(t, data); got[finding.FormatMalformed] != 1 || len(got) != 1 {
				t.Errorf("findings %v", got)
			}
			_, err := tflite.Parse(data, int64(len(data)))
			var me *tflite.MalformedError
			if !errors.As(err, &me) {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestVtableOutside(t *testing.T) {
	data := build(model([]tbl{opcode(0, "")}, []uint32{0}, nil))
	root := binary.LittleEndian.Uint32(data)
	binary.LittleEndian.PutUint32(data[root:], 0x80000000) // vtable far past the end
	if _, err := tflite.Parse(data, int64(len(data))); err == nil {
		t.Error("no error")
	}
}

func TestSniffRejectsOtherFormats(t *testing.T) {
	for _, data := range [][]byte{[]byte("\x08\x01hello"), []byte("TFL3"), []byte("\x80\x04\x95xxxxxx")} {
		if (tflite.Analyzer{}).Sniff(analyzer.NewBytesInput("x.tflite", data)) {
			t.Errorf("sniffed %q", data)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(build(model([]tbl{opcode(0, ""), opcode(32, "MyCustomOp")}, []uint32{0, 1}, []tbl{{[]byte{1}}, {nil, u64(8), u64(4)}})))
	f.Add([]byte("\x08\x00\x00\x00TFL3\x04\x00\x04\x00\x04\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := tflite.Parse(data, int64(len(data)))
		if m == nil {
			t.Fatal("nil model")
		}
		var me *tflite.MalformedError
		if err != nil && !errors.As(err, &me) {
			t.Fatalf("error of type %T", err)
		}
	})
}
