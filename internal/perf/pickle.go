// Package perf builds the inputs of Violet's benchmarks and of its memory
// measurements: opcode-dense pickles written the way CPython's pickler
// writes them, PyTorch zip checkpoints whose tensor bytes are holes of a
// sparse file, a raw pickle holding a 1 GiB byte string, and folders of
// many small files. Everything is built byte by byte and deterministically:
// nothing is pickled or unpickled by Python, and nothing here is ever
// loaded. See docs/performance.md.
package perf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// writer emits a pickle stream the way CPython's C pickler does for the
// same data: the memo indices it assigns, APPENDS and SETITEMS batches of
// 1000, and at protocol 4 and above frames of about 64 KiB.
type writer struct {
	proto int
	out   []byte // committed bytes (and the open frame at protocol 4+)
	frame int    // start of the open frame's header in out, or -1
	memo  int    // next memo index
	ops   int64  // opcodes written
}

const (
	frameTarget = 64 << 10 // CPython's _FRAME_SIZE_TARGET
	batchSize   = 1000     // CPython's _BATCHSIZE
)

func newWriter(proto int) *writer {
	w := &writer{proto: proto, frame: -1}
	if proto >= 2 {
		w.op(0x80, byte(proto)) // PROTO
	}
	if proto >= 4 {
		w.startFrame()
	}
	return w
}

// op appends one opcode and its argument bytes.
func (w *writer) op(b ...byte) {
	w.out = append(w.out, b...)
	w.ops++
}

func (w *writer) startFrame() {
	w.frame = len(w.out)
	w.out = append(w.out, 0x95, 0, 0, 0, 0, 0, 0, 0, 0) // FRAME, length patched on commit
	w.ops++
}

// boundary is called between objects: it commits the open frame once it
// reached the target size, as the pickler does.
func (w *writer) boundary() {
	if w.frame < 0 || len(w.out)-w.frame-9 < frameTarget {
		return
	}
	w.commitFrame()
	w.startFrame()
}

func (w *writer) commitFrame() {
	n := len(w.out) - w.frame - 9
	if n < 4 {
		// CPython drops the header of a frame shorter than 4 bytes.
		copy(w.out[w.frame:], w.out[w.frame+9:])
		w.out = w.out[:len(w.out)-9]
		w.ops--
	} else {
		binary.LittleEndian.PutUint64(w.out[w.frame+1:], uint64(n))
	}
	w.frame = -1
}

// finish writes STOP and returns the stream.
func (w *writer) finish() []byte {
	w.op('.')
	if w.frame >= 0 {
		w.commitFrame()
	}
	return w.out
}

// memoize stores the top of the stack in the memo and returns its index.
func (w *writer) memoize() int {
	i := w.memo
	w.memo++
	switch {
	case w.proto >= 4:
		w.op(0x94) // MEMOIZE
	case w.proto >= 1 && i < 256:
		w.op('q', byte(i)) // BINPUT
	case w.proto >= 1:
		w.op(binary.LittleEndian.AppendUint32([]byte{'r'}, uint32(i))...) // LONG_BINPUT
	default:
		w.op(append(append([]byte{'p'}, strconv.Itoa(i)...), '\n')...) // PUT
	}
	return i
}

// get pushes memo entry i.
func (w *writer) get(i int) {
	switch {
	case w.proto >= 1 && i < 256:
		w.op('h', byte(i)) // BINGET
	case w.proto >= 1:
		w.op(binary.LittleEndian.AppendUint32([]byte{'j'}, uint32(i))...) // LONG_BINGET
	default:
		w.op(append(append([]byte{'g'}, strconv.Itoa(i)...), '\n')...) // GET
	}
}

func (w *writer) int(v int64) {
	switch {
	case w.proto >= 1 && v >= 0 && v < 256:
		w.op('K', byte(v)) // BININT1
	case w.proto >= 1 && v >= 0 && v < 65536:
		w.op('M', byte(v), byte(v>>8)) // BININT2
	case w.proto >= 1 && v >= math.MinInt32 && v <= math.MaxInt32:
		w.op(binary.LittleEndian.AppendUint32([]byte{'J'}, uint32(int32(v)))...) // BININT
	case w.proto >= 1:
		panic("perf: int out of the 32-bit range")
	default:
		w.op(append(append([]byte{'I'}, strconv.FormatInt(v, 10)...), '\n')...) // INT
	}
}

