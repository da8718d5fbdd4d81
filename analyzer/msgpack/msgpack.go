// Package msgpack checks msgpack files, such as Flax checkpoints written by
// flax.serialization.to_bytes, without loading them: it decodes the whole
// stream, reports extension types Flax does not write and ndarray payloads
// whose shape and dtype disagree with their data, and rejects truncated or
// invalid encodings.
package msgpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Limits of the decoder.
const (
	maxDepth      = 128     // nesting of arrays, maps and extension payloads
	maxElems      = 1 << 24 // values in one file
	maxKey        = 256     // bytes of a key kept for the key path
	maxCollect    = 64      // array items kept while checking an ndarray payload
	maxExtReports = 100     // extension findings reported one by one
	bufSize       = 64 << 10
)

// Flax's extension codes (flax/serialization.py, _MsgpackExtType).
const (
	extNDArray       = 1
	extNativeComplex = 2
	extNPScalar      = 3
)

// itemSizes are the byte sizes of the dtypes Flax writes, by dtype name.
var itemSizes = map[string]int64{
	"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
	"int32": 4, "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8,
	"complex64": 8, "complex128": 16,
	"int2": 1, "uint2": 1, "int4": 1, "uint4": 1, "float4_e2m1fn": 1,
	"float6_e2m3fn": 1, "float6_e3m2fn": 1, "float8_e3m4": 1, "float8_e4m3": 1,
	"float8_e4m3b11fnuz": 1, "float8_e4m3fn": 1, "float8_e4m3fnuz": 1, "float8_e5m2": 1,
	"float8_e5m2fnuz": 1, "float8_e8m0fnu": 1,
}

// Analyzer checks msgpack files and Flax checkpoints.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "msgpack"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// Sniff accepts a file named *.msgpack, or one that starts with a msgpack
// map and whose head decodes cleanly to at least three key/value pairs with
// UTF-8 string keys (at any depth; a value cut short by the end of the head
// counts), every key being a string.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	h := in.Head
	if len(h) == 0 {
		return false
	}
	if strings.HasSuffix(strings.ToLower(in.Name), ".msgpack") {
		return true
	}
	if !(h[0] >= 0x80 && h[0] <= 0x8f || h[0] == 0xde || h[0] == 0xdf) {
		return false
	}
	hr := &headReader{h}
	r := &reader{ra: hr, size: int64(len(h)), end: int64(len(h))}
	d := &decoder{ctx: context.Background(), r: r, sniff: true}
	_, err := d.value(0, 0)
	if err != nil {
		var m *malformed
		// Only running out of head in a longer file is acceptable.
		if !errors.As(err, &m) || !m.past || in.Size == int64(len(h)) {
			return false
		}
	}
	return d.pairs >= 3
}

type headReader struct{ b []byte }

func (h *headReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(h.b)) {
		return 0, io.EOF
	}
	n := copy(p, h.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Analyze decodes the whole file.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("msgpack")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	r := &reader{ra: ra, size: size, end: size}
	d := &decoder{ctx: ctx, r: r, rep: rep}
	_, err = d.value(0, 0)
	if err == nil && r.off < size {
		err = &malformed{off: r.off, msg: fmt.Sprintf("%d trailing bytes follow the top-level value", size-r.off)}
	}
	if d.extCount > maxExtReports {
		rep.Report(finding.MsgpackExtension, -1,
			fmt.Sprintf("The file holds %d unexpected extension values in all; only the first %d were reported one by one.", d.extCount, maxExtReports), "")
	}
	var m *malformed
	if errors.As(err, &m) {
		rep.Report(finding.FormatMalformed, m.off, "The msgpack data is malformed: "+m.msg+".", "")
		return nil
	}
	return err
}

// malformed is an invalid encoding at a byte offset.
type malformed struct {
	off int64
	msg string
	// past is set when a value runs past the end of the file (not of an
	// extension payload): in a head, the rest of the file may hold it.
	past bool
}

func (m *malformed) Error() string { return fmt.Sprintf("offset %d: %s", m.off, m.msg) }

