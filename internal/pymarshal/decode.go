// Package pymarshal decodes CPython's marshal format far enough to summarize
// code objects, without executing or unmarshaling anything in Python.
//
// Keras Lambda layers store their Python function as the base64 of
// marshal.dumps(func.__code__). This package reads such bytes as hostile
// input: it never panics, and it bounds nesting depth, input size and the
// number of decoded objects. The result is a Code summary that shows which
// global names, attributes and string constants the function uses.
package pymarshal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Limits bounds the work Decode does on hostile input.
type Limits struct {
	// MaxDepth is the deepest nesting of marshal objects accepted.
	MaxDepth int
	// MaxItems is the largest number of marshal objects decoded in total,
	// counting container elements and back-references.
	MaxItems int
	// MaxBytes is the largest marshal input accepted, in bytes.
	MaxBytes int
}

// DefaultLimits returns limits generous enough for any real Keras Lambda
// function and small enough to keep hostile input cheap.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 200, MaxItems: 200000, MaxBytes: 8 << 20}
}

// normalized fills zero or negative fields with their defaults.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxItems <= 0 {
		l.MaxItems = d.MaxItems
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l
}

// ErrLimit is wrapped by errors caused by input exceeding a Limits bound.
var ErrLimit = errors.New("pymarshal: limit exceeded")

// ErrNotCode is returned when the marshal data does not hold a code object.
var ErrNotCode = errors.New("pymarshal: not a code object")

// errTruncated reports input that ends inside an object.
var errTruncated = errors.New("truncated data")

// Marshal type codes, from CPython's Python/marshal.c.
const (
	typeNull          = '0'
	typeNone          = 'N'
	typeFalse         = 'F'
	typeTrue          = 'T'
	typeStopIter      = 'S'
	typeEllipsis      = '.'
	typeInt           = 'i'
	typeInt64         = 'I'
	typeFloat         = 'f'
	typeBinaryFloat   = 'g'
	typeComplex       = 'x'
	typeBinaryComplex = 'y'
	typeLong          = 'l'
	typeString        = 's'
	typeInterned      = 't'
	typeStringRef     = 'R'
	typeRef           = 'r'
	typeTuple         = '('
	typeList          = '['
	typeDict          = '{'
	typeCode          = 'c'
	typeUnicode       = 'u'
	typeSet           = '<'
	typeFrozenSet     = '>'
	typeASCII         = 'a'
	typeASCIIInterned = 'A'
	typeSmallTuple    = ')'
	typeShortASCII    = 'z'
	typeShortASCIIInt = 'Z'
	typeSlice         = ':'
	flagRef           = 0x80
)

// layout identifies the field order of a marshaled code object.
type layout int

const (
	layout311 layout = iota // 3.11 and later
	layout38                // 3.8 to 3.10
	layout30                // 3.0 to 3.7
	layout2                 // Python 2
)

// layouts is the order in which candidate layouts are tried.
var layouts = []layout{layout311, layout38, layout30, layout2}

func (l layout) String() string {
	switch l {
	case layout311:
		return "3.11+"
	case layout38:
		return "3.8-3.10"
	case layout30:
		return "3.0-3.7"
	default:
		return "2.x"
	}
}

// kind is the Python type of a decoded value.
type kind uint8

const (
	kNone kind = iota
	kBool
	kStopIter
	kEllipsis
	kInt
	kFloat
	kComplex
	kBytes
	kStr
	kTuple
	kList
	kDict
	kSet
	kFrozenSet
	kSlice
	kCode
)

// value is one decoded marshal object. Only the fields its kind needs are set.
type value struct {
	kind  kind
	str   string   // kStr and kBytes payload
	items []*value // containers; dict keys and values alternate
	code  *rawCode // kCode
}

// rawCode holds the fields of a decoded code object.
type rawCode struct {
	argcount, posonly, kwonly, flags, firstline int32
	code                                        *value
	consts                                      *value
	names, varnames, freevars, cellvars         []string
	filename, name, qualname                    string
}

// Shared immutable singletons for valueless kinds.
var (
	vNone     = &value{kind: kNone}
	vTrue     = &value{kind: kBool, str: "True"}
	vFalse    = &value{kind: kBool, str: "False"}
	vStopIter = &value{kind: kStopIter}
	vEllipsis = &value{kind: kEllipsis}
	vInt      = &value{kind: kInt}
	vFloat    = &value{kind: kFloat}
	vComplex  = &value{kind: kComplex}
	vNull     = &value{} // sentinel for TYPE_NULL; compared by pointer
)