func (w *writer) float(f float64) {
	if w.proto >= 1 {
		w.op(binary.BigEndian.AppendUint64([]byte{'G'}, math.Float64bits(f))...) // BINFLOAT
		return
	}
	w.op(append(append([]byte{'F'}, pyRepr(f)...), '\n')...) // FLOAT
}

// pyRepr formats f as Python's repr does, for the values used here.
func pyRepr(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	for _, c := range s {
		if c == '.' || c == 'e' || c == 'n' || c == 'i' {
			return s
		}
	}
	return s + ".0"
}

// str writes an ASCII str and memoizes it, returning its memo index.
func (w *writer) str(s string) int {
	switch {
	case w.proto >= 4 && len(s) < 256:
		w.op(append([]byte{0x8c, byte(len(s))}, s...)...) // SHORT_BINUNICODE
	case w.proto >= 1:
		w.op(append(binary.LittleEndian.AppendUint32([]byte{'X'}, uint32(len(s))), s...)...) // BINUNICODE
	default:
		w.op(append(append([]byte{'V'}, s...), '\n')...) // UNICODE (ASCII needs no escape)
	}
	return w.memoize()
}

func (w *writer) emptyList() {
	if w.proto >= 1 {
		w.op(']')
	} else {
		w.op('(')
		w.op('l')
	}
	w.memoize()
}

func (w *writer) emptyDict() {
	if w.proto >= 1 {
		w.op('}')
	} else {
		w.op('(')
		w.op('d')
	}
	w.memoize()
}

// list writes a list of n items, each written by item(i).
func (w *writer) list(n int, item func(i int)) {
	w.emptyList()
	w.batched(n, item, 'a', 'e') // APPEND, APPENDS
}

// dict writes a dict of n pairs, each written by pair(i).
func (w *writer) dict(n int, pair func(i int)) {
	w.emptyDict()
	w.batched(n, pair, 's', 'u') // SETITEM, SETITEMS
}

// batched writes the n items of the container just written the way
// CPython's pickler batches them: opcode one after each item at protocol 0;
// above it, MARK, up to batchSize items and opcode many, or one for a batch
// of a single item.
func (w *writer) batched(n int, item func(i int), one, many byte) {
	if w.proto == 0 {
		for i := range n {
			item(i)
			w.op(one)
			w.boundary()
		}
		return
	}
	for start := 0; start < n; start += batchSize {
		k := min(batchSize, n-start)
		if k > 1 {
			w.op('(')
		}
		for i := start; i < start+k; i++ {
			item(i)
			w.boundary()
		}
		if k > 1 {
			w.op(many)
		} else {
			w.op(one)
		}
	}
}

// tuple writes a tuple of the items written by items, n of them, and
// memoizes it.
func (w *writer) tuple(n int, items func()) {
	if n == 0 {
		w.op(')')
		return
	}
	if w.proto >= 2 && n <= 3 {
		items()
		w.op(0x85 + byte(n-1)) // TUPLE1, TUPLE2, TUPLE3
	} else {
		w.op('(')
		items()
		w.op('t')
	}
	w.memoize()
}

// Pickle is a generated pickle stream.
type Pickle struct {
	// Name says what it holds.
	Name string
	// Data is the stream.
	Data []byte
	// Ops is the number of opcodes in it.
	Ops int64
}

func done(name string, w *writer) Pickle {
	data := w.finish()
	return Pickle{Name: name, Data: data, Ops: w.ops}
}

// IntsAndStrs is pickle.dumps(x, 4) of a list of n items that alternate
// small ints and short distinct strings ("item0000001"), each string
// memoized: the densest common shape of a data pickle.
func IntsAndStrs(n int) Pickle {
	w := newWriter(4)
	w.list(n, func(i int) {
		if i%2 == 0 {
			w.int(int64(i % 70000))
		} else {
			w.str(fmt.Sprintf("item%07d", i))
		}
	})
	return done(fmt.Sprintf("p4-ints-strs-%d", n), w)
}

// SmallInts is pickle.dumps(x, 4) of a list of n small ints (token ids,
// labels: mostly BININT1, some BININT2): about 2.1 bytes per opcode, the
// density of the 7.7 MB pickle of 3.6 million opcodes of the picklescan
// comparison.
func SmallInts(n int) Pickle {
	w := newWriter(4)
	rng := newRand(4)
	w.list(n, func(int) {
		v := rng.next() % 4096
		if v >= 300 {
			v %= 256 // most below 256
		}
		w.int(int64(v))
	})
	return done(fmt.Sprintf("p4-small-ints-%d", n), w)
}

