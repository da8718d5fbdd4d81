package gguf_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/gguf"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
)

// manyTensors is how many tensor infos the files of TestManyTensorsMemory
// declare, and hold.
const manyTensors = 1_000_000

// manyTensorFile writes a file of manyTensors tensor infos, each named
// by name(i), at offset(i) in the data section, of one F32 element when
// sized (else of none), followed by data bytes of data.
func manyTensorFile(name func(i int) string, offset func(i int) uint64, sized bool, data int) []byte {
	w := header(manyTensors, 0)
	w.b.Grow(manyTensors * 40)
	dim := uint64(0)
	if sized {
		dim = 1
	}
	for i := range manyTensors {
		w.tensor(name(i), 0, offset(i), dim)
	}
	return w.data(make([]byte, data))
}

// TestManyTensorsMemory: a GGUF file that declares (and holds) a million
// tensor infos is analyzed in memory proportional to the parser's limits,
// not to the tensors it declares: the tensor infos are streamed, and only
// their layout is kept. Before, such a file took 425 MB. Each kind of
// problem is reported at most maxProblems times, then counted.
func TestManyTensorsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds files of a million tensor infos")
	}
	unique := func(i int) string { return fmt.Sprintf("blk.%d.weight", i) }
	cases := []struct {
		name   string
		file   func() []byte
		rule   string
		want   string
		maxMiB uint64
	}{
		// Empty tensors, all at the start of an empty data section: a valid
		// layout, nothing to report.
		{"valid", func() []byte {
			return manyTensorFile(unique, func(int) uint64 { return 0 }, false, 0)
		}, "", "", 64},
		// Each misaligned: a million layout problems.
		{"misaligned", func() []byte {
			return manyTensorFile(unique, func(int) uint64 { return 1 }, false, 32)
		}, finding.GGUFLayout, "not aligned", 64},
		// All with the same name: a million duplicates.
		{"duplicates", func() []byte {
			return manyTensorFile(func(int) string { return "w" }, func(int) uint64 { return 0 }, false, 0)
		}, finding.GGUFMemorySafety, "appears twice", 64},
		// Each past the end of the file.
		{"past EOF", func() []byte {
			return manyTensorFile(unique, func(i int) uint64 { return uint64(i+1) << 10 }, true, 0)
		}, finding.GGUFMemorySafety, "ends at byte", 64},
		// Each claiming four bytes, 64 apart: a million gaps, each an
		// unclaimed range handed to the engine (which stops at its limit
		// of members).
		{"gaps", func() []byte {
			return manyTensorFile(unique, func(i int) uint64 { return uint64(i) * 64 }, true, 64*manyTensors)
		}, finding.GGUFLayout, "belong to no tensor", 96},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.file()
			out := &memberLimit{max: analyzer.DefaultLimits().MaxMembers}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := gguf.Analyzer{}.Analyze(context.Background(), analyzer.NewBytesInput("many.gguf", data), out)
			runtime.ReadMemStats(&after)
			if err != nil && !errors.Is(err, analyzer.ErrStopped) {
				t.Fatal(err)
			}
			alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
			t.Logf("%d findings, %d MiB allocated", len(out.Findings), alloc)
			if alloc > c.maxMiB {
				t.Errorf("analyzing %d tensor infos allocated %d MiB, more than %d", manyTensors, alloc, c.maxMiB)
			}
			var rules []string
			matched, counted := false, false
			for _, f := range out.Findings {
				rules = append(rules, f.Rule)
				matched = matched || f.Rule == c.rule && strings.Contains(f.Message, c.want)
				var more int
				if _, err := fmt.Sscanf(f.Message, "%d more problems like these.", &more); err == nil && f.Rule == c.rule {
					counted = more >= manyTensors-21
				}
			}
			switch {
			case c.rule == "" && len(out.Findings) > 0:
				t.Errorf("findings on a valid layout: %v", out.Findings)
			case c.rule != "" && (!matched || !counted || len(out.Findings) > 21):
				t.Errorf("want 20 findings %s %q and one that counts the other %d, got %v", c.rule, c.want, manyTensors-20, rules)
			}
		})
	}
}

// memberLimit is an output that stops the container after max members,
// as the engine does at its limit of members.
type memberLimit struct {
	tu.Output
	members, max int
}

func (o *memberLimit) Member(context.Context, analyzer.Member) error {
	if o.members++; o.members > o.max {
		return analyzer.ErrStopped
	}
	return nil
}

// TestTensorCountLimit: a header that declares more tensor infos than the
// parser keeps is malformed (the file is not fully analyzed), whether or
// not the file could hold them, and nothing is allocated for them.
func TestTensorCountLimit(t *testing.T) {
	w := header(1<<20+1, 0)
	data := w.data(make([]byte, 64))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := gguf.ParseHeader(strings.NewReader(string(data)), int64(len(data)))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("error %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("%d bytes allocated", alloc)
	}
}

// TestChatTemplateKeys: a template key given twice has both templates
// checked (a loader may use either: before, only the last one was), and a
// header of more chat templates than the parser keeps is malformed, not
// analyzed in part.
func TestChatTemplateKeys(t *testing.T) {
	evil := "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}"
	w := header(0, 2)
	w.kvString("tokenizer.chat_template", evil)
	w.kvString("tokenizer.chat_template", chatml)
	r := scanFile(t, w.data(nil))
	found := false
	for _, f := range r.AllFindings() {
		found = found || f.Rule == finding.TemplateInjection
	}
	if !found || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("the first of two templates under one key: %v", r.AllFindings())
	}

	w = header(0, 65)
	for i := range 65 {
		w.kvString(fmt.Sprintf("tokenizer.chat_template.t%d", i), chatml)
	}
	r = scanFile(t, w.data(nil))
	fs := r.AllFindings()
	if len(fs) != 1 || fs[0].Rule != finding.FormatMalformed || !strings.Contains(fs[0].Message, "more than 64 chat templates") ||
		r.ExitCode(finding.High) != report.ExitIncomplete {
		t.Errorf("65 chat templates: %v", fs)
	}
}
