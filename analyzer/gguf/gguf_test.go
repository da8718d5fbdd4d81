package gguf_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/gguf"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
)

// builder writes a GGUF file field by field, as llama.cpp's gguf writer
// lays it out.
type builder struct {
	b       bytes.Buffer
	order   binary.ByteOrder
	version uint32
}

func newBuilder(version uint32, order binary.ByteOrder) *builder {
	w := &builder{order: order, version: version}
	w.b.WriteString("GGUF")
	w.u32(version)
	return w
}

func (w *builder) u32(v uint32) { binary.Write(&w.b, w.order, v) }
func (w *builder) u64(v uint64) { binary.Write(&w.b, w.order, v) }
func (w *builder) count(v uint64) {
	if w.version == 1 {
		w.u32(uint32(v))
	} else {
		w.u64(v)
	}
}
func (w *builder) str(s string) { w.count(uint64(len(s))); w.b.WriteString(s) }

// kvString writes a string key/value.
func (w *builder) kvString(k, v string) { w.str(k); w.u32(8); w.str(v) }

// kvTokens writes an array of strings, as tokenizer.ggml.tokens is.
func (w *builder) kvTokens(k string, tokens ...string) {
	w.str(k)
	w.u32(9)
	w.u32(8)
	w.count(uint64(len(tokens)))
	for _, t := range tokens {
		w.str(t)
	}
}

// tensor writes a tensor info.
func (w *builder) tensor(name string, typ uint32, offset uint64, dims ...uint64) {
	w.str(name)
	w.u32(uint32(len(dims)))
	for _, d := range dims {
		w.count(d)
	}
	w.u32(typ)
	w.u64(offset)
}

// align pads to 32 bytes and appends data.
func (w *builder) data(data []byte) []byte {
	for w.b.Len()%32 != 0 {
		w.b.WriteByte(0)
	}
	return append(w.b.Bytes(), data...)
}

const chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"

// model writes a small valid model: two F32 tensors and a Q8_0 one.
func model(version uint32, order binary.ByteOrder) []byte {
	w := newBuilder(version, order)
	w.count(3) // tensors
	w.count(3) // key/values
	w.kvString("general.architecture", "llama")
	w.kvTokens("tokenizer.ggml.tokens", "<s>", "</s>", "hello")
	w.kvString("tokenizer.chat_template", chatml)
	w.tensor("a", 0, 0, 4, 2) // 32 bytes
	w.tensor("b", 0, 32, 8)   // 32 bytes
	w.tensor("q", 8, 64, 32)  // one Q8_0 block: 34 bytes
	return w.data(make([]byte, 64+34))
}

func scanFile(t *testing.T, data []byte) *report.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
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

func TestValidModels(t *testing.T) {
	for name, data := range map[string][]byte{
		"v3": model(3, binary.LittleEndian), "v2": model(2, binary.LittleEndian),
		"v1": model(1, binary.LittleEndian), "big-endian v3": model(3, binary.BigEndian),
	} {
		h, err := gguf.ParseHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Architecture != "llama" || h.ChatTemplates["tokenizer.chat_template"] != chatml || h.TensorCount != 3 {
			t.Errorf("%s: %+v", name, h)
		}
		r := scanFile(t, data)
		if fs := r.AllFindings(); len(fs) != 0 || r.Files[0].Formats[0] != "gguf" {
			t.Errorf("%s: findings %v formats %v", name, fs, r.Files[0].Formats)
		}
	}
}

