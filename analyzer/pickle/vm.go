package pickle

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"
)

// Options bound the VM. The zero value means the defaults.
type Options struct {
	// MaxStack bounds the stack and the mark stack (default 1<<20 entries).
	MaxStack int
	// MaxMemo bounds the memo (default 1<<22 entries).
	MaxMemo int
	// MaxOps bounds the opcodes of one stream (0: no bound).
	MaxOps int64
	// MaxEvents bounds the imports and the calls kept per stream (default
	// 100,000); past it only imports and calls not seen before are kept.
	MaxEvents int
	// MaxStreams stops after that many streams (0: every stream in the input).
	MaxStreams int
	// MaxDepth bounds how deep containers and objects may nest (default
	// DefaultMaxDepth).
	MaxDepth int
	// MaxNested bounds the values holding a container or an object that
	// the VM keeps as items of others, over the whole input (default
	// DefaultMaxNested): with the stack and the memo, they are all the VM
	// keeps alive, so that its memory is bounded by the limits whatever
	// the input's size.
	MaxNested int64
}

const (
	// DefaultMaxDepth is the default of Options.MaxDepth. CPython's pickler
	// recurses once per level and stops at the interpreter's recursion
	// limit (1,000 by default), so that no pickle a program wrote nests
	// this deep; CPython's unpickler would load a deeper one, which only a
	// hand-made file holds.
	DefaultMaxDepth = 10_000
	// DefaultMaxNested is the default of Options.MaxNested, and what a
	// scan with the default limits gets (LimitOptions: half of
	// max_pickle_memo). Each container keeps at most sampleItems items,
	// and the globals and objects it holds: the largest checkpoint of the
	// census keeps 69,000 values nested, a data pickle of 300,000 records
	// 300,000.
	DefaultMaxNested = 1 << 21
)

