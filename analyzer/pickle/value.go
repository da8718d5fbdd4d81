package pickle

import (
	"math"
	"strconv"
	"strings"
)

// kind is the type of a value on the VM's stack.
type kind uint8

const (
	kMissing   kind = iota // an unset memo slot
	kNone                  // None
	kBool                  // n is 0 or 1
	kInt                   // n
	kBigInt                // s holds the value in hex, or a prefix of it
	kFloat                 // n holds the float64 bits
	kStr                   // s (a prefix when n > len(s)); n is the length in bytes
	kBytes                 // as kStr
	kByteArray             // as kStr
	kTuple                 // p
	kList                  // p
	kDict                  // p: items hold key, value, key, value...
	kSet                   // p
	kFrozenSet             // p
	kGlobal                // p: an imported global
	kObject                // p: the result of a call, an instance, or anything opaque
	kPersID                // p: the result of persistent_load(items[0])
	kBuffer                // a PickleBuffer or memoryview
)

// value is one Python object as the VM models it. Values are small and
// copied; containers and objects point to a shared object, so that the
// memo and nested references cost nothing to copy.
type value struct {
	k kind
	n int64
	s string
	p *object
}

// object is the shared part of containers, globals and opaque objects.
// Containers are by far the most numerous (a data pickle may hold millions
// of tuples, each kept alive by the memo), so that what only globals and
// call results need is in a callee, nil for containers.
type object struct {
	// items are the retained items of a container: the first sampleItems,
	// then every item that refers to a global or an object. count is the
	// number of items appended in all; for a bytes value longer than
	// keepBytes (the only other value with an object), count is the offset
	// of its payload in the source.
	items []value
	count int64
	// hasRef is true when the container holds a global or an object.
	hasRef bool
	// complete is false when some items were not retained.
	complete bool
	// unhashable is true when some item, retained or not, is surely not
	// hashable: then a tuple is not hashable either. It is kept as items
	// are added, so that hashable never walks nested tuples (a memo makes
	// a DAG of 60 tuples a tree of 2^60 leaves).
	unhashable bool
	// depth is how deep containers and objects nest inside this one: 0 for
	// one that holds none, else one more than the deepest item it received
	// (as it received it: a pickler writes every item whole before the
	// container takes it, so that the depth is exact for what picklers
	// write). It is kept as items are added, never by a walk.
	depth int32
	// held is set once the object is kept as an item of another.
	held bool

	*callee // kGlobal and kObject only
}

// callee is the part of an object that globals (kGlobal) and the results
// of calls (kObject) have.
type callee struct {
	// For kGlobal: the operands and the name the policy judges.
	module, name, resolved string
	// For kObject: the callable and the arguments that produced it.
	fnv, args value
	// For kGlobal: set when the global is stored in a container, passed as
	// an argument or used as state, rather than only called.
	escaped bool
}

// newCallee returns the object of a global or of a call result, in one
// allocation.
func newCallee(c callee) *object {
	o := &struct {
		object
		c callee
	}{c: c}
	o.object.callee = &o.c
	return &o.object
}

const (
	// sampleItems is how many items of a container are kept for evidence.
	sampleItems = 8
	// maxRefItems bounds the items with references kept per container.
	maxRefItems = 1 << 12
	// keepBytes is how many bytes of a string or bytes value are kept.
	keepBytes = 4096
)

var (
	noneValue  = value{k: kNone}
	trueValue  = value{k: kBool, n: 1}
	falseValue = value{k: kBool, n: 0}
)

// arena allocates the VM's containers in batches: a data pickle builds
// millions of small tuples, lists and dicts, and the memo keeps them all
// alive, so that one allocation per container (and the garbage collector's
// work on each) would cost more than the rest of the VM. A batch lives as
// long as one of its containers does. The VM holds it by pointer, so that
// copies of the VM share it.
//
// The arena also keeps the account of nesting that bounds the VM's memory
// (Options.MaxDepth, Options.MaxNested): every value that holds a container
// or an object and that a container keeps as an item is counted in nested,
// those that a container already nested received in late, and the deepest
// nesting built is in deepest. Past a limit, over is set and the VM stops
// the stream at the opcode that crossed it.
type arena struct {
	o0 slab[object]
	o1 slab[container1]
	o2 slab[container2]
	o3 slab[container3]
	o4 slab[container4]
	o8 slab[container8]
	// items1 to items8 are the item arrays of containers created empty,
	// by the room they need: a list that receives one item gets one slot.
	items1 slab[[1]value]
	items2 slab[[2]value]
	items4 slab[[4]value]
	items8 slab[[sampleItems]value]

	nested    int64 // values holding a container or an object kept as items
	late      int64 // of those, the containers kept by a container already held
	deepest   int32 // the largest depth of a container or object built
	maxNested int64
	maxDepth  int32
	over      bool // a limit was crossed
}