func TestLayoutProblems(t *testing.T) {
	cases := []struct {
		name string
		add  func(w *builder)
		n    uint64
		data int
		want string
	}{
		{"misaligned", func(w *builder) { w.tensor("a", 0, 4, 8) }, 1, 36, "not aligned"},
		{"overlap", func(w *builder) { w.tensor("a", 0, 0, 16); w.tensor("b", 0, 32, 8) }, 2, 64, "overlaps"},
		{"partial block", func(w *builder) { w.tensor("a", 8, 0, 31) }, 1, 64, "whole number of blocks"},
		{"gap", func(w *builder) { w.tensor("a", 0, 0, 8); w.tensor("b", 0, 96, 8) }, 2, 128, "belong to no tensor"},
		{"trailing", func(w *builder) { w.tensor("a", 0, 0, 8) }, 1, 200, "after the last tensor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBuilder(3, binary.LittleEndian)
			w.count(tc.n)
			w.count(0)
			tc.add(w)
			r := scanFile(t, w.data(make([]byte, tc.data)))
			ok := false
			for _, f := range r.AllFindings() {
				ok = ok || f.Rule == finding.GGUFLayout && strings.Contains(f.Message, tc.want)
				if f.Severity >= finding.High {
					t.Errorf("a benign oddity is %s: %s %s", f.Severity, f.Rule, f.Message)
				}
			}
			if !ok {
				t.Errorf("want %q; got %v", tc.name, r.AllFindings())
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	deep := newBuilder(3, binary.LittleEndian)
	deep.count(0)
	deep.count(1)
	deep.str("k")
	deep.u32(9)
	for range 20 {
		deep.u32(9)
		deep.u64(1)
	}
	badType := newBuilder(3, binary.LittleEndian)
	badType.count(0)
	badType.count(1)
	badType.str("k")
	badType.u32(77)
	long := newBuilder(3, binary.LittleEndian)
	long.count(0)
	long.count(1)
	long.str("k")
	long.u32(8)
	long.str(strings.Repeat("x", 64<<20+1)) // within the file, longer than Violet reads
	for name, data := range map[string][]byte{
		"truncated":    model(3, binary.LittleEndian)[:40],
		"long string":  long.data(nil),
		"deep arrays":  deep.data(nil),
		"unknown type": badType.data(nil),
	} {
		r := scanFile(t, data)
		fs := r.AllFindings()
		if len(fs) != 1 || fs[0].Rule != finding.FormatMalformed || r.ExitCode(finding.High) != report.ExitIncomplete {
			t.Errorf("%s: %v", name, fs)
		}
	}
}

// TestChatTemplateInjection: the template of a GGUF file is checked
// (CVE-2024-34359).
func TestChatTemplateInjection(t *testing.T) {
	w := newBuilder(3, binary.LittleEndian)
	w.count(0)
	w.count(1)
	w.kvString("tokenizer.chat_template", "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}")
	r := scanFile(t, w.data(nil))
	found := false
	for _, f := range r.AllFindings() {
		found = found || f.Rule == finding.TemplateInjection
	}
	if !found || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("template injection in GGUF: %v", r.AllFindings())
	}
}

// TestHiddenPayload: a pickle after the last tensor is scanned.
func TestHiddenPayload(t *testing.T) {
	w := newBuilder(3, binary.LittleEndian)
	w.count(1)
	w.count(0)
	w.tensor("a", 0, 0, 8)
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	r := scanFile(t, w.data(append(make([]byte, 32), payload...)))
	found := false
	for _, f := range r.AllFindings() {
		found = found || f.Rule == finding.PickleProcess
	}
	if !found || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("payload after the tensors: %v", r.AllFindings())
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(model(3, binary.LittleEndian))
	f.Add(model(1, binary.LittleEndian))
	f.Add(model(3, binary.BigEndian))
	for _, tc := range triggers {
		f.Add(tc.file())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := gguf.ParseHeader(bytes.NewReader(data), int64(len(data)))
		var hz *gguf.HazardError
		if errors.As(err, &hz) {
			checkHazard(t, hz.Hazard)
		}
		if err != nil {
			return
		}
		f, _ := h.Check(uint64(len(data)))
		if len(f.Hazards) > 20 || len(f.Problems) > 20 {
			t.Fatalf("%d hazards and %d problems kept, more than maxProblems", len(f.Hazards), len(f.Problems))
		}
		for _, hz := range f.Hazards {
			checkHazard(t, hz)
		}
	})
}

// checkHazard checks that a hazard's message names a loader and a source.
func checkHazard(t *testing.T, h gguf.Hazard) {
	t.Helper()
	if m := h.Message(); !strings.Contains(m, "https://") || !strings.Contains(m, " in ") {
		t.Fatalf("hazard %s without its advisory: %s", h.Class, m)
	}
}

// TestGeneralMetadata: the general.* keys are kept as text, scalars and
// arrays of strings, for the bill of materials.
func TestGeneralMetadata(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bom", "gguf-only", "Tiny-Llama-1M-Instruct-Q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := gguf.ParseHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"general.name": "Tiny Llama Instruct", "general.license": "apache-2.0",
		"general.base_model.count": "1", "general.organization": "violet-test"} {
		if got := h.General[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if len(h.General["general.tags"]) == 0 || len(h.General["general.datasets"]) == 0 {
		t.Errorf("arrays: %v", h.General)
	}
}

// trigger is a crafted file that corrupts the memory of a GGUF loader.
type trigger struct {
	name  string
	file  func() []byte
	class gguf.Class
	want  string // the advisory the message must name
}

// header starts a version 3 little-endian file with its counts.
func header(nTensors, nKV uint64) *builder {
	w := newBuilder(3, binary.LittleEndian)
	w.count(nTensors)
	w.count(nKV)
	return w
}

// oneTensor is a file with one tensor info and data bytes of data.
func oneTensor(typ uint32, offset uint64, data int, dims ...uint64) func() []byte {
	return func() []byte {
		w := header(1, 0)
		w.tensor("t", typ, offset, dims...)
		return w.data(make([]byte, data))
	}
}

// triggers are the byte-for-byte crafted headers of the memory-safety
// classes, each with the advisory its finding must name.
var triggers = []trigger{
	{"element count times type size wraps", oneTensor(0, 0, 32, 1<<62+1), gguf.ClassTensorSize, "GHSA-96jg-mvhq-q7q7"},
	{"dims product wraps", oneTensor(0, 0, 32, 1<<32, 1<<32), gguf.ClassTensorSize, "GHSA-96jg-mvhq-q7q7"},
	{"dimension negative as int64", oneTensor(0, 0, 32, 1<<63), gguf.ClassTensorSize, "ggml_nbytes"},
	{"Q4_0 elements times block size wrap", oneTensor(2, 0, 32, 5124095576030431008), gguf.ClassTensorSize, "GHSA-96jg-mvhq-q7q7"}, // llama.cpp PR 27200
	{"offset past EOF", oneTensor(0, 1<<20, 32, 8), gguf.ClassPastEOF, "CVE-2026-7482"},
	{"size past EOF", oneTensor(0, 0, 32, 64), gguf.ClassPastEOF, "Ollama"},
	{"offset plus data start wraps", oneTensor(0, math.MaxUint64-15, 32, 8), gguf.ClassPastEOF, "wraps past 2^64"},
	{"offset plus size wraps", oneTensor(0, math.MaxUint64-(1<<61), 32, 1<<60), gguf.ClassPastEOF, "wraps past 2^64"},
	{"total size wraps", func() []byte {
		w := header(4, 0)
		for i, name := range []string{"a", "b", "c", "d"} {
			w.tensor(name, 0, uint64(i)<<62, 1<<60) // 2^62 bytes each
		}
		return w.data(nil)
	}, gguf.ClassTotalSize, "GHSA-vgg9-87g3-85w8"},
	{"duplicate tensor names", func() []byte {
		w := header(2, 0)
		w.tensor("a", 0, 0, 8)
		w.tensor("a", 0, 32, 8)
		return w.data(make([]byte, 64))
	}, gguf.ClassDuplicateName, "gguf_init_from_file"},
	{"n_dims above GGML_MAX_DIMS", func() []byte {
		w := header(1, 0)
		w.tensor("t", 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
		return w.data(make([]byte, 32))
	}, gguf.ClassDims, "GGML_MAX_DIMS"},
	{"tensor type out of range", oneTensor(0xffffffff, 0, 32, 8), gguf.ClassTensorType, "19856"},
	{"KV string length past EOF", func() []byte {
		w := header(0, 1)
		w.str("general.name")
		w.u32(8)
		w.u64(1 << 40)
		return w.data(nil)
	}, gguf.ClassStringLength, "CVE-2024-25665"},
	{"KV string length plus one wraps", func() []byte {
		w := header(0, 1)
		w.str("k")
		w.u32(8)
		w.u64(math.MaxUint64)
		return w.data(nil)
	}, gguf.ClassStringLength, "gguf_fread_str"},
	{"key length past EOF, version 1", func() []byte {
		w := newBuilder(1, binary.LittleEndian)
		w.count(0)
		w.count(1)
		w.u32(0xfffffff0)
		return w.data(nil)
	}, gguf.ClassStringLength, "CVE-2024-25665"},
	{"tensor name length past EOF, big-endian", func() []byte {
		w := newBuilder(3, binary.BigEndian)
		w.count(1)
		w.count(0)
		w.u64(1 << 50)
		return w.data(make([]byte, 32))
	}, gguf.ClassStringLength, "CVE-2024-25665"},
	{"array count times size wraps", func() []byte {
		w := header(0, 1)
		w.str("k")
		w.u32(9)
		w.u32(10)        // uint64
		w.u64(1<<61 + 1) // times 8 wraps to 8
		return w.data(make([]byte, 64))
	}, gguf.ClassArrayCount, "CVE-2024-25667"},
	{"general array count past EOF", func() []byte {
		w := header(0, 1)
		w.str("general.tags")
		w.u32(9)
		w.u32(0) // uint8
		w.u64(1 << 40)
		return w.data(nil)
	}, gguf.ClassArrayCount, "CVE-2024-25667"},
	{"string array count", func() []byte {
		w := header(0, 1)
		w.str("tokenizer.ggml.tokens")
		w.u32(9)
		w.u32(8)
		w.u64(1 << 62) // times sizeof(struct gguf_str) wraps
		return w.data(nil)
	}, gguf.ClassStringArrayCount, "CVE-2024-25668"},
	{"array element type out of range", func() []byte {
		w := header(0, 1)
		w.str("k")
		w.u32(9)
		w.u32(0x1000)
		w.u64(4)
		return w.data(make([]byte, 64))
	}, gguf.ClassArrayType, "GGUF_TYPE_SIZE"},
	{"KV count", func() []byte { return header(0, 0x055555555555555a).data(make([]byte, 64)) }, gguf.ClassKVCount, "CVE-2024-25664"},
	{"tensor count", func() []byte { return header(math.MaxUint64, 0).data(make([]byte, 16)) }, gguf.ClassTensorCount, "CVE-2024-25666"},
}

// TestMemorySafety: every trigger yields GGUF-MEMORY-SAFETY, high, whose
// message names the loader, the advisory and its source, and the scan
// fails.
func TestMemorySafety(t *testing.T) {
	for _, tc := range triggers {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.file()
			r := scanFile(t, data)
			a := advisoryOf(t, tc.class)
			found := false
			for _, f := range r.AllFindings() {
				if f.Rule != finding.GGUFMemorySafety {
					continue
				}
				if f.Severity != finding.High {
					t.Errorf("severity %s", f.Severity)
				}
				found = found || strings.Contains(f.Message, tc.want) && strings.Contains(f.Message, a.ID) &&
					strings.Contains(f.Message, a.Loader) && strings.Contains(f.Message, a.URL)
			}
			if !found {
				t.Errorf("want %s naming %q; got %v", finding.GGUFMemorySafety, tc.want, r.AllFindings())
			}
			if code := r.ExitCode(finding.High); code != report.ExitFindings {
				t.Errorf("exit %d", code)
			}
		})
	}
}

func advisoryOf(t *testing.T, c gguf.Class) gguf.Advisory {
	t.Helper()
	for _, a := range gguf.Advisories {
		if a.Class == c {
			return a
		}
	}
	t.Fatalf("no advisory for %s", c)
	return gguf.Advisory{}
}

// TestAdvisories: one entry per class, each with a loader, an id or a
// "class of" description, a summary and an https source.
func TestAdvisories(t *testing.T) {
	seen := map[gguf.Class]bool{}
	for _, a := range gguf.Advisories {
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

// TestBenignFiles: the real GGUF files of the repository (those of
// current releases in testdata/corpus/modern included) have no finding at or above high.
func TestBenignFiles(t *testing.T) {
	var paths []string
	for _, root := range []string{filepath.Join("..", "..", "testdata")} { // testdata/corpus/modern included
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".gguf") && !strings.Contains(path, "malicious") && !strings.Contains(filepath.ToSlash(path), "testdata/threats/") {
				paths = append(paths, path)
			}
			return nil
		})
	}
	if len(paths) == 0 {
		t.Skip("no GGUF files")
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range scanFile(t, data).AllFindings() {
				if f.Severity >= finding.High || f.Rule == finding.GGUFMemorySafety {
					t.Errorf("%s %s: %s", f.Severity, f.Rule, f.Message)
				}
			}
		})
	}
}