func (o Options) withDefaults() Options {
	if o.MaxStack <= 0 {
		o.MaxStack = 1 << 20
	}
	if o.MaxMemo <= 0 {
		o.MaxMemo = 1 << 22
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 100_000
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxNested <= 0 {
		o.MaxNested = DefaultMaxNested
	}
	return o
}

// Run traces every pickle stream in the size bytes of r, the way CPython's
// unpickler would execute them, without importing or calling anything. The
// error is non-nil only when ctx ended.
func Run(ctx context.Context, r io.ReaderAt, size int64, opts Options) (*Trace, error) {
	return withArgs(run(ctx, newSource(r, size, nil), opts))
}

// RunReader is Run for a stream that has no random access: large payloads
// are discarded as they are read.
func RunReader(ctx context.Context, r io.Reader, opts Options) (*Trace, error) {
	return withArgs(run(ctx, newSource(nil, -1, r), opts))
}

// withArgs renders the arguments of every call of t.
func withArgs(t *Trace, err error) (*Trace, error) {
	for i := range t.Streams {
		st := &t.Streams[i]
		for j := range st.Calls {
			var b strings.Builder
			renderArgs(&b, st.callArgs[j], 3)
			st.Calls[j].Args = b.String()
		}
	}
	return t, err
}

// Sniff reports whether head, the first bytes of a file, starts a pickle:
// CPython's unpickler would get through its first opcodes (to STOP, to an
// import, or to the end of head) without an error.
func Sniff(head []byte, truncated bool) bool {
	if len(head) == 0 {
		return false
	}
	if len(head) >= 11 && head[0] == opPROTO && head[1] >= 4 && head[1] <= 5 && head[2] == opFRAME {
		// PROTO and FRAME, as every protocol 4 and 5 pickler starts: a
		// pickle, even one cut short before its STOP or whose first frame
		// runs past the end (the pure-Python unpickler runs what it holds).
		return true
	}
	m := newVM(context.Background(), newSource(bytes.NewReader(head), int64(len(head)), nil), Options{MaxOps: 512})
	m.sniffing = truncated
	st := m.runStream(0)
	if len(st.Imports) > 0 {
		// Text that starts with "c" or "i" reads as GLOBAL or INST: a pickle
		// imports names, not sentences. Only the first import decides:
		// CPython runs everything before a later import that fails.
		if im := st.Imports[0]; !isDottedName([]byte(im.Module)) || !isDottedName([]byte(im.Name)) {
			return false
		}
	}
	switch {
	case st.Err == nil || len(st.Imports) > 0:
		return true
	case st.Err.Limit:
		return st.Ops >= 8
	case st.Err.Msg == errTruncated.Error():
		// The head ended before the stream did, after a valid first opcode.
		// A non-pickle that gets this far is dropped by the analyzer when the
		// whole stream fails without importing anything.
		return truncated && st.Ops >= 1
	}
	return false
}

func run(ctx context.Context, src *source, opts Options) (*Trace, error) {
	m := newVM(ctx, src, opts)
	t := &Trace{}
	pos := int64(0)
	for first := true; opts.MaxStreams == 0 || len(t.Streams) < opts.MaxStreams; first = false {
		start, ok := pos, true
		if !first {
			start, ok = m.nextStart(pos)
		}
		if !ok {
			break
		}
		st := m.runStream(start)
		t.Streams = append(t.Streams, m.nested...)
		m.nested = nil
		var others []Stream
		if st.Frames != nil && src.ra != nil {
			others = readAlso(ctx, src, start, opts)
		}
		// A read error or the end of the time budget is not a malformed
		// stream: the caller reports it.
		stopErr := m.src.err
		if stopErr == nil {
			stopErr = ctx.Err()
		}
		if stopErr != nil {
			st.Err = nil
			t.Streams = append(t.Streams, *st)
			return t, stopErr
		}
		kept := first || st.Err == nil || len(st.Imports) > 0 || len(st.Calls) > 0 || len(others) > 0
		if kept {
			t.Streams = append(t.Streams, *st)
			t.Streams = append(t.Streams, others...)
		}
		switch {
		case st.Err != nil && st.Err.Limit:
			return t, nil
		case first && st.Err != nil && len(st.Imports) == 0 && len(st.Calls) == 0:
			// The first load fails before it imports or calls anything: no
			// loader gets past it to a later stream, and the rest is data
			// (a tensor whose bytes happen to start like an opcode).
			return t, nil
		case kept:
			pos = max(st.End, start+1)
		default:
			pos = start + 1
		}
		if src.size >= 0 && pos >= src.size {
			break
		}
	}
	return t, nil
}

// readAlso traces the stream at start as the readers other than ReadMemory
// read it: the streams they see, for a stream whose frames they read
// differently.
func readAlso(ctx context.Context, src *source, start int64, opts Options) []Stream {
	var out []Stream
	for _, r := range []Reader{ReadFile, ReadPython} {
		alt := newVM(ctx, newFramedSource(src.ra, src.size, r), opts)
		st := alt.runStream(start)
		st.Reader = r
		for i := range alt.nested {
			alt.nested[i].Reader = r
		}
		out = append(out, alt.nested...)
		out = append(out, *st)
	}
	return out
}

// nextStart finds where the next stream starts at or after pos: right at
// pos (streams written back to back), or at the next PROTO opcode or
// protocol-0 GLOBAL/INST that looks real. A stream without random access
// only continues right at pos.
func (m *vm) nextStart(pos int64) (int64, bool) {
	s := m.src
	if !s.seek(pos) {
		return 0, false
	}
	b, ok := s.peekByte()
	if !ok {
		return 0, false
	}
	if opTable[b].name != "" && b != opSTOP {
		return pos, true
	}
	if s.ra == nil {
		return 0, false
	}
	for off := pos; ; off++ {
		if !s.seek(off) {
			return 0, false
		}
		for {
			if !s.fill(1) {
				return 0, false
			}
			w := s.buf[s.i:s.n]
			j := indexStart(w)
			if j >= 0 {
				off = s.base + int64(s.i+j)
				break
			}
			s.i = s.n
		}
		if m.plausibleStart(off) {
			return off, true
		}
	}
}

// indexStart returns the index of the first byte in w that may start a
// stream in the middle of other data, or -1. (Three vectorized searches,
// each within what the previous ones left: data that holds none of the
// bytes is skipped at memory speed.)
func indexStart(w []byte) int {
	j := -1
	for _, c := range [...]byte{opPROTO, opGLOBAL, opINST} {
		if k := bytes.IndexByte(w, c); k >= 0 {
			j, w = k, w[:k]
		}
	}
	return j
}

// plausibleStart reports whether a stream could start at off: PROTO with a
// known protocol, or GLOBAL/INST with two identifier lines. It leaves the
// source positioned at off.
func (m *vm) plausibleStart(off int64) bool {
	s := m.src
	s.seek(off)
	defer s.seek(off)
	b, err := s.readByte()
	if err != nil {
		return false
	}
	if b == opPROTO {
		v, err := s.readByte()
		if err != nil || v > 5 {
			return false
		}
		next, ok := s.peekByte()
		return ok && opTable[next].name != ""
	}
	if !mayStartName(s.buf[s.i:s.n]) {
		return false
	}
	for range 2 {
		line, long, err := s.readLine(256)
		if err != nil || long || !isDottedName(line) {
			return false
		}
	}
	return true
}

// mayStartName reports whether w, the bytes buffered after a GLOBAL or
// INST opcode, may start a line that isDottedName accepts: false when a
// byte that no dotted name holds comes before the first newline. It only
// rejects early what readLine and isDottedName would reject, without
// reading a long line of random data to its end.
func mayStartName(w []byte) bool {
	for _, c := range w {
		switch {
		case c == '\n':
			return true
		case c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// isDottedName reports whether b is a Python dotted identifier (ASCII).
func isDottedName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	start := true
	for _, c := range b {
		switch {
		case c == '.':
			if start {
				return false
			}
			start = true
			continue
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9':
			if start {
				return false
			}
		default:
			return false
		}
		start = false
	}
	return !start
}

// vm is CPython's unpickler (Modules/_pickle.c) re-enacted on values that
// stand in for the real objects.
type vm struct {
	ctx  context.Context
	src  *source
	opts Options

	stack   []value
	marks   []int
	memo    [][]value // the dense memo, in chunks of memoChunk slots (the first may be shorter)
	memoN   int       // dense slots in use
	memoMap map[int64]value
	memoLen int
	proto   int
	st      *Stream
	seen    map[string]bool // imports and calls recorded past MaxEvents

	// State that outlives a stream, as it outlives a load() in one process.
	ext      map[int64][2]string // copyreg extension registry, as the stream fills it
	extCache map[int64]value
	patches  map[string]value   // attributes set on globals: dotted name -> value
	sniffing bool               // reading only the head of a longer input
	nested   []Stream           // streams read in the middle of the current one
	depth    int                // nesting of those streams
	arena    *arena             // allocates containers, shared by copies of the VM
	frameEnd int64              // ReadMemory: where the current frame ends, noFrame outside one
	nodeVals map[*object]string // dotted strings held by configuration nodes (omegaconf's _val)
}

// noFrame is frameEnd outside a frame.
const noFrame = math.MaxInt64

// straddle records that the opcode at off ran past the end of its frame.
func (m *vm) straddle(off int64) {
	if m.st.Frames == nil && m.src.frames == nil {
		m.st.Frames = &FrameEvent{Offset: off, What: "An opcode's argument runs past the end of its frame", Mismatch: true}
	}
}

// frameEvent records, reading as ReadMemory, a FRAME of n bytes at off:
// where it starts inside the current frame, or is longer than the rest of
// the input, the other readers read the stream differently.
func (m *vm) frameEvent(off, n int64, truncated bool) {
	st := m.st
	switch {
	case st.Frames != nil:
	case m.frameEnd != noFrame && off < m.frameEnd:
		st.Frames = &FrameEvent{Offset: off, What: "A new frame begins before the end of the current one", Mismatch: true}
	case truncated:
		st.Frames = &FrameEvent{Offset: off, What: "A frame is longer than the rest of the input"}
	}
	m.frameEnd = m.src.pos() + min(n, noFrame-1-m.src.pos())
}

func newVM(ctx context.Context, src *source, opts Options) *vm {
	// The stack starts with room for what most pickles need, rather than
	// growing from one value.
	opts = opts.withDefaults()
	return &vm{ctx: ctx, src: src, opts: opts, arena: newArena(int64(opts.MaxDepth), opts.MaxNested), stack: make([]value, 0, 32)}
}

// failure builds the error of the opcode at off.
func failure(off int64, format string, args ...any) *Error {
	return &Error{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func limitFailure(off int64, format string, args ...any) *Error {
	e := failure(off, format, args...)
	e.Limit = true
	return e
}

// runStream executes one stream from start.
func (m *vm) runStream(start int64) *Stream {
	st := &Stream{Start: start}
	m.st = st
	m.stack = m.stack[:0]
	m.marks = m.marks[:0]
	m.resetMemo()
	m.memoMap = nil
	m.memoLen = 0
	m.proto = 0
	m.seen = nil
	m.frameEnd = noFrame
	last := start
	if !m.src.seek(start) {
		st.Err = failure(start, "cannot seek")
		return st
	}
	for {
		off := m.src.pos()
		if st.Ops&0x3fff == 0 && m.ctx.Err() != nil {
			st.Err = limitFailure(off, "time budget exhausted after %d opcodes", st.Ops)
			break
		}
		if m.opts.MaxOps > 0 && st.Ops >= m.opts.MaxOps {
			st.Err = limitFailure(off, "more than %d opcodes", m.opts.MaxOps)
			break
		}
		var op byte
		if s := m.src; s.i < s.n {
			op = s.buf[s.i]
			s.i++
		} else {
			var err error
			if op, err = s.readByteSlow(); err != nil {
				st.Err = failure(off, "%v", err)
				break
			}
		}
		st.Ops++
		if off >= m.frameEnd {
			// The frame is read: opcodes come from the file again. The
			// opcode before this one ran past its end if it ended later.
			if off > m.frameEnd {
				m.straddle(last)
			}
			m.frameEnd = noFrame
		}
		last = off
		stop, e := m.step(op, off)
		if e != nil {
			st.Err = e
			break
		}
		if m.arena.over {
			st.Err = m.nestingFailure(off)
			break
		}
		if stop {
			break
		}
	}
	st.End = m.src.pos()
	if st.End > m.frameEnd {
		m.straddle(last)
	}
	if st.Err != nil {
		st.End = max(min(st.Err.Offset+1, m.src.pos()), start+1)
	}
	st.Protocol = m.proto
	return st
}

// --- the stack -------------------------------------------------------------

func (m *vm) fence() int {
	if n := len(m.marks); n > 0 {
		return m.marks[n-1]
	}
	return 0
}

func (m *vm) push(off int64, v value) *Error {
	if m.pushFast(v) {
		return nil
	}
	return m.pushSlow(off, v)
}

// pushFast pushes v if the stack has room without growing, and reports
// whether it did: the fast path of push, small enough to be inlined.
func (m *vm) pushFast(v value) bool {
	n := len(m.stack)
	if n >= cap(m.stack) || n >= m.opts.MaxStack {
		return false
	}
	m.stack = m.stack[:n+1]
	m.stack[n] = v
	return true
}

// pushSlow is push when the stack must grow or is full. The stack doubles
// as it grows, up to MaxStack: append grows a large slice by a quarter at a
// time, and a stack of a million values would allocate five times its size
// in copies.
func (m *vm) pushSlow(off int64, v value) *Error {
	n := len(m.stack)
	if n >= m.opts.MaxStack {
		return limitFailure(off, "stack deeper than %d", m.opts.MaxStack)
	}
	if n == cap(m.stack) {
		grown := make([]value, n, min(max(2*n, 32), m.opts.MaxStack))
		copy(grown, m.stack)
		m.stack = grown
	}
	m.stack = append(m.stack, v)
	return nil
}

func (m *vm) pop(off int64) (value, *Error) {
	n := len(m.stack)
	if n <= m.fence() {
		return value{}, m.underflow(off)
	}
	v := m.stack[n-1]
	m.stack = m.stack[:n-1]
	return v, nil
}

func (m *vm) top(off int64) (*value, *Error) {
	n := len(m.stack)
	if n <= m.fence() {
		return nil, m.underflow(off)
	}
	return &m.stack[n-1], nil
}

func (m *vm) underflow(off int64) *Error {
	if len(m.marks) > 0 && len(m.stack) == m.fence() {
		return failure(off, "unexpected MARK found")
	}
	return failure(off, "unpickling stack underflow")
}

// popMark pops the top mark and returns the stack index it points at.
func (m *vm) popMark(off int64) (int, *Error) {
	n := len(m.marks)
	if n == 0 {
		return 0, failure(off, "could not find MARK")
	}
	i := m.marks[n-1]
	m.marks = m.marks[:n-1]
	return i, nil
}

// popSince removes and returns the items above stack index i.
func (m *vm) popSince(i int) []value {
	items := m.stack[i:]
	m.stack = m.stack[:i]
	return items
}

func (m *vm) container(k kind, items []value) value {
	c := m.arena.container(k, len(items))
	m.arena.addAll(c.p, items)
	return c
}

// nestingFailure is the error of the opcode at off that nested values
// past MaxDepth or MaxNested: a limit, at which run stops.
func (m *vm) nestingFailure(off int64) *Error {
	a := m.arena
	switch {
	case a.deepest > a.maxDepth:
		return limitFailure(off, "containers and objects nested deeper than %d", a.maxDepth)
	case a.late > int64(a.maxDepth):
		return limitFailure(off, "containers nested deeper than %d (more than %d filled after they were nested)", a.maxDepth, a.maxDepth)
	}
	return limitFailure(off, "more than %d containers and objects kept nested in others", a.maxNested)
}

// object returns the object of a call result, which keeps the values kept
// (the callable and its arguments): one level deeper than the deepest of
// them.
func (m *vm) object(c callee, kept ...value) *object {
	o := newCallee(c)
	for _, v := range kept {
		m.arena.nest(o, v)
		m.arena.kept(o, v)
	}
	return o
}

// --- the memo --------------------------------------------------------------

const denseMemo = 1 << 22

func (m *vm) memoGet(off int64, idx int64) (value, *Error) {
	var v value
	if idx >= 0 && idx < int64(m.memoN) {
		v = *m.memoSlot(idx)
	} else if m.memoMap != nil {
		v = m.memoMap[idx]
	}
	if v.k == kMissing {
		return value{}, failure(off, "Memo value not found at index %d", idx)
	}
	return v, nil
}

func (m *vm) memoPut(off int64, idx int64, v value) *Error {
	if idx < 0 {
		return failure(off, "negative PUT argument")
	}
	var old *value
	switch {
	case idx < int64(m.memoN):
		old = m.memoSlot(idx)
	case idx < denseMemo && idx <= 2*int64(m.memoN)+1024:
		m.growMemo(int(idx) + 1)
		old = m.memoSlot(idx)
	default:
		if m.memoMap == nil {
			m.memoMap = make(map[int64]value)
		}
		if prev, ok := m.memoMap[idx]; ok && prev.k != kMissing {
			m.memoMap[idx] = v
			return nil
		}
		if m.memoLen >= m.opts.MaxMemo {
			return limitFailure(off, "memo larger than %d entries", m.opts.MaxMemo)
		}
		m.memoMap[idx] = v
		m.memoLen++
		return nil
	}
	if old.k == kMissing {
		if m.memoLen >= m.opts.MaxMemo {
			return limitFailure(off, "memo larger than %d entries", m.opts.MaxMemo)
		}
		m.memoLen++
	}
	*old = v
	return nil
}

// The dense memo is kept in chunks, so that a memo of millions of entries
// is never copied as it grows.
const (
	memoShift = 12
	memoChunk = 1 << memoShift
)

func (m *vm) memoSlot(idx int64) *value {
	return &m.memo[idx>>memoShift][idx&(memoChunk-1)]
}

// memoRoom reports whether the dense slot m.memoN exists.
func (m *vm) memoRoom() bool {
	c := m.memoN >> memoShift
	return c < len(m.memo) && m.memoN&(memoChunk-1) < len(m.memo[c])
}

// growMemo makes n dense slots available (n > m.memoN). The first chunk
// starts small and doubles, for the many pickles with a small memo.
func (m *vm) growMemo(n int) {
	if len(m.memo) == 0 {
		m.memo = append(m.memo, nil)
	}
	if c0 := m.memo[0]; len(c0) < n && len(c0) < memoChunk {
		grown := make([]value, min(max(n, 2*len(c0), 32), memoChunk))
		copy(grown, c0)
		m.memo[0] = grown
	}
	for len(m.memo)<<memoShift < n {
		m.memo = append(m.memo, make([]value, memoChunk))
	}
	m.memoN = n
}

// resetMemo empties the dense memo for a new stream, keeping its chunks.
func (m *vm) resetMemo() {
	for i, c := range m.memo {
		used := m.memoN - i<<memoShift
		if used <= 0 {
			break
		}
		clear(c[:min(used, len(c))])
	}
	m.memoN = 0
}

// --- events ----------------------------------------------------------------

// keep reports whether an event with the given key is kept, bounding the
// trace of huge streams while never dropping a new import or callable.
func (m *vm) keep(n int, key string) bool {
	if n < m.opts.MaxEvents {
		return true
	}
	if m.seen == nil {
		m.seen = make(map[string]bool)
		for _, im := range m.st.Imports {
			m.seen["i"+im.Module+"\n"+im.Name] = true
		}
		for i, c := range m.st.Calls {
			m.seen[callKey(c.Kind, c.Callable, m.st.callArgs[i])] = true
		}
	}
	if m.seen[key] {
		return false
	}
	m.seen[key] = true
	return true
}

func (m *vm) importGlobal(off int64, module, name, opname string) value {
	resolved := resolve(module, name, m.proto)
	g := value{k: kGlobal, p: newCallee(callee{module: module, name: name, resolved: resolved})}
	if v, ok := m.patched(resolved); ok {
		g = v
	}
	if m.keep(len(m.st.Imports), "i"+module+"\n"+name) {
		// obj is the global's object, whose escaped flag the analyzer reads;
		// a value patched in place of the global has none.
		var obj *object
		if g.p != nil && g.p.callee != nil {
			obj = g.p
		}
		m.st.Imports = append(m.st.Imports, Import{Module: module, Name: name, Resolved: resolved, Offset: off, Opcode: opname, obj: obj})
	}
	return g
}

// patched returns the value an earlier BUILD or SETITEM stored at a dotted
// name or at one of its prefixes (then the rest is an attribute of it).
func (m *vm) patched(resolved string) (value, bool) {
	if len(m.patches) == 0 {
		return value{}, false
	}
	for p := resolved; ; {
		if v, ok := m.patches[p]; ok {
			if p == resolved {
				return v, true
			}
			if v.k == kGlobal {
				name := capName(v.p.resolved + resolved[len(p):])
				return value{k: kGlobal, p: newCallee(callee{module: v.p.module, name: capName(v.p.name + resolved[len(p):]), resolved: name})}, true
			}
			return value{}, false
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return value{}, false
		}
		p = p[:i]
	}
}

// call records a call of fn with args and returns its result.
func (m *vm) call(off int64, kindName string, fn, args value) value {
	c := Call{Kind: kindName, Offset: off}
	if fn.k == kGlobal {
		c.Callable, c.Global, c.module, c.name = fn.p.resolved, true, fn.p.module, fn.p.name
		if kindName == "REDUCE" && c.Callable == nestedLoader {
			m.payload(off, c.Callable, args)
		}
		if kindName == "REDUCE" && rebuilders[c.Callable] {
			m.noteTensor(off, c.Callable, args)
		}
		if attr, ok := constGetattr(fn, args); ok && kindName == "REDUCE" {
			c.constAttr = true
			m.st.Calls = append(m.st.Calls, c)
			m.st.callArgs = append(m.st.callArgs, args)
			owner := args.p.items[0].p
			return m.importGlobal(off, owner.module, owner.name+"."+attr, "getattr")
		}
	} else {
		c.Callable = describe(fn)
		if fn.k == kObject {
			c.fnObj = fn.p
		}
	}
	if len(m.st.Calls) < m.opts.MaxEvents || m.keep(len(m.st.Calls), callKey(kindName, c.Callable, args)) {
		c.Args = "" // rendered on demand by renderArgs
		m.st.Calls = append(m.st.Calls, c)
		m.st.callArgs = append(m.st.callArgs, args)
	}
	return value{k: kObject, p: m.object(callee{fnv: fn, args: args}, fn, args)}
}

// callKey identifies a call past MaxEvents, when only calls not seen
// before are kept: the opcode, the callable and the globals among its first
// arguments, so that a helper's call with a new callable (functools.partial
// of another function) is never dropped.
func callKey(kindName, callable string, args value) string {
	key := "c" + kindName + "\n" + callable
	if args.k == kTuple {
		for i, a := range args.p.items {
			if i == 2 {
				break
			}
			if a.k == kGlobal {
				key += "\n" + a.p.resolved
			}
		}
	}
	return key
}

// payload records the bytes argument of a nested loader's call.
func (m *vm) payload(off int64, loader string, args value) {
	if args.k != kTuple || args.p.count != 1 || len(args.p.items) != 1 || args.p.items[0].k != kBytes {
		m.st.OpaqueLoads++
		return
	}
	if len(m.st.Payloads) >= MaxPayloads {
		m.st.PayloadsDropped++
		return
	}
	b := args.p.items[0]
	pl := Payload{Loader: loader, Offset: -1, Size: b.n, Call: off}
	if b.n == int64(len(b.s)) {
		pl.Data = b.s
	} else if b.p != nil {
		pl.Offset = b.p.count
	}
	m.st.Payloads = append(m.st.Payloads, pl)
}

// constGetattr recognizes builtins.getattr(global, 'name') with a constant
// name: it reads an attribute as a dotted global would (Python 3.12
// pickles enum members that way), and is judged as that dotted name.
func constGetattr(fn, args value) (string, bool) {
	if fn.p.resolved != "builtins.getattr" || args.k != kTuple || args.p.count != 2 || len(args.p.items) != 2 {
		return "", false
	}
	owner, attr := args.p.items[0], args.p.items[1]
	if owner.k != kGlobal || attr.k != kStr || int64(len(attr.s)) != attr.n || !isDottedName([]byte(attr.s)) {
		return "", false
	}
	return attr.s, true
}

// callChecked is call, followed by the checks and effects of the few
// calls whose effects a later opcode depends on: copyreg's extension
// registry.
func (m *vm) callChecked(off int64, kindName string, fn, args value) (value, *Error) {
	res := m.call(off, kindName, fn, args)
	if fn.k != kGlobal {
		return res, nil
	}
	switch fn.p.resolved {
	case "copyreg.add_extension", "copyreg.remove_extension":
	default:
		return res, nil
	}
	if args.k != kTuple || len(args.p.items) != 3 {
		return res, nil
	}
	mod, name, code := args.p.items[0], args.p.items[1], args.p.items[2]
	if mod.k != kStr || name.k != kStr || code.k != kInt {
		return res, nil
	}
	if code.n < 1 || code.n > 0x7fffffff {
		return value{}, failure(off, "code out of range")
	}
	key := [2]string{mod.s, name.s}
	if fn.p.resolved == "copyreg.remove_extension" {
		if m.ext[code.n] != key {
			return value{}, failure(off, "key %v is not registered with code %d", key, code.n)
		}
		delete(m.ext, code.n)
		delete(m.extCache, code.n)
		return res, nil
	}
	if old, ok := m.ext[code.n]; ok && old != key {
		return value{}, failure(off, "code %d is already in use for key %v", code.n, old)
	}
	for c, k := range m.ext {
		if k == key && c != code.n {
			return value{}, failure(off, "key %v is already registered with code %d", key, c)
		}
	}
	if m.ext == nil {
		m.ext = make(map[int64][2]string)
	}
	m.ext[code.n] = key
	return res, nil
}

// maxName bounds the dotted names that patches build. A chain of patches
// (a.b.c set to the global that a.b.c.d resolves to, again and again)
// would otherwise grow a name at each step, and the memory of every call
// that keeps one, quadratically. A longer name is cut visibly, so that no
// allowlist entry matches it.
const maxName = 256

func capName(s string) string {
	if len(s) > maxName {
		return s[:maxName] + "…"
	}
	return s
}

// setAttr records that attribute key of the global target now holds v.
func (m *vm) setAttr(target value, key, v value) {
	if key.k != kStr {
		return
	}
	name := capName(target.p.resolved + "." + key.s)
	if m.patches == nil {
		m.patches = make(map[string]value)
	}
	m.patches[name] = v
}

// describe names a value that is called but is not a global.
func describe(v value) string {
	switch v.k {
	case kObject:
		return "<result of " + calleeName(v) + ">"
	case kPersID:
		return "<persistent object>"
	}
	return "<" + v.typeName() + ">"
}

// calleeName names what produced an object: the callable's name.
func calleeName(v value) string {
	if v.p == nil || v.p.fnv.k == kMissing {
		return "?"
	}
	if v.p.fnv.k == kGlobal {
		return v.p.fnv.p.resolved
	}
	if f := v.p.fnv; f.k == kObject && f.p.fnv.k == kObject {
		// A chain of calls of call results is not spelled out: each call
		// of a long chain would cost the length of the chain.
		return "<result of <result of …>>"
	}
	return describe(v.p.fnv)
}

// --- decoding helpers --------------------------------------------------------

// line reads a text argument. A line longer than keepBytes is consumed
// whole and its first keepBytes are returned, with long set: CPython reads
// lines of any length, so a long line must not stop the analysis.
func (m *vm) line(off int64) ([]byte, bool, *Error) {
	b, long, err := m.src.readLine(keepBytes)
	if err != nil {
		return nil, false, failure(off, "%v", err)
	}
	return b, long, nil
}

// counted reads an argument of n bytes, keeping at most keepBytes of it.
func (m *vm) counted(off int64, n int64) (string, *Error) {
	if n > math.MaxInt64/2 {
		return "", failure(off, "length %d exceeds the maximum size", n)
	}
	if n <= keepBytes {
		b, err := m.src.read(int(n))
		if err != nil {
			return "", failure(off, "%v", err)
		}
		return string(b), nil
	}
	b, err := m.src.readPrefix(n, keepBytes)
	if err != nil {
		return "", failure(off, "%v", err)
	}
	return string(b), nil
}

func (m *vm) fixed(off int64, n int) ([]byte, *Error) {
	b, err := m.src.read(n)
	if err != nil {
		return nil, readFailure(off, err)
	}
	return b, nil
}

// readFailure is the error of an opcode whose argument could not be read.
func readFailure(off int64, err error) *Error { return failure(off, "%v", err) }

func (m *vm) length(off int64, arg argKind) (int64, *Error) {
	switch arg {
	case argLen1:
		b, e := m.fixed(off, 1)
		if e != nil {
			return 0, e
		}
		return int64(b[0]), nil
	case argLen4:
		b, e := m.fixed(off, 4)
		if e != nil {
			return 0, e
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	default:
		b, e := m.fixed(off, 8)
		if e != nil {
			return 0, e
		}
		n := binary.LittleEndian.Uint64(b)
		if n > math.MaxInt64 {
			return 0, failure(off, "length %d exceeds the maximum size", n)
		}
		return int64(n), nil
	}
}

// validUTF8Surrogates reports whether b is UTF-8, allowing encoded
// surrogates as Python's "surrogatepass" error handler does.
func validUTF8Surrogates(b string) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(b[i:])
		if r == utf8.RuneError && size <= 1 {
			// An encoded surrogate: ED A0..BF 80..BF.
			if c == 0xED && i+2 < len(b) && b[i+1] >= 0xA0 && b[i+1] <= 0xBF && b[i+2] >= 0x80 && b[i+2] <= 0xBF {
				i += 3
				continue
			}
			return false
		}
		i += size
	}
	return true
}

// str builds a str value of full length n from its kept prefix.
func str(s string, n int64) value { return value{k: kStr, s: s, n: n} }

func bytesValue(k kind, s string, n int64) value { return value{k: k, s: s, n: n} }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// longValue decodes a little-endian two's complement integer.
func longValue(b []byte) value {
	if len(b) == 0 {
		return value{k: kInt}
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		if shift := 64 - 8*uint(len(b)); shift > 0 {
			return value{k: kInt, n: int64(u<<shift) >> shift}
		}
		return value{k: kInt, n: int64(u)}
	}
	if len(b) > 64 {
		return value{k: kBigInt, s: fmt.Sprintf("<int of %d bytes>", len(b))}
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	z := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		z.Sub(z, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return value{k: kBigInt, s: z.String()}
}
