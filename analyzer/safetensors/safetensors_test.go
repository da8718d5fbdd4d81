package safetensors_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/analyzer/safetensors"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
)

// file builds a safetensors file the way the reference writer does: the
// length, the JSON header padded with spaces to a multiple of 8, the data.
func file(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func scanFile(t *testing.T, name string, data []byte) *report.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := scan.Scan(context.Background(), []string{path},
		scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rules(r *report.Report) []string {
	var out []string
	for _, f := range r.AllFindings() {
		out = append(out, f.Rule)
	}
	return out
}

const good = `{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"a.bias":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},"q":{"dtype":"F4","shape":[4],"data_offsets":[28,30]}}`

func TestValidFilePasses(t *testing.T) {
	r := scanFile(t, "model.safetensors", file(good, make([]byte, 30)))
	if got := rules(r); len(got) != 0 || r.Files[0].Formats[0] != "safetensors" {
		t.Errorf("valid file: findings %v, formats %v", got, r.Files[0].Formats)
	}
}

func TestLayoutProblems(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		data         int
		want         string
	}{
		{"gap", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, 6, "belong to no tensor"},
		{"overlap", `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4, "overlaps"},
		{"offsets hold more", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, 8, "hold more than"},
		{"trailing bytes", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 10, "after the last tensor"},
		{"unknown dtype", `{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,2]}}`, 2, "unknown dtype"},
		{"metadata not strings", `{"__metadata__":{"n":1},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2, "not a string"},
		{"half a byte", `{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2, "whole number of bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := scanFile(t, "m.safetensors", file(tc.header, make([]byte, tc.data)))
			ok := false
			for _, f := range r.AllFindings() {
				ok = ok || f.Rule == finding.SafetensorsLayout && strings.Contains(f.Message, tc.want)
				if f.Severity >= finding.High {
					t.Errorf("a benign oddity is %s: %s %s", f.Severity, f.Rule, f.Message)
				}
			}
			if !ok {
				t.Errorf("want %q; got %v", tc.want, r.AllFindings())
			}
		})
	}
}

// rawFile is a file whose 8-byte header length is n, whatever the header.
func rawFile(n uint64, header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, n)
	return append(append(out, header...), data...)
}

// trigger is a crafted file that corrupts the memory of a lenient
// safetensors loader.
type trigger struct {
	name  string
	data  []byte
	class safetensors.Class
	want  string // what the message must say besides the advisory
}

const u8 = `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`

// triggers are the byte-for-byte crafted headers of the memory-safety
// classes.
var triggers = []trigger{
	{"header length absurd", rawFile(1<<62, u8, make([]byte, 2)), safetensors.ClassHeaderLength, "runs past the end"},
	{"header length wraps", rawFile(math.MaxUint64, u8, make([]byte, 2)), safetensors.ClassHeaderLength, "wraps past 2^64"},
	{"data_offsets end before start", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,2]}}`, make([]byte, 4)), safetensors.ClassReversedOffsets, "end before they begin"},
	{"offset past EOF", file(`{"a":{"dtype":"U8","shape":[16],"data_offsets":[1048576,1048592]}}`, make([]byte, 16)), safetensors.ClassPastEnd, "past the 16-byte data section"},
	{"size past EOF", file(`{"a":{"dtype":"U8","shape":[20],"data_offsets":[0,20]}}`, make([]byte, 4)), safetensors.ClassPastEnd, "past the 4-byte data section"},
	{"offset plus size wraps", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[18446744073709551613,18446744073709551615]}}`, make([]byte, 2)), safetensors.ClassPastEnd, "wraps past 2^64"},
	{"dims product wraps", file(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), safetensors.ClassShapeOverflow, "wraps past 2^64"},
	{"elements times dtype size wraps", file(`{"a":{"dtype":"F64","shape":[2305843009213693953],"data_offsets":[0,8]}}`, make([]byte, 8)), safetensors.ClassShapeOverflow, "wraps past 2^64"},
	{"shape needs more than offsets give", file(`{"a":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,4]}}`, make([]byte, 4)), safetensors.ClassShortOffsets, "needs 4000000 bytes"},
	{"unknown dtype with huge shape", file(`{"a":{"dtype":"Q7","shape":[1099511627776],"data_offsets":[0,2]}}`, make([]byte, 2)), safetensors.ClassUnknownDtype, "at any element width"},
	{"unknown dtype with wrapping shape", file(`{"a":{"dtype":"X","shape":[4294967296,4294967297],"data_offsets":[0,2]}}`, make([]byte, 2)), safetensors.ClassUnknownDtype, "at any element width"},
	{"negative dimension", file(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,2]}}`, make([]byte, 2)), safetensors.ClassNumber, "is negative"},
	{"negative offset", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[-16,2]}}`, make([]byte, 2)), safetensors.ClassNumber, "is negative"},
	{"offset past 2^64", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,18446744073709551617]}}`, make([]byte, 2)), safetensors.ClassNumber, "past 2^64"},
	{"duplicate names", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, make([]byte, 4)), safetensors.ClassDuplicateName, "appears twice"},
}

