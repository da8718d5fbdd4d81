package pickle

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// fuzzMaxSeed bounds the size of the files used as seeds: the fuzzer
// mutates small inputs far better than large ones.
const fuzzMaxSeed = 256 << 10

// fuzzPayload is the smallest malicious pickle: posix.system('id') at
// protocol 2, assembled by hand.
const fuzzPayload = "\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

// fuzzSeedFiles returns the files of the shared picklescan corpus and of
// testdata/models that are small enough to seed a fuzzer.
func fuzzSeedFiles(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, root := range []string{
		filepath.Join("..", "..", "testdata", "corpus", "picklescan"),
		filepath.Join("..", "..", "testdata", "models"),
	} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > fuzzMaxSeed || strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".tsv") {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil {
				out = append(out, b)
			}
			return nil
		})
	}
	return out
}

// fuzzHandmade are pickles that reach the VM's limits and its rarer paths.
var fuzzHandmade = []string{
	fuzzPayload,
	"cos\nsystem\n(S'id'\ntR.",
	"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R.",
	"(((((((((((((((((((((((((((((((((.",
	"\x80\x02]q\x00(h\x00h\x00eq\x01(h\x01h\x01eq\x02(h\x02h\x02e.",
	"\x80\x02)q\x00h\x00h\x00\x86q\x00h\x00h\x00\x86q\x00}h\x00Ns.",
	"\x80\x02cbuiltins\nobject\n)R)R)R)R)R.",
	"\x80\x02ccopyreg\nadd_extension\nX\x05\x00\x00\x00posixX\x06\x00\x00\x00systemK\x01\x87R0\x82\x01X\x02\x00\x00\x00id\x85R.",
	"\x80\x05\x95\x00\x00\x00\x00\x00\x00\x00\x00N\x97.",
	"I1\nI01\nL12L\nF1.5\nS'a\\x41'\nVab\\u0041\ng0\n.",
	"\x80\x02N.\x80\x02cposix\nsystem\n.",
}

// fuzzCheckTrace checks what any trace of data must satisfy: streams,
// imports, calls and errors inside the input, the opcode bound kept.
func fuzzCheckTrace(t *testing.T, data []byte, tr *Trace, opts Options) {
	t.Helper()
	n := int64(len(data))
	prevEnd := int64(0)
	for i, st := range tr.Streams {
		// A nested stream (a joblib object array's pickle) may start at
		// the end of the input: it is then reported as truncated.
		if st.Start < 0 || st.Start > n || (n > 0 && st.Start >= n && !st.Nested) {
			t.Fatalf("stream %d starts at %d, outside the %d-byte input", i, st.Start, n)
		}
		if st.End < st.Start || st.End > max(n, st.Start+1) {
			t.Fatalf("stream %d: end %d, start %d, input of %d bytes", i, st.End, st.Start, n)
		}
		if !st.Nested && st.Reader == ReadMemory { // the other readers' traces repeat a stream
			if st.Start < prevEnd {
				t.Fatalf("stream %d starts at %d, inside the previous stream that ends at %d", i, st.Start, prevEnd)
			}
			prevEnd = st.End
		}
		if st.Err != nil && (st.Err.Offset < st.Start || st.Err.Offset > n) {
			t.Fatalf("stream %d: error at %d outside [%d, %d]: %v", i, st.Err.Offset, st.Start, n, st.Err)
		}
		if opts.MaxOps > 0 && st.Ops > opts.MaxOps {
			t.Fatalf("stream %d: %d opcodes, over the bound of %d", i, st.Ops, opts.MaxOps)
		}
		for _, im := range st.Imports {
			if im.Offset < st.Start || im.Offset >= st.End {
				t.Fatalf("stream %d [%d, %d): import %s.%s at %d", i, st.Start, st.End, im.Module, im.Name, im.Offset)
			}
		}
		for _, c := range st.Calls {
			if c.Offset < st.Start || c.Offset >= st.End {
				t.Fatalf("stream %d [%d, %d): call of %s at %d", i, st.Start, st.End, c.Callable, c.Offset)
			}
		}
	}
}

// fuzzCheckFindings checks that the findings of a trace are catalogued
// pickle rules located inside the input.
func fuzzCheckFindings(t *testing.T, data []byte, fs []finding.Finding) {
	t.Helper()
	for _, f := range fs {
		if _, ok := finding.Lookup(f.Rule); !ok || !strings.HasPrefix(f.Rule, "PICKLE-") {
			t.Fatalf("finding of rule %q", f.Rule)
		}
		if f.Location.Offset < -1 || f.Location.Offset > int64(len(data)) {
			t.Fatalf("finding %s at offset %d of a %d-byte input", f.Rule, f.Location.Offset, len(data))
		}
		if len(f.Evidence) > 4*maxEvidence {
			t.Fatalf("finding %s: evidence of %d bytes", f.Rule, len(f.Evidence))
		}
	}
}