// newArena returns an arena that sets over past maxDepth or maxNested.
func newArena(maxDepth, maxNested int64) *arena {
	return &arena{maxDepth: int32(min(maxDepth, math.MaxInt32-1)), maxNested: maxNested}
}

type (
	container1 struct {
		object
		buf [1]value
	}
	container2 struct {
		object
		buf [2]value
	}
	container3 struct {
		object
		buf [3]value
	}
	container4 struct {
		object
		buf [4]value
	}
	container8 struct {
		object
		buf [sampleItems]value
	}
)

// slab hands out the elements of batches that double in size up to
// maxBatch, so that a small pickle allocates little.
type slab[T any] struct {
	free []T
	size int
}

const maxBatch = 256

func (s *slab[T]) get() *T {
	if len(s.free) == 0 {
		s.size = min(max(2*s.size, 4), maxBatch)
		s.free = make([]T, s.size)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// container returns an empty container that will receive capacity items.
// The items it retains are allocated with it.
func (a *arena) container(k kind, capacity int) value {
	var o *object
	switch n := min(capacity, sampleItems); {
	case n == 0:
		o = a.o0.get()
	case n == 1:
		c := a.o1.get()
		c.items, o = c.buf[:0], &c.object
	case n == 2:
		c := a.o2.get()
		c.items, o = c.buf[:0], &c.object
	case n == 3:
		c := a.o3.get()
		c.items, o = c.buf[:0], &c.object
	case n == 4:
		c := a.o4.get()
		c.items, o = c.buf[:0], &c.object
	default:
		c := a.o8.get()
		c.items, o = c.buf[:0:n], &c.object
	}
	o.complete = true
	return value{k: k, p: o}
}

// reserve gives a container created empty the room for the n items about
// to be added to it, up to its sample of items, before they are added (add
// would allocate it on its own). The room fits what is added: a list that
// only ever receives one item (a chain of lists, each in the next, is how
// a pickle nests a million deep) costs one slot, not a whole sample; a
// container that outgrows its room gets the whole sample at once.
func (a *arena) reserve(o *object, n int) {
	need := len(o.items) + n
	if need <= cap(o.items) || cap(o.items) >= sampleItems {
		return
	}
	var room []value
	switch {
	case cap(o.items) > 0 || need > 4:
		room = a.items8.get()[:]
	case need > 2:
		room = a.items4.get()[:]
	case need > 1:
		room = a.items2.get()[:]
	default:
		room = a.items1.get()[:]
	}
	o.items = append(room[:0], o.items...)
}

// grow makes room for the items of a container that was created empty
// (EMPTY_LIST, EMPTY_DICT, EMPTY_SET) and has no room left: room for the
// sample at once, rather than growing one item at a time.
func (o *object) grow() {
	if cap(o.items) == 0 {
		o.items = make([]value, 0, sampleItems)
	}
}

// refers reports whether v is or holds a global or an opaque object.
func (v value) refers() bool {
	switch v.k {
	case kGlobal, kObject, kPersID:
		return true
	case kTuple, kList, kDict, kSet, kFrozenSet:
		return v.p.hasRef
	}
	return false
}

// add appends item to container o, keeping what evidence and policy need.
func (a *arena) add(o *object, item value) {
	o.count++
	ref := a.note(o, &item)
	if len(o.items) < sampleItems || (ref && len(o.items) < maxRefItems) {
		o.grow()
		o.items = append(o.items, item)
		a.kept(o, item)
		return
	}
	o.complete = false
}

// note records what o must know of an item it receives, kept or not: a
// global escapes, an unhashable item makes a tuple unhashable, a reference
// makes the container hold one, a container or an object nests one level
// deeper than itself. It reports whether the item refers to a global or an
// object.
func (a *arena) note(o *object, item *value) bool {
	item.escape()
	if !item.hashable() {
		o.unhashable = true
	}
	ref := item.refers()
	if ref {
		o.hasRef = true
	}
	a.nest(o, *item)
	return ref
}

// nest records that o holds item: a container or an object makes o one
// level deeper than it. (A container that holds itself is no deeper for
// it.)
func (a *arena) nest(o *object, item value) {
	if p := item.p; nests(item.k) && p != o && p.depth >= o.depth {
		a.deeper(o, p.depth+1)
	}
}

// nests reports whether values of kind k are containers or objects, each
// an object of its own that may hold others. (A global is one shared
// object, however many containers hold it.)
func nests(k kind) bool {
	switch k {
	case kTuple, kList, kDict, kSet, kFrozenSet, kObject, kPersID:
		return true
	}
	return false
}

// deeper records that o now nests d deep.
func (a *arena) deeper(o *object, d int32) {
	o.depth = d
	if d > a.deepest {
		a.deepest = d
		if d > a.maxDepth {
			a.over = true
		}
	}
}

// kept counts an item that o keeps, when it is a container or an object:
// the memory the VM keeps for nested values grows with the count, and
// MaxNested bounds it.
func (a *arena) kept(o *object, item value) {
	if nests(item.k) {
		a.nested++
		if a.nested > a.maxNested {
			a.over = true
		}
		if o.held && item.p != o && item.k != kObject && item.k != kPersID {
			// o was nested before it received the container item: the
			// depth of what holds o does not grow with it. Picklers never
			// write that (every container is written whole before it is
			// nested), but for a structure that holds itself; a file that
			// nests top down is stopped by counting it.
			a.late++
			if a.late > int64(a.maxDepth) {
				a.over = true
			}
		}
		item.p.held = true
	}
}

// addAll is add of each of items. Past the sample, an item that is a plain
// number or string has no effect but to be counted (add would find it
// hashable, not a reference and not to be kept): the long lists of a data
// pickle are counted, not walked through add.
func (a *arena) addAll(o *object, items []value) {
	if n := len(o.items) + len(items); n <= sampleItems && n <= cap(o.items) {
		// All are kept, in room already there (a tuple, a new list).
		o.count += int64(len(items))
		for i := range items {
			a.note(o, &items[i])
			a.kept(o, items[i])
		}
		o.items = append(o.items, items...)
		return
	}
	for i := range items {
		if len(o.items) >= sampleItems && plainScalar(items[i].k) {
			o.count++
			o.complete = false
			continue
		}
		a.add(o, items[i])
	}
}

// plainScalar reports whether values of kind k are hashable numbers,
// strings or bytes, which hold no reference.
func plainScalar(k kind) bool {
	switch k {
	case kNone, kBool, kInt, kBigInt, kFloat, kStr, kBytes:
		return true
	}
	return false
}

// countPair is addPair for a pair past the sample whose key and value are
// plain scalars, which addPair would only count; it reports whether the
// pair was such.
func (o *object) countPair(key, val *value) bool {
	if len(o.items) < 2*sampleItems || !plainScalar(key.k) || !plainScalar(val.k) {
		return false
	}
	o.count++
	o.complete = false
	return true
}

// addPairs is addPair of each key and value of items (key, value, key...)
// when every key is hashable and every pair is kept in the room already
// there (a small dict); otherwise it does nothing and reports false.
func (a *arena) addPairs(o *object, items []value) bool {
	if n := len(o.items) + len(items); n > 2*sampleItems || n > cap(o.items) {
		return false
	}
	for i := 0; i < len(items); i += 2 {
		if !items[i].hashable() {
			return false
		}
	}
	o.count += int64(len(items) / 2)
	for i := range items {
		items[i].escape()
		if items[i].refers() {
			o.hasRef = true
		}
		a.nest(o, items[i])
		a.kept(o, items[i])
	}
	o.items = append(o.items, items...)
	return true
}

// addPair appends a key and a value to a dict, keeping them together.
func (a *arena) addPair(o *object, key, val value) {
	o.count++
	key.escape()
	val.escape()
	ref := key.refers() || val.refers()
	if ref {
		o.hasRef = true
	}
	a.nest(o, key)
	a.nest(o, val)
	if len(o.items) < 2*sampleItems || (ref && len(o.items) < maxRefItems) {
		o.grow()
		o.items = append(o.items, key, val)
		a.kept(o, key)
		a.kept(o, val)
		return
	}
	o.complete = false
}

// escape marks a global that is used as data.
func (v value) escape() {
	if v.k == kGlobal {
		v.p.escaped = true
	}
}

// hashable reports whether v may be a dict key or a set item: false only
// when it surely is not (a list, dict, set or bytearray, or a tuple of one).
func (v value) hashable() bool {
	switch v.k {
	case kList, kDict, kSet, kByteArray:
		return false
	case kTuple:
		return !v.p.unhashable
	}
	return true
}

// typeName is the Python type name of v, for error messages.
func (v value) typeName() string {
	return [...]string{kMissing: "missing", kNone: "NoneType", kBool: "bool", kInt: "int", kBigInt: "int",
		kFloat: "float", kStr: "str", kBytes: "bytes", kByteArray: "bytearray", kTuple: "tuple", kList: "list",
		kDict: "dict", kSet: "set", kFrozenSet: "frozenset", kGlobal: "global", kObject: "object",
		kPersID: "persistent object", kBuffer: "buffer"}[v.k]
}

// render writes v as Python source, bounded in depth and length, for evidence.
func render(v value) string {
	var b strings.Builder
	renderTo(&b, v, 3)
	return clip(b.String())
}

// clip bounds a rendered value or name to about maxEvidence bytes.
func clip(s string) string {
	if len(s) > maxEvidence {
		s = s[:maxEvidence-1] + "…"
	}
	return s
}

// brackets are the delimiters of each container kind.
var brackets = map[kind][2]string{kTuple: {"(", ")"}, kList: {"[", "]"}, kSet: {"{", "}"},
	kFrozenSet: {"frozenset({", "})"}, kDict: {"{", "}"}}

// maxEvidence bounds the length of a rendered value.
const maxEvidence = 400

func renderTo(b *strings.Builder, v value, depth int) {
	if b.Len() > maxEvidence {
		return
	}
	switch v.k {
	case kNone:
		b.WriteString("None")
	case kBool:
		if v.n != 0 {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case kInt:
		b.WriteString(strconv.FormatInt(v.n, 10))
	case kBigInt:
		b.WriteString(v.s)
	case kFloat:
		f := math.Float64frombits(uint64(v.n))
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case kStr:
		b.WriteString(pyQuote(v.s, v.n > int64(len(v.s))))
	case kBytes, kByteArray:
		if v.k == kByteArray {
			b.WriteString("bytearray(")
		}
		b.WriteString("b")
		b.WriteString(pyQuote(v.s, v.n > int64(len(v.s))))
		if v.k == kByteArray {
			b.WriteString(")")
		}
	case kGlobal:
		b.WriteString(v.p.resolved)
	case kObject:
		if v.p.fnv.k == kMissing || depth <= 0 {
			b.WriteString("<object>")
			return
		}
		renderTo(b, v.p.fnv, depth-1)
		renderArgs(b, v.p.args, depth-1)
	case kPersID:
		b.WriteString("persistent_load(")
		if len(v.p.items) > 0 && depth > 0 {
			renderTo(b, v.p.items[0], depth-1)
		}
		b.WriteString(")")
	case kBuffer:
		b.WriteString("<buffer>")
	case kTuple, kList, kSet, kFrozenSet, kDict:
		br := brackets[v.k]
		open, close := br[0], br[1]
		b.WriteString(open)
		if depth <= 0 {
			if v.p.count > 0 {
				b.WriteString("…")
			}
			b.WriteString(close)
			return
		}
		renderItems(b, v, depth)
		if v.k == kTuple && v.p.count == 1 {
			b.WriteString(",")
		}
		b.WriteString(close)
	default:
		b.WriteString("?")
	}
}

// renderArgs writes the arguments of a call: "(a, b)" for a tuple.
func renderArgs(b *strings.Builder, args value, depth int) {
	if args.k != kTuple {
		b.WriteString("(*")
		renderTo(b, args, depth)
		b.WriteString(")")
		return
	}
	b.WriteString("(")
	if depth > 0 {
		renderItems(b, args, depth)
	} else if args.p.count > 0 {
		b.WriteString("…")
	}
	b.WriteString(")")
}

func renderItems(b *strings.Builder, v value, depth int) {
	step := 1
	if v.k == kDict {
		step = 2
	}
	shown := int64(0)
	for i := 0; i+step-1 < len(v.p.items); i += step {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > maxEvidence {
			return
		}
		renderTo(b, v.p.items[i], depth-1)
		if step == 2 {
			b.WriteString(": ")
			renderTo(b, v.p.items[i+1], depth-1)
		}
		shown++
	}
	if shown < v.p.count {
		if shown > 0 {
			b.WriteString(", ")
		}
		b.WriteString("…")
	}
}

// pyQuote quotes s the way Python's repr does, roughly: single quotes,
// escapes for control characters and quotes.
func pyQuote(s string, truncated bool) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(c)|0x100, 16)[1:])
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxEvidence {
			truncated = true
			break
		}
	}
	if truncated {
		b.WriteString("…")
	}
	b.WriteByte('\'')
	return b.String()
}