// TestMemorySafety: every trigger yields SAFETENSORS-MEMORY-SAFETY, high,
// whose message names the loader, the report and its source, and the scan
// fails.
func TestMemorySafety(t *testing.T) {
	for _, tc := range triggers {
		t.Run(tc.name, func(t *testing.T) {
			r := scanFile(t, "m.safetensors", tc.data)
			a := advisoryOf(t, tc.class)
			found := false
			for _, f := range r.AllFindings() {
				if f.Rule != finding.SafetensorsMemorySafety {
					continue
				}
				if f.Severity != finding.High {
					t.Errorf("severity %s", f.Severity)
				}
				found = found || strings.Contains(f.Message, tc.want) && strings.Contains(f.Message, a.ID) &&
					strings.Contains(f.Message, a.Loader) && strings.Contains(f.Message, a.URL)
			}
			if !found {
				t.Errorf("want %s (%s) saying %q; got %v", finding.SafetensorsMemorySafety, tc.class, tc.want, r.AllFindings())
			}
			if code := r.ExitCode(finding.High); code != report.ExitFindings {
				t.Errorf("exit %d", code)
			}
		})
	}
}

func advisoryOf(t *testing.T, c safetensors.Class) safetensors.Advisory {
	t.Helper()
	for _, a := range safetensors.Advisories {
		if a.Class == c {
			return a
		}
	}
	t.Fatalf("no advisory for %s", c)
	return safetensors.Advisory{}
}

// sparse is a file of size bytes that holds prefix and then zeros.
type sparse struct {
	prefix []byte
	size   int64
}

func (s sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for ; n < len(p) && off+int64(n) < s.size; n++ {
		p[n] = 0
		if i := off + int64(n); i < int64(len(s.prefix)) {
			p[n] = s.prefix[i]
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestHeaderAboveReferenceLimit: a header length within the file but above
// the 100 MB the reference implementation reads is a trigger, refused
// before anything is allocated.
func TestHeaderAboveReferenceLimit(t *testing.T) {
	f := sparse{rawFile(safetensors.MaxHeader+1, u8, nil), safetensors.MaxHeader + 64}
	_, err := safetensors.ParseHeader(f, f.size)
	var hz *safetensors.HazardError
	if !errors.As(err, &hz) || hz.Hazard.Class != safetensors.ClassHeaderLength ||
		!strings.Contains(hz.Hazard.Message(), "reference implementation reads") || !strings.Contains(hz.Hazard.Message(), "fastllm") {
		t.Errorf("got %v", err)
	}
}

// TestAdvisories: one entry per class, each with a loader, an id or a
// "class of" description, a summary and an https source.
func TestAdvisories(t *testing.T) {
	seen := map[safetensors.Class]bool{}
	for _, a := range safetensors.Advisories {
		t.Run(string(a.Class), func(t *testing.T) {
			if seen[a.Class] {
				t.Errorf("listed twice")
			}
			seen[a.Class] = true
			if a.Loader == "" || a.ID == "" || a.Summary == "" || !strings.HasPrefix(a.URL, "https://") {
				t.Errorf("incomplete: %+v", a)
			}
		})
	}
	for _, tc := range triggers {
		if !seen[tc.class] {
			t.Errorf("class %s has no advisory", tc.class)
		}
	}
}

// TestBenignFiles: the real safetensors files of the repository (those
// of current releases in testdata/corpus/modern included) have no finding at or above high.
func TestBenignFiles(t *testing.T) {
	var paths []string
	for _, root := range []string{filepath.Join("..", "..", "testdata")} { // testdata/corpus/modern included
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".safetensors") && !strings.Contains(path, "malicious") && !strings.Contains(filepath.ToSlash(path), "testdata/threats/") {
				paths = append(paths, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(paths) == 0 {
		t.Skip("no safetensors files")
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range scanFile(t, filepath.Base(path), data).AllFindings() {
				if f.Severity >= finding.High || f.Rule == finding.SafetensorsMemorySafety {
					t.Errorf("%s %s: %s", f.Severity, f.Rule, f.Message)
				}
			}
		})
	}
}

func TestMalformedHeaders(t *testing.T) {
	for name, data := range map[string][]byte{
		"not json":     file(`{"a":`, nil),
		"not utf-8":    file("{\"a\xff\":1}", nil),
		"tensor shape": file(`{"a":{"dtype":"U8","shape":"x","data_offsets":[0,2]}}`, make([]byte, 2)),
		"extra field":  file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}}`, make([]byte, 2)),
		"data after":   file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}} {}`, make([]byte, 2)),
	} {
		r := scanFile(t, "m.safetensors", data)
		if got := rules(r); len(got) != 1 || got[0] != finding.FormatMalformed {
			t.Errorf("%s: got %v", name, r.AllFindings())
		} else if r.ExitCode(finding.High) != report.ExitIncomplete {
			t.Errorf("%s: exit %d", name, r.ExitCode(finding.High))
		}
	}
}