// fuzzRunBounded runs fn and fails the test if it does not return within
// d: an input that makes the VM loop or blow up is a crasher, even when the
// VM would check its context too late to stop.
func fuzzRunBounded(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not finish in %s", d)
	}
}

// FuzzRun traces arbitrary bytes: no panic, it terminates, streams and
// offsets stay inside the input, findings are catalogued pickle rules.
func FuzzRun(f *testing.F) {
	for _, s := range fuzzHandmade {
		f.Add([]byte(s))
	}
	for _, b := range fuzzSeedFiles(f) {
		f.Add(b)
	}
	a := New(DefaultPolicy())
	small := Options{MaxStack: 64, MaxMemo: 64, MaxOps: 1 << 14, MaxEvents: 16}
	wide := Options{MaxOps: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{small, wide} {
			var tr *Trace
			var err error
			fuzzRunBounded(t, 5*time.Second, func() {
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
				defer cancel()
				tr, err = Run(ctx, bytes.NewReader(data), int64(len(data)), opts)
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			fuzzCheckTrace(t, data, tr, opts)
			fuzzCheckFindings(t, data, a.Findings(tr, finding.Location{Path: "fuzz.pkl", Offset: -1}))

			fuzzRunBounded(t, 5*time.Second, func() {
				tr, err = RunReader(context.Background(), bytes.NewReader(data), opts)
			})
			if err != nil {
				t.Fatalf("RunReader: %v", err)
			}
			fuzzCheckTrace(t, data, tr, opts)
		}
		// The analyzer's own entry point, as the engine calls it.
		out := &fuzzOutput{}
		var err error
		fuzzRunBounded(t, 5*time.Second, func() {
			err = a.Analyze(context.Background(), analyzer.NewBytesInput("fuzz.pkl", data), out)
		})
		if err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		fuzzCheckFindings(t, data, out.findings)
	})
}

// FuzzSniff checks Sniff on arbitrary heads: no panic, a head cut from a
// longer input is claimed whenever the whole is, and whatever CPython
// would import is claimed (a skipped file is a file nobody scanned).
func FuzzSniff(f *testing.F) {
	for _, s := range fuzzHandmade {
		f.Add([]byte(s))
	}
	for _, b := range fuzzSeedFiles(f) {
		f.Add(b[:min(len(b), analyzer.HeadSize)])
	}
	f.Add([]byte("cos\nsystem\n(S'id'\ntRcfoo\nnot a name\n."))
	f.Add([]byte("class Linear(Module):\n  pass\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		if len(head) > analyzer.HeadSize {
			head = head[:analyzer.HeadSize]
		}
		var whole, cut bool
		fuzzRunBounded(t, 5*time.Second, func() {
			whole = Sniff(head, false)
			cut = Sniff(head, true)
		})
		if whole && !cut {
			t.Fatalf("claimed as a whole file but not as the head of a longer one")
		}
		if cut {
			for _, k := range []int{1, 2, len(head) / 2, len(head) - 1} {
				if k >= 1 && k < len(head) && !Sniff(head[:k], true) {
					t.Fatalf("claimed, but its first %d bytes as the head of a longer file are not", k)
				}
			}
		}
		if len(head) == 0 && (whole || cut) {
			t.Fatal("claimed an empty input")
		}
		if whole {
			return
		}
		var tr *Trace
		var err error
		fuzzRunBounded(t, 5*time.Second, func() {
			tr, err = Run(context.Background(), bytes.NewReader(head), int64(len(head)), Options{MaxStreams: 1})
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := tr.Streams[0]; len(st.Imports) > 0 {
			if im := st.Imports[0]; isDottedName([]byte(im.Module)) && isDottedName([]byte(im.Name)) {
				t.Fatalf("not claimed, but CPython would import %s.%s at offset %d", im.Module, im.Name, im.Offset)
			}
		}
	})
}

// fuzzOutput records what an analyzer reports.
type fuzzOutput struct {
	findings []finding.Finding
}

func (o *fuzzOutput) Report(f finding.Finding) { o.findings = append(o.findings, f) }

func (o *fuzzOutput) Member(context.Context, analyzer.Member) error { return nil }

func (o *fuzzOutput) Format(string) {}

// hostileRun traces data with default options and fails if that takes
// longer than d or reports an error.
func hostileRun(t *testing.T, data []byte, d time.Duration) *Trace {
	t.Helper()
	return hostileRunWith(t, data, d, Options{})
}

// hostileRunWith is hostileRun with opts.
func hostileRunWith(t *testing.T, data []byte, d time.Duration, opts Options) *Trace {
	t.Helper()
	var tr *Trace
	var err error
	fuzzRunBounded(t, d, func() {
		tr, err = Run(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestHostileSharedTupleKey: a tuple that holds the memoized tuple below
// it twice, sixty levels deep, is a DAG of 61 objects but a tree of 2^60
// leaves. Using it as a dict key must not walk the tree.
func TestHostileSharedTupleKey(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\x80\x02)q\x00")
	for range 60 {
		b.WriteString("h\x00h\x00\x86q\x00") // (t, t), memoized over t
	}
	b.WriteString("0}h\x00Ns.") // {t: None}
	tr := hostileRun(t, b.Bytes(), 10*time.Second)
	if st := tr.Streams[0]; st.Err != nil {
		t.Fatalf("a tuple of empty tuples is a valid key: %v", st.Err)
	}
	// Hashability is still judged: a list deep inside makes the key invalid.
	b.Reset()
	b.WriteString("\x80\x02]q\x00")
	for range 60 {
		b.WriteString("h\x00h\x00\x86q\x00")
	}
	b.WriteString("0}h\x00Ns.")
	tr = hostileRun(t, b.Bytes(), 10*time.Second)
	if st := tr.Streams[0]; st.Err == nil || !strings.Contains(st.Err.Msg, "unhashable") {
		t.Fatalf("a tuple holding a list is not hashable; stream error: %v", st.Err)
	}
}

// TestHostileDeepTupleKey: a million tuples nested one in the other
// (TUPLE1 repeated) used as a dict key must not exhaust the goroutine
// stack. With the default limits, the nesting stops the stream first.
func TestHostileDeepTupleKey(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	// {}, then (((([],),),)...) as the key, None, SETITEM.
	b := append([]byte("\x80\x02}]"), bytes.Repeat([]byte{opTUPLE1}, n)...)
	b = append(b, "Ns."...)
	tr := hostileRunWith(t, b, 30*time.Second, Options{MaxDepth: n + 1, MaxNested: int64(n) + 1})
	if st := tr.Streams[0]; st.Err == nil || !strings.Contains(st.Err.Msg, "unhashable") {
		t.Fatalf("nested tuples around a list are not hashable; stream error: %v", st.Err)
	}
	tr = hostileRun(t, b, 30*time.Second)
	if st := tr.Streams[0]; st.Err == nil || !st.Err.Limit || st.Err.Offset != 4+DefaultMaxDepth {
		t.Fatalf("tuples nested %d deep: stream error %v, want the depth limit at the tuple %d levels deep", n, st.Err, DefaultMaxDepth+1)
	}
}

// TestHostileCallChain: calling the result of a call of the result of a
// call... must cost the same for each call, not a description of the
// whole chain each time.
func TestHostileCallChain(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	var b bytes.Buffer
	b.WriteString("\x80\x02cbuiltins\nobject\n")
	for range n {
		b.WriteString(")R")
	}
	b.WriteString(".")
	tr := hostileRunWith(t, b.Bytes(), 30*time.Second, Options{MaxDepth: n + 1})
	st := tr.Streams[0]
	if st.Err != nil || len(st.Calls) == 0 {
		t.Fatalf("stream error %v, %d calls", st.Err, len(st.Calls))
	}
	var total int
	for _, c := range st.Calls {
		total += len(c.Callable)
	}
	if total > 64*len(st.Calls) {
		t.Fatalf("the %d calls describe their callables in %d bytes", len(st.Calls), total)
	}
}

// TestHostilePatchChain: setting a.b.c to the global that a.b.c.d
// resolves to, again and again, grows that global's name at each step;
// every BUILD call keeps its own. The names must stay bounded, or 500 KB
// of pickle take gigabytes.
func TestHostilePatchChain(t *testing.T) {
	step := "ca\nb\n}X\x01\x00\x00\x00cca\nb.c.d\nsb0" // a.b.__dict__.update({'c': a.b.c.d})
	data := []byte("\x80\x04" + strings.Repeat(step, 20_000) + "N.")
	tr := hostileRun(t, data, 30*time.Second)
	st := tr.Streams[0]
	if st.Err != nil || len(st.Calls) != 20_000 {
		t.Fatalf("stream error %v, %d calls", st.Err, len(st.Calls))
	}
	longest := 0
	for _, args := range st.callArgs {
		if state := args.p.items[0]; state.k == kDict {
			for _, v := range state.p.items {
				if v.k == kGlobal {
					longest = max(longest, len(v.p.resolved), len(v.p.name))
				}
			}
		}
	}
	if longest > 2*maxName {
		t.Errorf("a global's name grew to %d bytes", longest)
	}
}
