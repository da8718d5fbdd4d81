package gguf_test

import (
	"bytes"
	"context"
	"encoding/binary"
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
		if h.Architecture != "llama" || h.ChatTemplates["tokenizer.chat_template"] != chatml || len(h.Tensors) != 3 {
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
		{"past the end", func(w *builder) { w.tensor("a", 0, 0, 64) }, 1, 32, "past the end"},
		{"partial block", func(w *builder) { w.tensor("a", 8, 0, 31) }, 1, 64, "whole number of blocks"},
		{"duplicate", func(w *builder) { w.tensor("a", 0, 0, 8); w.tensor("a", 0, 32, 8) }, 2, 64, "appears twice"},
		{"gap", func(w *builder) { w.tensor("a", 0, 0, 8); w.tensor("b", 0, 96, 8) }, 2, 128, "belong to no tensor"},
		{"trailing", func(w *builder) { w.tensor("a", 0, 0, 8) }, 1, 200, "after the last tensor"},
	}
	for _, tc := range cases {
		w := newBuilder(3, binary.LittleEndian)
		w.count(tc.n)
		w.count(0)
		tc.add(w)
		r := scanFile(t, w.data(make([]byte, tc.data)))
		ok := false
		for _, f := range r.AllFindings() {
			ok = ok || f.Rule == finding.GGUFLayout && strings.Contains(f.Message, tc.want)
		}
		if !ok {
			t.Errorf("%s: want %q; got %v", tc.name, tc.want, r.AllFindings())
		}
	}
}

func TestMalformed(t *testing.T) {
	huge := newBuilder(3, binary.LittleEndian)
	huge.count(0)
	huge.count(1)
	huge.str("k")
	huge.u32(8)
	huge.u64(1 << 40) // a string of a terabyte
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
	for name, data := range map[string][]byte{
		"truncated":    model(3, binary.LittleEndian)[:40],
		"huge string":  huge.data(nil),
		"deep arrays":  deep.data(nil),
		"unknown type": badType.data(nil),
		"many tensors": append([]byte("GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"), make([]byte, 16)...),
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
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := gguf.ParseHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		_, unclaimed := h.Check(uint64(len(data)))
		_ = unclaimed
	})
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