// TestHiddenPayloads: a pickle in a gap or after the last tensor is scanned.
func TestHiddenPayloads(t *testing.T) {
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	n := len(payload)
	gap := `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[` +
		itoa(2+n) + `,` + itoa(4+n) + `]}}`
	for name, data := range map[string][]byte{
		"gap":      file(gap, append(append([]byte{1, 2}, payload...), 3, 4)),
		"trailing": file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, append([]byte{1, 2}, payload...)),
	} {
		r := scanFile(t, "m.safetensors", data)
		found := false
		for _, f := range r.AllFindings() {
			found = found || f.Rule == finding.PickleProcess && len(f.Location.Member) == 1
		}
		if !found || r.ExitCode(finding.High) != report.ExitFindings {
			t.Errorf("%s: %v", name, r.AllFindings())
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestSniff: only a plausible length followed by a JSON object.
func TestSniff(t *testing.T) {
	a := safetensors.Analyzer{}
	for name, tc := range map[string]struct {
		data []byte
		want bool
	}{
		"valid":                       {file(good, make([]byte, 30)), true},
		"pickle":                      {tu.NewPickle(4).EmptyDict().Stop().Bytes(), false},
		"huge length":                 {append(binary.LittleEndian.AppendUint64(nil, 1<<40), "{}"...), false},
		"huge length before a tensor": {rawFile(1<<40, u8, nil), true},
		"length past the file":        {rawFile(64, u8, nil), true},
		"not an object":               {file(`[1]`, nil), false},
	} {
		if got := a.Sniff(analyzer.NewBytesInput("x", tc.data)); got != tc.want {
			t.Errorf("%s: Sniff = %v", name, got)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(file(good, make([]byte, 30)))
	f.Add(file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,2]}}`, make([]byte, 2)))
	f.Add(file(`{"__metadata__":{"a":"b"}}`, nil))
	for _, tc := range triggers {
		if len(tc.data) < 1<<20 {
			f.Add(tc.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := safetensors.ParseHeader(bytes.NewReader(data), int64(len(data)))
		var hz *safetensors.HazardError
		if errors.As(err, &hz) {
			checkHazard(t, hz.Hazard)
		}
		if err != nil {
			return
		}
		if h.Size+8 > uint64(len(data)) {
			t.Fatalf("header of %d bytes in a %d-byte input", h.Size, len(data))
		}
		hazards, _, _ := h.Check(8+h.Size, uint64(len(data))-8-h.Size)
		for _, hz := range hazards {
			checkHazard(t, hz)
		}
	})
}

// checkHazard checks that a hazard's message names a loader and a source.
func checkHazard(t *testing.T, h safetensors.Hazard) {
	t.Helper()
	if m := h.Message(); !strings.Contains(m, "https://") || !strings.Contains(m, " in ") {
		t.Fatalf("hazard %s without its advisory: %s", h.Class, m)
	}
}

// TestMetadataTargets checks that the configurations __metadata__ carries
// (a JSON value, a YAML value, a `_target_` key of the map itself) are
// judged as configs, and that ordinary metadata is left alone.
func TestMetadataTargets(t *testing.T) {
	file := func(md map[string]string) []byte {
		h, _ := json.Marshal(map[string]any{"__metadata__": md})
		return append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...)
	}
	cases := []struct {
		name string
		md   map[string]string
		want bool
	}{
		{"json value", map[string]string{"format": "pt", "cfg": `{"model": {"_target_": "os.system"}}`}, true},
		{"yaml value", map[string]string{"cfg": "model:\n  _target_: subprocess.Popen\n"}, true},
		{"key", map[string]string{"_target_": "builtins.eval"}, true},
		{"allowed class", map[string]string{"cfg": `{"_target_": "torch.nn.Linear"}`}, false},
		{"plain", map[string]string{"format": "pt"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := false
			for _, f := range scanFile(t, "model.safetensors", file(c.md)).AllFindings() {
				got = got || f.Rule == finding.ConfigTargetDangerous
			}
			if got != c.want {
				t.Errorf("CONFIG-TARGET-DANGEROUS %v, want %v", got, c.want)
			}
		})
	}
}