// decoder reads marshal data with one candidate code layout.
type decoder struct {
	data    []byte
	pos     int
	lim     Limits
	layout  layout
	items   int
	depth   int
	refs    []*value // nil entries are reserved, not yet filled
	interns []*value // Python 2 interned strings for TYPE_STRINGREF
}

// decodeError carries the offset where decoding failed.
type decodeError struct {
	off int
	err error
}

func (e *decodeError) Error() string {
	return fmt.Sprintf("pymarshal: offset %d: %v", e.off, e.err)
}

func (e *decodeError) Unwrap() error { return e.err }

func (d *decoder) fail(err error) error {
	return &decodeError{off: d.pos, err: err}
}

func (d *decoder) failf(format string, args ...any) error {
	return d.fail(fmt.Errorf(format, args...))
}

func (d *decoder) byte1() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, d.fail(errTruncated)
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

func (d *decoder) int32() (int32, error) {
	if len(d.data)-d.pos < 4 {
		return 0, d.fail(errTruncated)
	}
	v := int32(binary.LittleEndian.Uint32(d.data[d.pos:]))
	d.pos += 4
	return v, nil
}

// take returns the next n bytes, checking n against the remaining input
// before anything is allocated.
func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 {
		return nil, d.failf("negative length %d", n)
	}
	if n > len(d.data)-d.pos {
		return nil, d.fail(fmt.Errorf("%w: length %d exceeds remaining %d bytes", errTruncated, n, len(d.data)-d.pos))
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// count reserves n more objects against MaxItems.
func (d *decoder) count(n int) error {
	if n < 0 || n > d.lim.MaxItems-d.items {
		return d.fail(fmt.Errorf("%w: more than %d objects", ErrLimit, d.lim.MaxItems))
	}
	d.items += n
	return nil
}

// reserve appends an unfilled slot to refs when flag is set, as CPython's
// r_ref_reserve does, and returns its index or -1.
func (d *decoder) reserve(flag bool) int {
	if !flag {
		return -1
	}
	d.refs = append(d.refs, nil)
	return len(d.refs) - 1
}

func (d *decoder) fill(idx int, v *value) {
	if idx >= 0 {
		d.refs[idx] = v
	}
}

// object reads one marshal object. It returns vNull for TYPE_NULL, which
// only a dict may contain.
func (d *decoder) object() (*value, error) {
	if d.depth >= d.lim.MaxDepth {
		return nil, d.fail(fmt.Errorf("%w: nesting deeper than %d", ErrLimit, d.lim.MaxDepth))
	}
	if err := d.count(1); err != nil {
		return nil, err
	}
	d.depth++
	defer func() { d.depth-- }()

	start := d.pos
	code, err := d.byte1()
	if err != nil {
		return nil, err
	}
	flag := code&flagRef != 0
	typ := code &^ flagRef

	// Singletons never enter the refs list, even when flagged.
	switch typ {
	case typeNull:
		return vNull, nil
	case typeNone:
		return vNone, nil
	case typeTrue:
		return vTrue, nil
	case typeFalse:
		return vFalse, nil
	case typeStopIter:
		return vStopIter, nil
	case typeEllipsis:
		return vEllipsis, nil
	case typeRef:
		n, err := d.int32()
		if err != nil {
			return nil, err
		}
		if n < 0 || int(n) >= len(d.refs) {
			return nil, d.failf("invalid reference %d (%d refs)", n, len(d.refs))
		}
		v := d.refs[n]
		if v == nil {
			return nil, d.failf("reference %d to an object not yet complete", n)
		}
		return v, nil
	case typeStringRef:
		if d.layout != layout2 {
			break
		}
		n, err := d.int32()
		if err != nil {
			return nil, err
		}
		if n < 0 || int(n) >= len(d.interns) {
			return nil, d.failf("invalid string reference %d", n)
		}
		return d.interns[n], nil
	}

	// Every other type takes a refs slot when flagged. Reserving it before
	// any nested object is read matches CPython's numbering: containers and
	// code objects register before their children, scalars have none.
	idx := d.reserve(flag)
	var v *value
	switch typ {
	case typeInt:
		if _, err = d.int32(); err == nil {
			v = vInt
		}
	case typeInt64:
		if _, err = d.take(8); err == nil {
			v = vInt
		}
	case typeLong:
		var n int32
		if n, err = d.int32(); err == nil {
			digits := int(n)
			if n == math.MinInt32 {
				err = d.failf("bad long digit count")
				break
			}
			if digits < 0 {
				digits = -digits
			}
			if digits > (len(d.data)-d.pos)/2 {
				err = d.fail(fmt.Errorf("%w: long with %d digits", errTruncated, digits))
				break
			}
			var b []byte
			if b, err = d.take(2 * digits); err == nil {
				for i := 0; i < len(b); i += 2 {
					if binary.LittleEndian.Uint16(b[i:]) > 0x7fff {
						err = d.failf("bad long digit")
						break
					}
				}
				v = vInt
			}
		}
	case typeBinaryFloat:
		if _, err = d.take(8); err == nil {
			v = vFloat
		}
	case typeBinaryComplex:
		if _, err = d.take(16); err == nil {
			v = vComplex
		}
	case typeFloat, typeComplex:
		parts := 1
		if typ == typeComplex {
			parts = 2
		}
		for i := 0; i < parts && err == nil; i++ {
			var n byte
			if n, err = d.byte1(); err == nil {
				_, err = d.take(int(n))
			}
		}
		if err == nil {
			v = vFloat
			if typ == typeComplex {
				v = vComplex
			}
		}
	case typeString:
		var n int32
		if n, err = d.int32(); err == nil {
			var b []byte
			if b, err = d.take(int(n)); err == nil {
				v = &value{kind: kBytes, str: string(b)}
			}
		}
	case typeInterned, typeUnicode, typeASCII, typeASCIIInterned:
		var n int32
		if n, err = d.int32(); err == nil {
			var b []byte
			if b, err = d.take(int(n)); err == nil {
				v = &value{kind: kStr, str: string(b)}
				if d.layout == layout2 {
					// Python 2: 't' is an interned byte string that
					// TYPE_STRINGREF can point back to; 'u' is unicode.
					if typ == typeInterned {
						v.kind = kBytes
						d.interns = append(d.interns, v)
					}
				}
			}
		}
	case typeShortASCII, typeShortASCIIInt:
		var n byte
		if n, err = d.byte1(); err == nil {
			var b []byte
			if b, err = d.take(int(n)); err == nil {
				v = &value{kind: kStr, str: string(b)}
			}
		}
	case typeTuple, typeSmallTuple, typeList, typeSet, typeFrozenSet:
		var n int
		if typ == typeSmallTuple {
			var b byte
			b, err = d.byte1()
			n = int(b)
		} else {
			var n32 int32
			n32, err = d.int32()
			n = int(n32)
		}
		if err == nil {
			v, err = d.sequence(typ, n)
		}
	case typeDict:
		v, err = d.dict()
	case typeSlice:
		v = &value{kind: kSlice}
		for i := 0; i < 3 && err == nil; i++ {
			var item *value
			if item, err = d.object(); err == nil {
				if item == vNull {
					err = d.failf("NULL in slice")
				}
			}
		}
	case typeCode:
		v, err = d.codeObject()
	default:
		d.pos = start
		err = d.failf("unknown type code 0x%02x", code)
	}
	if err != nil {
		return nil, err
	}
	d.fill(idx, v)
	return v, nil
}

// sequence reads the n elements of a tuple, list, set or frozenset.
func (d *decoder) sequence(typ byte, n int) (*value, error) {
	if n < 0 {
		return nil, d.failf("negative size %d", n)
	}
	// Every element takes at least one byte, so a count beyond the
	// remaining input is certainly bogus; check before allocating.
	if n > len(d.data)-d.pos {
		return nil, d.fail(fmt.Errorf("%w: %d elements declared, %d bytes left", errTruncated, n, len(d.data)-d.pos))
	}
	if n > d.lim.MaxItems-d.items {
		return nil, d.fail(fmt.Errorf("%w: container of %d elements", ErrLimit, n))
	}
	v := &value{kind: kTuple, items: make([]*value, 0, n)}
	switch typ {
	case typeList:
		v.kind = kList
	case typeSet:
		v.kind = kSet
	case typeFrozenSet:
		v.kind = kFrozenSet
	}
	for i := 0; i < n; i++ {
		item, err := d.object()
		if err != nil {
			return nil, err
		}
		if item == vNull {
			return nil, d.failf("NULL object in container")
		}
		v.items = append(v.items, item)
	}
	return v, nil
}

// dict reads key/value pairs until a NULL key (or value), as CPython does.
func (d *decoder) dict() (*value, error) {
	v := &value{kind: kDict}
	for {
		key, err := d.object()
		if err != nil {
			return nil, err
		}
		if key == vNull {
			return v, nil
		}
		val, err := d.object()
		if err != nil {
			return nil, err
		}
		if val == vNull {
			return v, nil
		}
		v.items = append(v.items, key, val)
	}
}

// codeObject reads the fields of a code object after its type byte, in the
// decoder's layout, checking each field has the type CPython requires.
func (d *decoder) codeObject() (*value, error) {
	c := &rawCode{}
	var err error
	ints := func(dst ...*int32) error {
		for _, p := range dst {
			if *p, err = d.int32(); err != nil {
				return err
			}
		}
		return nil
	}
	var nlocals, stacksize int32
	switch d.layout {
	case layout311:
		err = ints(&c.argcount, &c.posonly, &c.kwonly, &stacksize, &c.flags)
	case layout38:
		err = ints(&c.argcount, &c.posonly, &c.kwonly, &nlocals, &stacksize, &c.flags)
	case layout30:
		err = ints(&c.argcount, &c.kwonly, &nlocals, &stacksize, &c.flags)
	default:
		err = ints(&c.argcount, &nlocals, &stacksize, &c.flags)
	}
	if err != nil {
		return nil, err
	}

	if c.code, err = d.field("co_code", kBytes); err != nil {
		return nil, err
	}
	if c.consts, err = d.field("co_consts", kTuple); err != nil {
		return nil, err
	}
	if c.names, err = d.stringTuple("co_names"); err != nil {
		return nil, err
	}
	if d.layout == layout311 {
		var names []string
		if names, err = d.stringTuple("co_localsplusnames"); err != nil {
			return nil, err
		}
		var kinds *value
		if kinds, err = d.field("co_localspluskinds", kBytes); err != nil {
			return nil, err
		}
		if len(kinds.str) != len(names) {
			return nil, d.failf("co_localspluskinds has %d entries for %d names", len(kinds.str), len(names))
		}
		for i, name := range names {
			// CO_FAST_LOCAL, CO_FAST_CELL and CO_FAST_FREE; an argument
			// that nested code reads is both local and cell.
			k := kinds.str[i]
			if k&0x20 != 0 {
				c.varnames = append(c.varnames, name)
			}
			if k&0x40 != 0 {
				c.cellvars = append(c.cellvars, name)
			}
			if k&0x80 != 0 {
				c.freevars = append(c.freevars, name)
			}
		}
	} else {
		if c.varnames, err = d.stringTuple("co_varnames"); err != nil {
			return nil, err
		}
		if c.freevars, err = d.stringTuple("co_freevars"); err != nil {
			return nil, err
		}
		if c.cellvars, err = d.stringTuple("co_cellvars"); err != nil {
			return nil, err
		}
	}
	if c.filename, err = d.stringField("co_filename"); err != nil {
		return nil, err
	}
	if c.name, err = d.stringField("co_name"); err != nil {
		return nil, err
	}
	if d.layout == layout311 {
		if c.qualname, err = d.stringField("co_qualname"); err != nil {
			return nil, err
		}
	}
	if c.firstline, err = d.int32(); err != nil {
		return nil, err
	}
	if _, err = d.field("co_linetable", kBytes); err != nil {
		return nil, err
	}
	if d.layout == layout311 {
		if _, err = d.field("co_exceptiontable", kBytes); err != nil {
			return nil, err
		}
	}
	return &value{kind: kCode, code: c}, nil
}

// field reads one object and checks its kind.
func (d *decoder) field(name string, want kind) (*value, error) {
	v, err := d.object()
	if err != nil {
		return nil, err
	}
	if v.kind != want || v == vNull {
		return nil, d.failf("%s has the wrong type", name)
	}
	return v, nil
}

// isString reports whether v is a string in this layout: unicode always,
// byte strings only in Python 2.
func (d *decoder) isString(v *value) bool {
	if v == vNull {
		return false
	}
	return v.kind == kStr || (d.layout == layout2 && v.kind == kBytes)
}

func (d *decoder) stringField(name string) (string, error) {
	v, err := d.object()
	if err != nil {
		return "", err
	}
	if !d.isString(v) {
		return "", d.failf("%s is not a string", name)
	}
	return v.str, nil
}

func (d *decoder) stringTuple(name string) ([]string, error) {
	v, err := d.field(name, kTuple)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(v.items))
	for _, item := range v.items {
		if !d.isString(item) {
			return nil, d.failf("%s holds a non-string", name)
		}
		out = append(out, item.str)
	}
	return out, nil
}
