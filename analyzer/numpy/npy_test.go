package numpy

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

// npyPayload is posix.system('id') pickled at protocol 2, assembled by hand.
const npyPayload = "\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

// npyFile builds a .npy file of format version major with the header dict
// header (padded with spaces and a newline to a multiple of 64 bytes, as
// NumPy writes it) followed by data.
func npyFile(major byte, header string, data []byte) []byte {
	pre := 10
	if major >= 2 {
		pre = 12
	}
	h := header
	for (pre+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY"), major, 0)
	if major >= 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	}
	b = append(b, h...)
	return append(b, data...)
}

// npyOutput records what the analyzer reports.
type npyOutput struct {
	findings []finding.Finding
	formats  []string
}

func (o *npyOutput) Report(f finding.Finding) { o.findings = append(o.findings, f) }

func (o *npyOutput) Member(context.Context, analyzer.Member) error { return nil }

func (o *npyOutput) Format(name string) { o.formats = append(o.formats, name) }

func (o *npyOutput) rules() []string {
	var out []string
	for _, f := range o.findings {
		out = append(out, f.Rule)
	}
	return out
}

func (o *npyOutput) has(rule string) bool {
	for _, f := range o.findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// npyAnalyze runs the analyzer on data, as the engine would on a file.
func npyAnalyze(t *testing.T, name string, data []byte) *npyOutput {
	t.Helper()
	a := New(pickle.New(pickle.DefaultPolicy()))
	in := analyzer.NewBytesInput(name, data)
	if !a.Sniff(in) {
		t.Fatalf("%s: not sniffed as .npy", name)
	}
	out := &npyOutput{}
	if err := a.Analyze(context.Background(), in, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    []byte
		descr   any
		fortran bool
		shape   []int64
		object  bool
	}{
		{"v1", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", nil), "<f8", false, []int64{3, 4}, false},
		{"v2", npyFile(2, "{'descr': '<i4', 'fortran_order': False, 'shape': (7,), }", nil), "<i4", false, []int64{7}, false},
		{"v3 (utf-8 field names)", npyFile(3, "{'descr': [('é', '<f4')], 'fortran_order': False, 'shape': (2,), }", nil),
			[]any{[]any{"é", "<f4"}}, false, []int64{2}, false},
		{"fortran order", npyFile(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", nil), "<f8", true, []int64{3, 2}, false},
		{"scalar", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", nil), "<f8", false, nil, false},
		{"double quotes and Python 2 longs", npyFile(1, `{"descr": "<u2", "fortran_order": False, "shape": (2L, 3L)}`, nil), "<u2", false, []int64{2, 3}, false},
		{"structured", npyFile(1, "{'descr': [('id', '<i4'), ('score', '<f8'), ('tag', '|S2')], 'fortran_order': False, 'shape': (2,), }", nil),
			[]any{[]any{"id", "<i4"}, []any{"score", "<f8"}, []any{"tag", "|S2"}}, false, []int64{2}, false},
		{"object", npyFile(1, "{'descr': '|O', 'fortran_order': False, 'shape': (4,), }", nil), "|O", false, []int64{4}, true},
		{"object with a size", npyFile(1, "{'descr': '|O8', 'fortran_order': False, 'shape': (4,), }", nil), "|O8", false, []int64{4}, true},
		{"structured with an object field", npyFile(1, "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }", nil),
			[]any{[]any{"a", "<i4"}, []any{"b", "|O"}}, false, []int64{1}, true},
		{"nested structured with an object subarray", npyFile(1, "{'descr': [('a', [('b', '|O', (2,))])], 'fortran_order': False, 'shape': (1,), }", nil),
			[]any{[]any{"a", []any{[]any{"b", "|O", []any{int64(2)}}}}}, false, []int64{1}, true},
		{"object spelled out", npyFile(1, "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }", nil), "object", false, []int64{1}, true},
		{"object in a comma-separated dtype", npyFile(1, "{'descr': '<i4,O', 'fortran_order': False, 'shape': (1,), }", nil), "<i4,O", false, []int64{1}, true},
		{"object subarray string", npyFile(1, "{'descr': '(2,3)O', 'fortran_order': False, 'shape': (1,), }", nil), "(2,3)O", false, []int64{1}, true},
		{"field named like a type", npyFile(1, "{'descr': [('object_id', '<i8')], 'fortran_order': False, 'shape': (1,), }", nil),
			[]any{[]any{"object_id", "<i8"}}, false, []int64{1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h.Descr, tc.descr) || h.Fortran != tc.fortran || !reflect.DeepEqual(h.Shape, tc.shape) {
				t.Errorf("got descr %#v fortran %v shape %v", h.Descr, h.Fortran, h.Shape)
			}
			if h.DataOffset != int64(len(tc.file)) || h.DataOffset%64 != 0 {
				t.Errorf("data offset %d, file of %d bytes", h.DataOffset, len(tc.file))
			}
			if h.HasObject() != tc.object {
				t.Errorf("HasObject() = %v", h.HasObject())
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	v2Huge := npyFile(2, "{}", nil)
	binary.LittleEndian.PutUint32(v2Huge[8:], maxHeader+1)
	v1Long := npyFile(1, "{}", nil)
	binary.LittleEndian.PutUint16(v1Long[8:], 500)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"no magic", []byte("\x93NUMPX\x01\x00\x10\x00{}"), "not a .npy file"},
		{"shorter than the preamble", []byte("\x93NUMPY\x01\x00"), "not a .npy file"},
		{"v2 preamble cut", []byte("\x93NUMPY\x02\x00\x10\x00"), "truncated header"},
		{"v2 header over the bound", v2Huge, "is larger than"},
		{"version 4", append([]byte("\x93NUMPY\x04\x00"), npyFile(1, "{}", nil)[8:]...), "unknown format version 4.0"},
		{"header past the data", v1Long, "runs past the data read"},
		{"not a literal", npyFile(1, "{'descr': <f8}", nil), "not a Python literal"},
		{"unterminated string", npyFile(1, "{'descr", nil), "unterminated string"},
		{"key not a string", npyFile(1, "{1: '<f8'}", nil), "dict key is not a string"},
		{"missing colon", npyFile(1, "{'descr' '<f8'}", nil), "expected a colon after a dict key"},
		{"missing comma", npyFile(1, "{'descr': '<f8' 'shape': ()}", nil), "expected a comma or a closing brace"},
		{"unclosed tuple", npyFile(1, "{'shape': (1 2)}", nil), "expected a comma or ')'"},
		{"unexpected end", npyFile(1, "{'descr': ", nil), "unexpected end"},
		{"integer overflow", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", nil), "out of range"},
		{"trailing bytes", npyFile(1, "{} x", nil), "after the value"},
		{"nested too deep", npyFile(1, strings.Repeat("[", 40)+strings.Repeat("]", 40), nil), "nested too deep"},
		{"not a dict", npyFile(1, "['descr', '<f8']", nil), "header is not a dict"},
		{"missing key", npyFile(1, "{'descr': '<f8', 'shape': (1,)}", nil), "exactly the keys"},
		{"extra key", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", nil), "exactly the keys"},
		{"fortran_order not a bool", npyFile(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}", nil), "exactly the keys"},
		{"shape not a tuple", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': 3}", nil), "exactly the keys"},
		{"negative dimension", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}", nil), "not a dimension"},
		{"dimension not an integer", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': ('a',)}", nil), "not a dimension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(tc.file)
			if err == nil {
				t.Fatalf("parsed: %+v", h)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestDataSize(t *testing.T) {
	for _, tc := range []struct {
		descr any
		shape []int64
		size  int64
		ok    bool
	}{
		{"<f8", []int64{3, 4}, 96, true},
		{"|b1", []int64{5}, 5, true},
		{"<U3", []int64{2}, 24, true},
		{"<M8[ns]", []int64{2}, 16, true},
		{"f4", nil, 4, true},
		{"<f8", []int64{0, 1 << 40}, 0, true},
		{"<f8", []int64{1 << 40, 1 << 40}, 0, false},
		{"<f8", []int64{1 << 62}, 0, false},
		{"|O", []int64{1}, 0, false},
		{[]any{[]any{"a", "<i4"}}, []int64{1}, 0, false},
	} {
		h := &Header{Descr: tc.descr, Shape: tc.shape}
		if size, ok := h.DataSize(); size != tc.size || ok != tc.ok {
			t.Errorf("%v %v: DataSize() = %d, %v; want %d, %v", tc.descr, tc.shape, size, ok, tc.size, tc.ok)
		}
	}
}

// npyFixture reads a committed fixture of testdata/models.
func npyFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFixtures runs the analyzer on the .npy files NumPy wrote
// (testdata/gen/gen_arrays.py): object arrays send their pickle to the
// pickle analyzer, numeric ones raise nothing.
func TestFixtures(t *testing.T) {
	for _, name := range []string{"float32.npy", "float64_fortran.npy", "int64.npy", "structured.npy"} {
		out := npyAnalyze(t, name, npyFixture(t, "benign/numpy/"+name))
		if len(out.findings) != 0 || !reflect.DeepEqual(out.formats, []string{"numpy"}) {
			t.Errorf("%s: findings %v, formats %v", name, out.rules(), out.formats)
		}
	}

	benign := npyFixture(t, "benign/numpy/object.npy")
	out := npyAnalyze(t, "object.npy", benign)
	if !out.has(finding.NumpyObjectArray) || !reflect.DeepEqual(out.formats, []string{"numpy", "pickle"}) {
		t.Errorf("object.npy: findings %v, formats %v", out.rules(), out.formats)
	}
	for _, f := range out.findings {
		if f.Severity > finding.Low {
			t.Errorf("object.npy: %s %s at %d: %s", f.Severity, f.Rule, f.Location.Offset, f.Evidence)
		}
	}

	bad := npyFixture(t, "malicious/numpy/object_payload.npy")
	h, err := ParseHeader(bad)
	if err != nil {
		t.Fatal(err)
	}
	out = npyAnalyze(t, "object_payload.npy", bad)
	var payload *finding.Finding
	for i, f := range out.findings {
		if f.Severity == finding.Critical {
			payload = &out.findings[i]
		}
	}
	if !out.has(finding.NumpyObjectArray) || payload == nil {
		t.Fatalf("object_payload.npy: findings %v", out.rules())
	}
	if payload.Location.Offset < h.DataOffset || payload.Location.Offset >= int64(len(bad)) {
		t.Errorf("the payload is reported at offset %d, outside the pickle at %d..%d", payload.Location.Offset, h.DataOffset, len(bad))
	}
}

// TestObjectArrayPayload: every way of writing an object dtype sends the
// data to the pickle analyzer, at the offset where the data starts.
func TestObjectArrayPayload(t *testing.T) {
	for _, descr := range []string{"'|O'", "'O'", "'<O8'", "'object'", "'i4,O'", "[('x', '<f8'), ('y', '|O')]", "('|O', (2,))"} {
		data := npyFile(1, "{'descr': "+descr+", 'fortran_order': False, 'shape': (1,), }", []byte(npyPayload))
		out := npyAnalyze(t, "x.npy", data)
		found := false
		for _, f := range out.findings {
			if f.Rule == finding.PickleProcess && strings.HasPrefix(f.Evidence, "posix.system('id')") {
				found = true
				if f.Location.Offset < 64 {
					t.Errorf("descr %s: the call is reported at %d, inside the header", descr, f.Location.Offset)
				}
			}
		}
		if !found || !out.has(finding.NumpyObjectArray) {
			t.Errorf("descr %s: findings %v", descr, out.rules())
		}
	}
}

// TestLongHeader: NumPy writes version 1.0 headers of up to 65535 bytes
// (a structured dtype with many fields): a header longer than the head the
// engine reads is still parsed.
func TestLongHeader(t *testing.T) {
	var fields []string
	for i := range 200 {
		fields = append(fields, "('field_"+strings.Repeat("x", 4)+"_"+string(rune('a'+i%26))+string(rune('a'+i/26))+"', '<f4')")
	}
	header := "{'descr': [" + strings.Join(fields, ", ") + "], 'fortran_order': False, 'shape': (1,), }"
	for _, major := range []byte{1, 2} {
		data := npyFile(major, header, make([]byte, 4*200))
		if len(data) < analyzer.HeadSize+1000 || len(data) > 10000 {
			t.Fatalf("header of %d bytes is too short for the test", len(data))
		}
		if out := npyAnalyze(t, "wide.npy", data); len(out.findings) != 0 {
			t.Errorf("version %d: findings %v", major, out.findings)
		}
		obj := npyFile(major, strings.Replace(header, "'<f4')]", "'|O')]", 1), []byte(npyPayload))
		if out := npyAnalyze(t, "wide.npy", obj); !out.has(finding.PickleProcess) {
			t.Errorf("version %d with an object field: findings %v", major, out.rules())
		}
	}
}

// TestShortData: an array whose data is shorter than its shape says is
// malformed, which marks the file as not fully analyzed.
func TestShortData(t *testing.T) {
	full := npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", make([]byte, 96))
	if out := npyAnalyze(t, "full.npy", full); len(out.findings) != 0 {
		t.Errorf("complete array: findings %v", out.rules())
	}
	h, err := ParseHeader(full)
	if err != nil {
		t.Fatal(err)
	}
	out := npyAnalyze(t, "short.npy", full[:len(full)-1])
	if !out.has(finding.FormatMalformed) || len(out.findings) != 1 {
		t.Fatalf("findings %v", out.rules())
	}
	if f := out.findings[0]; !f.Incomplete || f.Location.Offset != h.DataOffset || !strings.Contains(f.Message, "96 bytes") {
		t.Errorf("finding %+v", f)
	}
	huge := npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", nil)
	if out := npyAnalyze(t, "huge.npy", huge); len(out.findings) != 0 && !out.has(finding.FormatMalformed) {
		t.Errorf("overflowing shape: findings %v", out.rules())
	}
}

// TestMalformedHeaderIsReported: a .npy file whose header does not parse
// is reported, not skipped.
func TestMalformedHeaderIsReported(t *testing.T) {
	out := npyAnalyze(t, "bad.npy", npyFile(1, "{'descr': '<f8'", nil))
	if !out.has(finding.FormatMalformed) || len(out.formats) == 0 || out.formats[0] != "numpy" {
		t.Errorf("findings %v, formats %v", out.rules(), out.formats)
	}
}