// reader reads a ReaderAt sequentially through a window, never past end.
type reader struct {
	ra     io.ReaderAt
	off    int64 // next byte
	end    int64 // end of the current range (the file or an extension payload)
	size   int64
	ext    int // extension payloads entered
	buf    []byte
	bufOff int64
}

func (r *reader) need(n int64, what string) error {
	if n < 0 || n > r.end-r.off {
		scope := "the file"
		if r.ext > 0 {
			scope = "its extension payload"
		}
		return &malformed{off: r.off, past: r.ext == 0,
			msg: fmt.Sprintf("%s of %d bytes runs past the end of %s (%d bytes left)", what, n, scope, r.end-r.off)}
	}
	return nil
}

// bytes returns the next n bytes (n is small) and advances past them.
func (r *reader) bytes(n int, what string) ([]byte, error) {
	if err := r.need(int64(n), what); err != nil {
		return nil, err
	}
	if r.off < r.bufOff || r.off+int64(n) > r.bufOff+int64(len(r.buf)) {
		want := int64(max(n, bufSize))
		want = min(want, r.size-r.off)
		if cap(r.buf) < int(want) {
			r.buf = make([]byte, want)
		}
		r.buf = r.buf[:want]
		k, err := r.ra.ReadAt(r.buf, r.off)
		if k < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading msgpack at offset %d: %w", r.off, err)
		}
		r.buf, r.bufOff = r.buf[:k], r.off
	}
	s := r.buf[r.off-r.bufOff : r.off-r.bufOff+int64(n)]
	r.off += int64(n)
	return s, nil
}

func (r *reader) skip(n int64, what string) error {
	if err := r.need(n, what); err != nil {
		return err
	}
	r.off += n
	return nil
}