// FloatLists is pickle.dumps(d, 4) of a dict of keys lists of per floats
// each ({"layer.0.weight": [0.0123, ...], ...}): parameters exported as
// Python lists.
func FloatLists(keys, per int) Pickle {
	w := newWriter(4)
	rng := newRand(1)
	w.dict(keys, func(i int) {
		w.str(fmt.Sprintf("layer.%d.weight", i))
		w.list(per, func(int) { w.float(rng.normal() * 0.02) })
	})
	return done(fmt.Sprintf("p4-float-lists-%dx%d", keys, per), w)
}

// Records is pickle.dumps(rows, 4) of a list of n nested tuples
// (i, label, (x, y)), the labels drawn from 16 strings that repeat, so that
// the pickler refers to them by BINGET/LONG_BINGET after their first use.
func Records(n int) Pickle {
	w := newWriter(4)
	labels := map[int]int{} // label number -> memo index
	rng := newRand(2)
	w.list(n, func(i int) {
		w.tuple(3, func() {
			w.int(int64(i))
			l := int(rng.next() % 16)
			if idx, ok := labels[l]; ok {
				w.get(idx)
			} else {
				labels[l] = w.str(fmt.Sprintf("class-%02d", l))
			}
			x, y := float64(i%1000)*0.25+0.125, float64(i%977)*0.5+0.25
			w.tuple(2, func() { w.float(x); w.float(y) })
		})
	})
	return done(fmt.Sprintf("p4-records-%d", n), w)
}

// DictRows is pickle.dumps(rows, 2) of a list of n dicts
// {"id": i, "label": label, "score": f, "box": (a, b, c, d)}: protocol 2,
// with BINPUT and BINGET (LONG_BINPUT and LONG_BINGET past index 255) for
// the repeated keys and labels.
func DictRows(n int) Pickle {
	w := newWriter(2)
	memo := map[string]int{}
	ref := func(s string) {
		if idx, ok := memo[s]; ok {
			w.get(idx)
			return
		}
		memo[s] = w.str(s)
	}
	rng := newRand(3)
	w.list(n, func(i int) {
		w.dict(4, func(j int) {
			switch j {
			case 0:
				ref("id")
				w.int(int64(i))
			case 1:
				ref("label")
				ref(fmt.Sprintf("class-%02d", rng.next()%16))
			case 2:
				ref("score")
				w.float(float64(rng.next()%10000) / 10000)
			case 3:
				ref("box")
				w.tuple(4, func() {
					for range 4 {
						w.int(int64(rng.next() % 1024))
					}
				})
			}
		})
	})
	return done(fmt.Sprintf("p2-dict-rows-%d", n), w)
}

// Text0 is pickle.dumps(rows, 0) of a list of n items cycling through an
// int, a float and a short distinct string: protocol 0, text opcodes with
// PUT after every string.
func Text0(n int) Pickle {
	w := newWriter(0)
	w.list(n, func(i int) {
		switch i % 3 {
		case 0:
			w.int(int64(i))
		case 1:
			w.float(float64(i) + 0.5)
		default:
			w.str(fmt.Sprintf("v%d", i))
		}
	})
	return done(fmt.Sprintf("p0-text-%d", n), w)
}

// Benign is a pickle of about ops opcodes, every one of which a benign
// data pickle uses (a dict of float lists, with repeated string keys): it
// stays within the VM's default memo and stack limits however large.
func Benign(ops int64) Pickle {
	const per = 1000
	// Each key costs 2 (str, MEMOIZE) + 2 (EMPTY_LIST, MEMOIZE) + 2 (MARK,
	// APPENDS) + per floats, and each batch of 1000 keys 2 more.
	keys := int(ops / (per + 6))
	p := FloatLists(keys, per)
	p.Name = fmt.Sprintf("p4-benign-%dops", p.Ops)
	return p
}

// rand is a small deterministic generator (splitmix64).
type rand struct{ s uint64 }

func newRand(seed uint64) *rand { return &rand{s: seed} }

func (r *rand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// normal returns a standard normal deviate (Box-Muller).
func (r *rand) normal() float64 {
	u1 := (float64(r.next()>>11) + 0.5) / (1 << 53)
	u2 := float64(r.next()>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// DensePickles are the opcode-dense pickles of the throughput benchmarks,
// each of a few MB.
func DensePickles() []Pickle {
	return []Pickle{
		SmallInts(3_600_000),
		IntsAndStrs(1_000_000),
		FloatLists(100, 10_000),
		Records(300_000),
		DictRows(100_000),
		Text0(500_000),
	}
}
