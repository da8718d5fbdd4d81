package pickle

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// nestingDeep is how deep the hostile pickles of nestingCases nest.
const nestingDeep = 1_000_000

// nestingCases are pickles that nest a million deep, each in its own way,
// and the peak memory (the scanning process's maximum resident set, in
// MiB) that scanning one may take. Before the nesting limits, the first
// ones took 130 to 445 MiB, and memory grew with the file without bound.
var nestingCases = []struct {
	name   string
	maxMiB int64
	build  func() []byte
}{
	// ((((),),),)...: TUPLE1 of TUPLE1.
	{"tuple1", 64, func() []byte { return pk(")", rep("\x85", nestingDeep)) }},
	// MARK MARK ... TUPLE TUPLE.
	{"mark-tuple", 64, func() []byte { return pk(rep("(", nestingDeep), rep("t", nestingDeep)) }},
	// MARK MARK ... LIST LIST.
	{"mark-list", 64, func() []byte { return pk(rep("(", nestingDeep), rep("l", nestingDeep)) }},
	// EMPTY_LIST MARK EMPTY_LIST MARK ... APPENDS APPENDS.
	{"empty-list-appends", 64, func() []byte { return pk(rep("](", nestingDeep), "]", rep("e", nestingDeep)) }},
	// {0: {0: {0: ...}}}, each dict memoized and set in the next.
	{"dict-in-dict", 64, func() []byte { return pk("}q\x010", rep("}K\x00h\x01sq\x010", nestingDeep), "h\x01") }},
	// [[[...]]] built from the top down: each list is appended to the one
	// before while it is still empty, then fetched from the memo and filled.
	{"top-down", 64, func() []byte { return pk("]q\x00", rep("]q\x01a0h\x01", nestingDeep), "0h\x00") }},
	// f()()()...: each call of the result of the call before.
	{"call-chain", 64, func() []byte { return pk("cbuiltins\nobject\n", rep(")R", nestingDeep)) }},
	// A million empty lists on the stack, then APPEND a million times:
	// the stack's own limit (max_pickle_stack) bounds what it holds first.
	{"empty-list-append", 192, func() []byte { return pk(rep("]", nestingDeep), rep("a", nestingDeep-1)) }},
	// Many chains just under the depth limit, each kept by the memo: only
	// the count of nested values (half of max_pickle_memo) bounds them.
	{"memo-chains", 256, func() []byte {
		return pk(rep(")"+rep("\x85", DefaultMaxDepth-10)+"\x940", 4*nestingDeep/DefaultMaxDepth), "N")
	}},
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

// pk is a protocol-2 pickle of the parts, then STOP.
func pk(parts ...string) []byte {
	return []byte("\x80\x02" + strings.Join(parts, "") + ".")
}

// TestHostileNestingMemory scans each hostile pickle of nestingCases as
// a file, with the default limits: the scan must stop at a limit
// (PICKLE-LIMIT: the file is not fully analyzed, exit 2), never pass, and
// allocate no more than the case's budget, whatever the nesting. The
// budget bounds every byte the scan allocates (runtime.MemStats.TotalAlloc,
// garbage included), and so its peak heap.
func TestHostileNestingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pickles a million deep")
	}
	for _, c := range nestingCases {
		t.Run(c.name, func(t *testing.T) {
			data := c.build()
			out := &fuzzOutput{}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := New(DefaultPolicy()).Scan(context.Background(), analyzer.NewBytesInput(c.name+".pkl", data), out)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
			var rules []string
			for _, f := range out.findings {
				rules = append(rules, f.Rule)
			}
			t.Logf("%s: %v, %d MiB allocated", c.name, rules, alloc)
			if !slices.Contains(rules, finding.PickleLimit) {
				t.Errorf("a pickle nested %d deep gives %v, not %s", nestingDeep, rules, finding.PickleLimit)
			}
			if alloc > uint64(c.maxMiB) {
				t.Errorf("scanning it allocated %d MiB, more than %d", alloc, c.maxMiB)
			}
		})
	}
}

// TestNestingLimits: each limit stops the stream at the opcode that
// crosses it, as a limit (PICKLE-LIMIT), and what stays within them runs
// to STOP.
func TestNestingLimits(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		opts Options
		off  int64 // of the opcode that crosses the limit, -1 for none
	}{
		// ((((),),),): the tuple at offset 3+k nests k+1 deep.
		{"depth", pk(")", rep("\x85", 5)), Options{MaxDepth: 4}, 3 + 4},
		{"depth within", pk(")", rep("\x85", 5)), Options{MaxDepth: 5}, -1},
		// Five marks open (offsets 2 to 6), the fifth one too many.
		{"marks", pk(rep("(", 5), rep("t", 5)), Options{MaxDepth: 4}, 6},
		// Top down: L0 [L1 [L2 ...]], each list filled after it was
		// nested. The step at offset 6+7k fills the list nested k+1 deep.
		{"top down", pk("]q\x00", rep("]q\x01a0h\x01", 10), "0h\x00"), Options{MaxDepth: 4}, 6 + 7*5 + 2},
		// Tuples kept in tuples, then in a list: the empty tuple in the
		// first TUPLE1 (offset 4), that tuple in the list (5), the second
		// empty tuple in its TUPLE1 (7) is one too many.
		{"nested", pk("]", rep(")\x85a", 3)), Options{MaxNested: 2}, 7},
		// A list that holds itself, again and again (l = [l] * 50000): it
		// is no deeper for it. A dict whose values hold it back (d[k] =
		// [d]), as a pickler writes 5,000 of them, in batches of 1,000: each
		// batch nests it two levels deeper than the one before, no more.
		{"self", pk("]q\x00(", rep("h\x00", 50_000), "e"), Options{MaxDepth: 2}, -1},
		{"back references", pk("}q\x00", rep("("+rep("K\x01]h\x00a", 1000)+"u", 5)), Options{MaxDepth: 10}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Run(context.Background(), bytes.NewReader(c.data), int64(len(c.data)), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			st := tr.Streams[0]
			switch {
			case c.off < 0 && st.Err != nil:
				t.Fatalf("stream error %v", st.Err)
			case c.off >= 0 && (st.Err == nil || !st.Err.Limit || st.Err.Offset != c.off):
				t.Fatalf("stream error %v, want a limit at offset %d", st.Err, c.off)
			}
		})
	}
}