// uint reads a big-endian unsigned integer of k bytes.
func (r *reader) uint(k int, what string) (uint64, error) {
	b, err := r.bytes(k, what)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

type kind uint8

const (
	kNil kind = iota
	kBool
	kInt
	kFloat
	kStr
	kBin
	kArray
	kMap
	kExt
)

// val is what the decoder keeps of a value.
type val struct {
	kind kind
	i    int64  // kInt (big is set when it does not fit)
	big  bool   // an unsigned integer above MaxInt64
	s    string // kStr: the first maxKey bytes
	n    int64  // length of a str, bin or ext, count of an array or map
	// items are the items of an array, when collected and at most maxCollect.
	items []val
	full  bool // items holds every item
}

type decoder struct {
	ctx      context.Context
	r        *reader
	rep      analyzer.Reporter
	sniff    bool
	elems    int
	pairs    int // map pairs with UTF-8 string keys
	path     []string
	extCount int
}

func (d *decoder) keyPath() string {
	if len(d.path) == 0 {
		return "(top level)"
	}
	p := strings.Join(d.path, "/")
	if len(p) > 1024 {
		p = p[:1024] + "..."
	}
	return p
}

// value decodes one value; collect is how many levels of arrays keep their
// items.
func (d *decoder) value(depth, collect int) (val, error) {
	r := d.r
	if depth > maxDepth {
		return val{}, &malformed{off: r.off, msg: fmt.Sprintf("values nest deeper than %d levels", maxDepth)}
	}
	d.elems++
	if d.elems > maxElems {
		return val{}, &malformed{off: r.off, msg: fmt.Sprintf("the file holds more than %d values", maxElems)}
	}
	if d.elems&4095 == 0 {
		if err := d.ctx.Err(); err != nil {
			return val{}, err
		}
	}
	start := r.off
	bs, err := r.bytes(1, "a value")
	if err != nil {
		return val{}, err
	}
	b := bs[0]
	switch {
	case b <= 0x7f:
		return val{kind: kInt, i: int64(b)}, nil
	case b >= 0xe0:
		return val{kind: kInt, i: int64(int8(b))}, nil
	case b <= 0x8f:
		return d.mapBody(depth, int64(b&0x0f))
	case b <= 0x9f:
		return d.arrayBody(depth, collect, int64(b&0x0f))
	case b <= 0xbf:
		return d.str(int64(b & 0x1f))
	}
	switch b {
	case 0xc0:
		return val{kind: kNil}, nil
	case 0xc1:
		return val{}, &malformed{off: start, msg: "the reserved byte 0xc1 is used"}
	case 0xc2, 0xc3:
		return val{kind: kBool}, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.uint(1<<(b-0xc4), "a bin length")
		if err != nil {
			return val{}, err
		}
		if err := r.skip(int64(min(n, math.MaxInt64)), "a bin"); err != nil {
			return val{}, err
		}
		return val{kind: kBin, n: int64(n)}, nil
	case 0xc7, 0xc8, 0xc9:
		n, err := r.uint(1<<(b-0xc7), "an ext length")
		if err != nil {
			return val{}, err
		}
		return d.ext(depth, start, int64(n))
	case 0xca, 0xcb:
		if err := r.skip(int64(4<<(b-0xca)), "a float"); err != nil {
			return val{}, err
		}
		return val{kind: kFloat}, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uint(1<<(b-0xcc), "an unsigned integer")
		if err != nil {
			return val{}, err
		}
		return val{kind: kInt, i: int64(v), big: v > math.MaxInt64}, nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		k := 1 << (b - 0xd0)
		v, err := r.uint(k, "an integer")
		if err != nil {
			return val{}, err
		}
		shift := uint(64 - 8*k)
		return val{kind: kInt, i: int64(v<<shift) >> shift}, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(depth, start, int64(1)<<(b-0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := r.uint(1<<(b-0xd9), "a str length")
		if err != nil {
			return val{}, err
		}
		return d.str(int64(n))
	case 0xdc, 0xdd:
		n, err := r.uint(2<<(b-0xdc), "an array length")
		if err != nil {
			return val{}, err
		}
		return d.arrayBody(depth, collect, int64(n))
	default: // 0xde, 0xdf
		n, err := r.uint(2<<(b-0xde), "a map length")
		if err != nil {
			return val{}, err
		}
		return d.mapBody(depth, int64(n))
	}
}

func (d *decoder) str(n int64) (val, error) {
	if err := d.r.need(n, "a str"); err != nil {
		return val{}, err
	}
	k := min(n, maxKey)
	b, err := d.r.bytes(int(k), "a str")
	if err != nil {
		return val{}, err
	}
	v := val{kind: kStr, s: string(b), n: n}
	return v, d.r.skip(n-k, "a str")
}

func (d *decoder) arrayBody(depth, collect int, n int64) (val, error) {
	// Every item takes at least one byte.
	if err := d.r.need(n, "an array of as many items"); err != nil {
		return val{}, err
	}
	v := val{kind: kArray, n: n, full: collect > 0 && n <= maxCollect}
	for i := int64(0); i < n; i++ {
		item, err := d.value(depth+1, collect-1)
		if err != nil {
			return val{}, err
		}
		if v.full {
			v.items = append(v.items, item)
		}
	}
	return v, nil
}

func (d *decoder) mapBody(depth int, n int64) (val, error) {
	// Every pair takes at least two bytes.
	if n > math.MaxInt64/2 {
		n = math.MaxInt64 / 2
	}
	if err := d.r.need(2*n, "a map of as many pairs"); err != nil {
		return val{}, err
	}
	for i := int64(0); i < n; i++ {
		keyOff := d.r.off
		k, err := d.value(depth+1, 0)
		if err != nil {
			return val{}, err
		}
		var seg string
		switch {
		case k.kind == kStr:
			seg = k.s
		case d.sniff:
			return val{}, &malformed{off: keyOff, msg: "a map key is not a string"}
		case k.kind == kInt && !k.big:
			seg = strconv.FormatInt(k.i, 10)
		case k.kind == kInt:
			seg = strconv.FormatUint(uint64(k.i), 10)
		default:
			seg = "?"
		}
		if d.sniff && !utf8.ValidString(k.s) {
			return val{}, &malformed{off: keyOff, msg: "a map key is not UTF-8"}
		}
		d.path = append(d.path, seg)
		_, err = d.value(depth+1, 0)
		d.path = d.path[:len(d.path)-1]
		// A value cut short by the end of a head still counts for Sniff:
		// the first leaf of a checkpoint is often larger than the head.
		var m *malformed
		if k.kind == kStr && (err == nil || errors.As(err, &m) && m.past) {
			d.pairs++
		}
		if err != nil {
			return val{}, err
		}
	}
	return val{kind: kMap, n: n}, nil
}

// ext decodes an extension value of n payload bytes; the type byte is next.
func (d *decoder) ext(depth int, start, n int64) (val, error) {
	r := d.r
	tb, err := r.bytes(1, "an ext type")
	if err != nil {
		return val{}, err
	}
	code := int8(tb[0])
	if err := r.need(n, "an ext payload"); err != nil {
		return val{}, err
	}
	switch code {
	case extNDArray, extNativeComplex, extNPScalar:
	default:
		if !d.sniff {
			d.extReport(start, fmt.Sprintf("The msgpack data holds a value of extension type %d, which Flax does not write.", code),
				fmt.Sprintf("ext %d at %s", code, d.keyPath()))
		}
		return val{kind: kExt, n: n}, r.skip(n, "an ext payload")
	}
	saved := r.end
	r.end = r.off + n
	r.ext++
	payload := r.off
	collect := 0
	if code == extNDArray {
		collect = 2
	}
	pv, err := d.value(depth+1, collect)
	if err != nil {
		return val{}, err
	}
	if r.off != r.end {
		return val{}, &malformed{off: r.off, msg: fmt.Sprintf("%d bytes follow the value in an ext %d payload", r.end-r.off, code)}
	}
	r.ext--
	r.end = saved
	if code == extNDArray && !d.sniff {
		if why := checkNDArray(pv); why != "" {
			d.extReport(payload, "A Flax ndarray extension value is inconsistent: "+why+".",
				fmt.Sprintf("ext %d at %s", code, d.keyPath()))
		}
	}
	return val{kind: kExt, n: n}, nil
}

func (d *decoder) extReport(off int64, message, evidence string) {
	d.extCount++
	if d.extCount <= maxExtReports {
		d.rep.Report(finding.MsgpackExtension, off, message, evidence)
	}
}

// checkNDArray checks an ndarray payload, [shape, dtype name, data], and
// says what is wrong with it, or "".
func checkNDArray(v val) string {
	if v.kind != kArray || !v.full || len(v.items) != 3 {
		return "the payload is not [shape, dtype, data]"
	}
	shape, dtype, data := v.items[0], v.items[1], v.items[2]
	if shape.kind != kArray || !shape.full {
		return "the shape is not a short array"
	}
	if dtype.kind != kStr {
		return "the dtype is not a string"
	}
	if data.kind != kBin {
		return "the data is not bin"
	}
	count := uint64(1)
	overflow := false
	for _, dim := range shape.items {
		if dim.kind != kInt || dim.big || dim.i < 0 {
			return "the shape holds something other than non-negative integers"
		}
		hi, lo := bits.Mul64(count, uint64(dim.i))
		if hi != 0 {
			overflow = true
		}
		count = lo
	}
	size, ok := itemSizes[dtype.s]
	if !ok {
		return "" // a dtype whose size is not known here: nothing to compare
	}
	hi, want := bits.Mul64(count, uint64(size))
	if overflow || hi != 0 || want != uint64(data.n) {
		dims := make([]string, len(shape.items))
		for i, dim := range shape.items {
			dims[i] = strconv.FormatInt(dim.i, 10)
		}
		return fmt.Sprintf("shape (%s) of %s needs %s bytes, the data has %d", strings.Join(dims, ", "), dtype.s,
			map[bool]string{true: "more than 2^64", false: strconv.FormatUint(want, 10)}[overflow || hi != 0], data.n)
	}
	return ""
}
