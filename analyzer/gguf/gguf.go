// Package gguf checks GGUF files (llama.cpp's format, versions 1 to 3, in
// either byte order): the header, every key/value and its type, and the
// tensor infos, which must stay within the file, be aligned and not
// overlap. Byte ranges that no tensor claims are handed back to the engine,
// so that content hidden there is scanned. The chat templates the header
// carries are extracted (Header.ChatTemplates) for the template analysis.
package gguf

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/template"
	"github.com/violet-mlsecops/violet/finding"
)

// Limits of the parser. Real files stay far below them; each is checked
// before anything is allocated.
const (
	maxString     = 64 << 20 // one string (chat templates are kilobytes)
	maxArrayDepth = 8
	maxDims       = 4 // GGML_MAX_DIMS
	maxTensors    = 1 << 20
	maxKV         = 1 << 20
	// maxTemplates bounds the chat templates (a model has one, or a few
	// named ones); a header with more is not analyzed past them.
	maxTemplates = 64
	// maxElements bounds the elements of an array of strings or arrays
	// (vocabularies hold a few hundred thousand).
	maxElements = 1 << 24
	// maxTypeID bounds the tensor type ids that may be newer than
	// ggmlTypes (ggml defines 40); a larger id, or one negative as the
	// int32 ggml reads, is no type at all.
	maxTypeID = 256
)

// Value types of key/values.
const (
	typeUint8 = iota
	typeInt8
	typeUint16
	typeInt16
	typeUint32
	typeInt32
	typeFloat32
	typeBool
	typeString
	typeArray
	typeUint64
	typeInt64
	typeFloat64
)

// scalarSize is the size of each fixed-size value type.
var scalarSize = map[uint32]uint64{
	typeUint8: 1, typeInt8: 1, typeBool: 1, typeUint16: 2, typeInt16: 2,
	typeUint32: 4, typeInt32: 4, typeFloat32: 4, typeUint64: 8, typeInt64: 8, typeFloat64: 8,
}

// ggmlTypes gives, for each tensor type of ggml, the elements per block and
// the bytes per block (llama.cpp gguf-py GGML_QUANT_SIZES, QK_K = 256).
var ggmlTypes = map[uint32]struct{ block, size uint64 }{
	0: {1, 4}, 1: {1, 2}, 2: {32, 18}, 3: {32, 20}, 6: {32, 22}, 7: {32, 24}, 8: {32, 34}, 9: {32, 40},
	10: {256, 84}, 11: {256, 110}, 12: {256, 144}, 13: {256, 176}, 14: {256, 210}, 15: {256, 292},
	16: {256, 66}, 17: {256, 74}, 18: {256, 98}, 19: {256, 50}, 20: {32, 18}, 21: {256, 110},
	22: {256, 82}, 23: {256, 136}, 24: {1, 1}, 25: {1, 2}, 26: {1, 4}, 27: {1, 8}, 28: {1, 8},
	29: {256, 56}, 30: {1, 2}, 34: {256, 54}, 35: {256, 66}, 39: {32, 17},
}

// tensorInfo is one tensor info, but its name.
type tensorInfo struct {
	// Dims are its dimensions.
	Dims []uint64
	// Type is its ggml type id.
	Type uint32
	// Offset is its offset in the data section.
	Offset uint64
}

// elements is the tensor's element count, or false when a dimension or
// the product of the dimensions does not fit the int64_t that ggml counts
// elements in.
func (t tensorInfo) elements() (uint64, bool) {
	n := uint64(1)
	for _, d := range t.Dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || d > math.MaxInt64 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// sizeStatus says why a tensor's size is not known.
type sizeStatus int

const (
	sizeOK       sizeStatus = iota
	sizeUnknown             // a type newer than ggmlTypes
	sizeBlocks              // not a whole number of blocks
	sizeOverflow            // the element count or the byte size wraps past 2^63
)

// size is the tensor's data size, with checked arithmetic throughout.
func (t tensorInfo) size() (uint64, sizeStatus) {
	n, ok := t.elements()
	if !ok {
		return 0, sizeOverflow
	}
	tt, ok := ggmlTypes[t.Type]
	if !ok {
		return 0, sizeUnknown
	}
	if n%tt.block != 0 {
		return 0, sizeBlocks
	}
	// ggml_nbytes multiplies by the block size before it divides by the
	// block length: that product must not wrap either.
	if hi, _ := bits.Mul64(n, tt.size); hi != 0 {
		return 0, sizeOverflow
	}
	hi, size := bits.Mul64(n/tt.block, tt.size)
	if hi != 0 || size > math.MaxInt64 {
		return 0, sizeOverflow
	}
	return size, sizeOK
}

// Header is a parsed GGUF header.
type Header struct {
	// Version is the format version.
	Version uint32
	// BigEndian is true for a big-endian file.
	BigEndian bool
	// Alignment is general.alignment (32 by default).
	Alignment uint64
	// Architecture is general.architecture.
	Architecture string
	// ChatTemplates maps tokenizer.chat_template keys to their templates
	// (at most maxTemplates of them).
	ChatTemplates map[string]string
	// General holds the general.* metadata (name, license, base models,
	// datasets...) whose values are strings, numbers, booleans or arrays
	// of strings, as text: a scalar is one element. At most maxGeneral
	// keys, maxGeneralItems items each, maxGeneralText bytes per item are
	// kept; the rest is skipped.
	General map[string][]string
	// TensorCount is the number of tensor infos. They are read one at a
	// time and checked as they are read; only the place of each in the
	// data section is kept, for Check.
	TensorCount uint64
	// DataOffset is where the tensor data starts.
	DataOffset uint64
	// Findings are the problems and memory-safety triggers found while
	// parsing (a tensor type no ggml defines, a size that wraps, a name
	// given twice); Check adds those that depend on the data section.
	Findings

	placed []placed // the tensors of a known size, by offset
	names  *reader  // reads a tensor's name again, for a message
}

// Findings are what is wrong with a header: its memory-safety triggers
// and its other layout problems, at most maxProblems of each (a file of a
// million tensor infos may have a million of them), and the count of the
// rest.
type Findings struct {
	// Hazards are the memory-safety triggers, in the order found.
	Hazards []Hazard
	// MoreHazards counts the hazards past maxProblems.
	MoreHazards int
	// Problems are the other layout problems, in the order found.
	Problems []string
	// MoreProblems counts the problems past maxProblems.
	MoreProblems int
}

// hazard records a trigger of class c whose detail msg writes (only when
// it is kept).
func (f *Findings) hazard(c Class, msg func() string) {
	if len(f.Hazards) >= maxProblems {
		f.MoreHazards++
		return
	}
	f.Hazards = append(f.Hazards, Hazard{c, msg()})
}

// problem records a layout problem that msg writes (only when it is
// kept).
func (f *Findings) problem(msg func() string) {
	if len(f.Problems) >= maxProblems {
		f.MoreProblems++
		return
	}
	f.Problems = append(f.Problems, msg())
}

// placed is what Check needs of a tensor of a known size: its offset in
// the data section, its size, and where its info is in the file (its name
// is read again from there for a message).
type placed struct{ offset, size, at uint64 }

// reader reads the header fields in order, within the file, through a
// window of the file read ahead.
type reader struct {
	r     io.ReaderAt
	size  uint64
	pos   uint64
	order binary.ByteOrder
	wide  bool   // version 2 and above: 64-bit counts and lengths
	win   []byte // the bytes of the file from winAt
	winAt uint64
}

// window is how many bytes reader reads ahead.
const window = 64 << 10

var errTruncated = errors.New("the header runs past the end of the file")

// next returns the n bytes at pos and moves past them. The bytes are only
// valid until the next read; the caller has checked that they are in the
// file.
func (r *reader) next(n uint64) ([]byte, error) {
	if n > window {
		b := make([]byte, n)
		if _, err := r.r.ReadAt(b, int64(r.pos)); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		r.pos += n
		return b, nil
	}
	if r.pos < r.winAt || r.pos+n > r.winAt+uint64(len(r.win)) {
		if cap(r.win) < window {
			r.win = make([]byte, window)
		}
		r.win = r.win[:min(window, r.size-r.pos)]
		k, err := r.r.ReadAt(r.win, int64(r.pos))
		if err != nil && !errors.Is(err, io.EOF) {
			r.win = r.win[:0]
			return nil, err
		}
		clear(r.win[k:]) // a file shorter than its size reads as zeros
		r.winAt = r.pos
	}
	i := r.pos - r.winAt
	r.pos += n
	return r.win[i : i+n : i+n], nil
}

func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > r.size-r.pos {
		return nil, errTruncated
	}
	return r.next(n)
}

func (r *reader) skip(n uint64) error {
	if n > r.size-r.pos {
		return errTruncated
	}
	r.pos += n
	return nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return r.order.Uint32(b), nil
}

func (r *reader) u64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return r.order.Uint64(b), nil
}

// count reads a count or a length: 32 bits in version 1, 64 after.
func (r *reader) count() (uint64, error) {
	if r.wide {
		return r.u64()
	}
	v, err := r.u32()
	return uint64(v), err
}

// strLen reads a string length and checks it against the file (a
// trigger) and against maxString (a limit of the parser).
func (r *reader) strLen() (uint64, error) {
	n, err := r.count()
	if err != nil {
		return 0, err
	}
	if n > r.size-r.pos {
		// A file cut short ends inside a string of plausible length; a
		// length no header holds is a trigger.
		if n <= maxString {
			return 0, errTruncated
		}
		return 0, hazardf(ClassStringLength, "a string length of %d bytes at offset %d runs past the end of the %d-byte file", n, r.pos-r.width(), r.size)
	}
	if n > maxString {
		return 0, fmt.Errorf("a string of %d bytes is longer than %d", n, maxString)
	}
	return n, nil
}

// width is the size of a count: 4 bytes in version 1, 8 after.
func (r *reader) width() uint64 {
	if r.wide {
		return 8
	}
	return 4
}

func (r *reader) str() (string, error) {
	b, err := r.rawStr()
	return string(b), err
}

// rawStr reads a string without copying it: valid until the next read.
func (r *reader) rawStr() ([]byte, error) {
	n, err := r.strLen()
	if err != nil {
		return nil, err
	}
	return r.bytes(n)
}

// array reads the element type and count of an array value and checks
// them against the file before anything is read or allocated.
func (r *reader) array() (elem uint32, n uint64, err error) {
	at := r.pos
	if elem, err = r.u32(); err != nil {
		return 0, 0, err
	}
	if n, err = r.count(); err != nil {
		return 0, 0, err
	}
	left := r.size - r.pos
	if size, ok := scalarSize[elem]; ok {
		if hi, total := bits.Mul64(n, size); hi != 0 || total > left {
			if hi == 0 && total <= maxString {
				return 0, 0, errTruncated // a file cut short
			}
			return 0, 0, hazardf(ClassArrayCount, "an array at offset %d declares %d elements of %d bytes, more than the %d bytes left in the file (%s)", at, n, size, left, wrapNote(hi != 0))
		}
		return elem, n, nil
	}
	var least uint64
	switch elem {
	case typeString:
		least = r.width() // a length
	case typeArray:
		least = 4 + r.width() // a type and a count
	default:
		return 0, 0, hazardf(ClassArrayType, "an array at offset %d has the element type %d, which is no GGUF value type", at, elem)
	}
	if hi, total := bits.Mul64(n, least); hi != 0 || total > left {
		if hi == 0 && n <= maxElements {
			return 0, 0, errTruncated // a file cut short
		}
		return 0, 0, hazardf(ClassStringArrayCount, "an array at offset %d declares %d %s elements, more than the %d bytes left in the file can hold (%s)", at, n, typeName(elem), left, wrapNote(hi != 0))
	}
	return elem, n, nil
}

func wrapNote(wraps bool) string {
	if wraps {
		return "the byte count wraps past 2^64"
	}
	return "the byte count does not wrap, but no file holds it"
}

func typeName(t uint32) string {
	if t == typeArray {
		return "array"
	}
	return "string"
}

// ParseHeader reads the header of a GGUF file of size bytes.
func ParseHeader(ra io.ReaderAt, size int64) (*Header, error) {
	if size < 24 {
		return nil, errors.New("file is too short for a GGUF header")
	}
	r := &reader{r: ra, size: uint64(size), order: binary.LittleEndian}
	magic, err := r.bytes(4)
	if err != nil || string(magic) != "GGUF" {
		return nil, errors.New("no GGUF magic")
	}
	h := &Header{Alignment: 32, ChatTemplates: map[string]string{}, General: map[string][]string{}}
	v, _ := r.u32()
	if v == 0 || v > 3 {
		if be := bits.ReverseBytes32(v); be >= 1 && be <= 3 {
			r.order, v, h.BigEndian = binary.BigEndian, be, true
		} else {
			return nil, fmt.Errorf("unknown GGUF version %d", v)
		}
	}
	h.Version, r.wide = v, v >= 2
	nTensors, err := r.count()
	if err != nil {
		return nil, err
	}
	nKV, err := r.count()
	if err != nil {
		return nil, err
	}
	left := r.size - r.pos
	// Counts beyond the limits and beyond what the file can hold are
	// triggers; smaller ones in a file cut short are not.
	if hi, lo := bits.Mul64(nKV, r.width()+4+1); nKV > maxKV && (hi != 0 || lo > left) {
		return nil, hazardf(ClassKVCount, "the header declares %d key/values, more than the %d bytes of the file can hold", nKV, left)
	}
	if hi, lo := bits.Mul64(nTensors, r.width()+4+4+8); nTensors > maxTensors && (hi != 0 || lo > left) {
		return nil, hazardf(ClassTensorCount, "the header declares %d tensor infos, more than the %d bytes of the file can hold", nTensors, left)
	}
	if nTensors > maxTensors || nKV > maxKV {
		return nil, fmt.Errorf("the header declares %d tensors and %d key/values, more than any model", nTensors, nKV)
	}
	for i := uint64(0); i < nKV; i++ {
		if err := h.readKV(r); err != nil {
			return nil, fmt.Errorf("key/value %d: %w", i, err)
		}
	}
	if err := h.readTensors(r, nTensors); err != nil {
		return nil, err
	}
	h.DataOffset = alignUp(r.pos, h.Alignment)
	return h, nil
}

// nameKey is a tensor name's hash and the position of its tensor info.
type nameKey struct{ hash, at uint64 }

// readTensors reads the n tensor infos one at a time, checks each as it
// is read, and keeps the place of those of a known size (24 bytes each)
// and the hash of every name (16 bytes each): the memory grows with the
// tensors that the file holds, up to maxTensors, and no more.
func (h *Header) readTensors(r *reader, n uint64) error {
	h.TensorCount = n
	h.names = &reader{r: r.r, size: r.size, order: r.order, wide: r.wide}
	// Room for the infos that the rest of the file can hold, at most n.
	room := min(n, (r.size-r.pos)/(r.width()+4+4+8))
	h.placed = make([]placed, 0, room)
	keys := make([]nameKey, 0, room)
	seed := maphash.MakeSeed()
	var total uint64 // the sum of the padded sizes, as ggml's ctx->size
	totalWraps := false
	var buf tensorBuf
	for i := uint64(0); i < n; i++ {
		at := r.pos
		name, t, err := readTensor(r, &buf)
		if err != nil {
			return fmt.Errorf("tensor info %d: %w", i, err)
		}
		keys = append(keys, nameKey{maphash.Bytes(seed, name), at})
		h.checkTensor(name, t, at, &total, &totalWraps)
	}
	h.duplicates(keys)
	slices.SortFunc(h.placed, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.at, b.at))
	})
	return nil
}

// checkTensor checks what a tensor info says of itself (its type, its
// alignment, its size) and keeps the place of a tensor of a known size.
// total sums the padded sizes until they wrap.
func (h *Header) checkTensor(name []byte, t tensorInfo, at uint64, total *uint64, totalWraps *bool) {
	if t.Type >= maxTypeID {
		h.hazard(ClassTensorType, func() string {
			return fmt.Sprintf("tensor %q has the type id %d (%d as ggml's int32), which no ggml version defines", name, t.Type, int32(t.Type))
		})
		return
	}
	if t.Offset%h.Alignment != 0 {
		h.problem(func() string {
			return fmt.Sprintf("tensor %q at offset %d is not aligned to %d bytes", name, t.Offset, h.Alignment)
		})
	}
	n, status := t.size()
	switch status {
	case sizeOverflow:
		h.hazard(ClassTensorSize, func() string {
			return fmt.Sprintf("tensor %q has dimensions %v of type %d, whose element count or byte size wraps past 2^63", name, t.Dims, t.Type)
		})
		return
	case sizeBlocks:
		h.problem(func() string {
			return fmt.Sprintf("tensor %q: its dimensions are not a whole number of blocks of its type", name)
		})
		return
	case sizeUnknown:
		return // a type newer than ggmlTypes: its size is unknown
	}
	if !*totalWraps {
		padded, ok := alignUpChecked(n, h.Alignment)
		var carry uint64
		*total, carry = bits.Add64(*total, padded, 0)
		if !ok || carry != 0 {
			*totalWraps = true
			h.hazard(ClassTotalSize, func() string {
				return fmt.Sprintf("the padded sizes of the tensors up to %q add up past 2^64", name)
			})
		}
	}
	h.placed = append(h.placed, placed{t.Offset, n, at})
}

// duplicates reports each tensor name given again: the keys sorted by
// hash, each run of equal hashes is read again from the file and compared
// (two names of the same hash are not the same name).
func (h *Header) duplicates(keys []nameKey) {
	slices.SortFunc(keys, func(a, b nameKey) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.at, b.at))
	})
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].hash == keys[i].hash {
			j++
		}
		if j-i > 1 {
			seen := map[string]bool{}
			for _, k := range keys[i:j] {
				name := h.name(k.at)
				if seen[name] {
					h.hazard(ClassDuplicateName, func() string { return fmt.Sprintf("the tensor name %q appears twice", name) })
				}
				seen[name] = true
			}
		}
		i = j
	}
}

// name reads again the name of the tensor info at the position at.
func (h *Header) name(at uint64) string {
	h.names.pos = at
	s, err := h.names.str()
	if err != nil {
		return fmt.Sprintf("at offset %d", at) // read before: cannot fail
	}
	return s
}

// alignUp rounds n up to a multiple of a; n stays below the file size,
// so that the sum cannot wrap (alignUpChecked is for sums of sizes).
func alignUp(n, a uint64) uint64 {
	v, _ := alignUpChecked(n, a)
	return v
}

// alignUpChecked rounds n up to a multiple of a, or returns false when the
// result wraps past 2^64.
func alignUpChecked(n, a uint64) (uint64, bool) {
	if a == 0 || n%a == 0 {
		return n, true
	}
	v, carry := bits.Add64(n, a-n%a, 0)
	return v, carry == 0
}

func (h *Header) readKV(r *reader) error {
	key, err := r.str()
	if err != nil {
		return err
	}
	typ, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case key == "general.alignment":
		if typ != typeUint32 {
			return errors.New("general.alignment is not a uint32")
		}
		a, err := r.u32()
		if err != nil {
			return err
		}
		if a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("general.alignment %d is not a power of two", a)
		}
		h.Alignment = uint64(a)
		return nil
	case typ == typeString && (key == "general.architecture" || key == "tokenizer.chat_template" || strings.HasPrefix(key, "tokenizer.chat_template.")):
		s, err := r.str()
		if err != nil {
			return err
		}
		if key == "general.architecture" {
			h.Architecture = s
			return nil
		}
		if len(h.ChatTemplates) >= maxTemplates {
			return fmt.Errorf("more than %d chat templates", maxTemplates)
		}
		name := key
		for n := 2; ; n++ {
			if _, ok := h.ChatTemplates[name]; !ok {
				break
			}
			// A key given twice: a loader may use either, both are checked.
			name = fmt.Sprintf("%s (#%d)", key, n)
		}
		h.ChatTemplates[name] = s
		return nil
	case strings.HasPrefix(key, "general.") && len(h.General) < maxGeneral:
		return h.readGeneral(r, key, typ)
	}
	return skipValue(r, typ, 0)
}

// Bounds of the general.* metadata kept.
const (
	maxGeneral      = 256
	maxGeneralItems = 256
	maxGeneralText  = 4096
)

// readGeneral keeps a general.* value as text: a scalar, or an array of
// scalars (nested arrays are skipped).
func (h *Header) readGeneral(r *reader, key string, typ uint32) error {
	if typ != typeArray {
		v, err := scalarText(r, typ)
		if err != nil {
			return err
		}
		h.General[key] = []string{v}
		return nil
	}
	elem, n, err := r.array()
	if err != nil {
		return err
	}
	if elem == typeArray {
		// Rewind is not possible: skip the elements one by one.
		for i := uint64(0); i < n; i++ {
			if err := skipValue(r, elem, 1); err != nil {
				return err
			}
		}
		return nil
	}
	var items []string
	for i := uint64(0); i < n; i++ {
		if i >= maxGeneralItems {
			if err := skipValue(r, elem, 1); err != nil {
				return err
			}
			continue
		}
		v, err := scalarText(r, elem)
		if err != nil {
			return err
		}
		items = append(items, v)
	}
	h.General[key] = items
	return nil
}

// scalarText reads one scalar or string value as text.
func scalarText(r *reader, typ uint32) (string, error) {
	if typ == typeString {
		s, err := r.str()
		if len(s) > maxGeneralText {
			s = s[:maxGeneralText]
		}
		return s, err
	}
	n, ok := scalarSize[typ]
	if !ok {
		return "", fmt.Errorf("unknown value type %d", typ)
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	var u uint64
	switch n {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(r.order.Uint16(b))
	case 4:
		u = uint64(r.order.Uint32(b))
	default:
		u = r.order.Uint64(b)
	}
	switch typ {
	case typeBool:
		return strconv.FormatBool(u != 0), nil
	case typeInt8:
		return strconv.FormatInt(int64(int8(u)), 10), nil
	case typeInt16:
		return strconv.FormatInt(int64(int16(u)), 10), nil
	case typeInt32:
		return strconv.FormatInt(int64(int32(u)), 10), nil
	case typeInt64:
		return strconv.FormatInt(int64(u), 10), nil
	case typeFloat32:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(u))), 'g', -1, 32), nil
	case typeFloat64:
		return strconv.FormatFloat(math.Float64frombits(u), 'g', -1, 64), nil
	}
	return strconv.FormatUint(u, 10), nil
}

// skipValue reads past a value of type typ without keeping it.
func skipValue(r *reader, typ uint32, depth int) error {
	if n, ok := scalarSize[typ]; ok {
		return r.skip(n)
	}
	switch typ {
	case typeString:
		n, err := r.strLen()
		if err != nil {
			return err
		}
		return r.skip(n)
	case typeArray:
		if depth >= maxArrayDepth {
			return fmt.Errorf("arrays nested deeper than %d", maxArrayDepth)
		}
		elem, n, err := r.array()
		if err != nil {
			return err
		}
		if size, ok := scalarSize[elem]; ok {
			return r.skip(n * size) // r.array checked the product
		}
		for i := uint64(0); i < n; i++ {
			if err := skipValue(r, elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown value type %d", typ)
}

// tensorBuf holds the name and the dimensions of the tensor info last
// read, reused from one info to the next.
type tensorBuf struct {
	name []byte
	dims [maxDims]uint64
}

// readTensor reads a tensor info into buf: its name and its dimensions
// are valid until the next call.
func readTensor(r *reader, buf *tensorBuf) ([]byte, tensorInfo, error) {
	name, err := r.rawStr()
	if err != nil {
		return nil, tensorInfo{}, err
	}
	buf.name = append(buf.name[:0], name...) // the next read may move the window
	nDims, err := r.u32()
	if err != nil {
		return nil, tensorInfo{}, err
	}
	if nDims > maxDims {
		return nil, tensorInfo{}, hazardf(ClassDims, "tensor %q has %d dimensions, more than GGML_MAX_DIMS (%d)", buf.name, nDims, maxDims)
	}
	t := tensorInfo{Dims: buf.dims[:nDims]}
	for i := range t.Dims {
		if t.Dims[i], err = r.count(); err != nil {
			return nil, tensorInfo{}, err
		}
	}
	if t.Type, err = r.u32(); err != nil {
		return nil, tensorInfo{}, err
	}
	if t.Offset, err = r.u64(); err != nil {
		return nil, tensorInfo{}, err
	}
	return buf.name, t, nil
}

// span is a byte range of the file.
type span struct{ begin, end uint64 }

// Check returns what is wrong with the tensors of a file of size bytes
// (what parsing found, then the tensors whose data is not within the file,
// overlap or leave bytes unclaimed), and the ranges of the data section
// that no tensor claims (beyond the alignment padding). Every size
// computed from the header is checked for overflow.
func (h *Header) Check(size uint64) (Findings, []span) {
	f := Findings{Hazards: slices.Clone(h.Hazards), MoreHazards: h.MoreHazards,
		Problems: slices.Clone(h.Problems), MoreProblems: h.MoreProblems}
	var unclaimed []span
	pos := h.DataOffset
	inFile := h.DataOffset <= size
	last := false                // some tensor is within the file
	for _, t := range h.placed { // by offset
		begin, carry := bits.Add64(h.DataOffset, t.offset, 0)
		if carry != 0 {
			f.hazard(ClassPastEOF, func() string {
				return fmt.Sprintf("tensor %q: the data section start (%d) plus its offset (%d) wraps past 2^64", h.name(t.at), h.DataOffset, t.offset)
			})
			continue
		}
		end, carry := bits.Add64(begin, t.size, 0)
		switch {
		case carry != 0:
			f.hazard(ClassPastEOF, func() string {
				return fmt.Sprintf("tensor %q: its offset (%d) plus its size (%d bytes) wraps past 2^64", h.name(t.at), t.offset, t.size)
			})
			continue
		case end > size:
			f.hazard(ClassPastEOF, func() string {
				return fmt.Sprintf("tensor %q (%d bytes at offset %d of the data section) ends at byte %d of a %d-byte file", h.name(t.at), t.size, t.offset, end, size)
			})
			continue
		}
		if !inFile {
			continue
		}
		last = true
		switch {
		case begin < pos:
			f.problem(func() string { return fmt.Sprintf("tensor %q overlaps the tensor before it", h.name(t.at)) })
		case begin > alignUp(pos, h.Alignment):
			f.problem(func() string {
				return fmt.Sprintf("%d bytes before tensor %q belong to no tensor", begin-pos, h.name(t.at))
			})
			unclaimed = appendSpan(unclaimed, span{pos, begin})
		}
		pos = max(pos, end)
	}
	if end := alignUp(pos, h.Alignment); inFile && end < size && last {
		f.problem(func() string { return fmt.Sprintf("%d bytes after the last tensor belong to no tensor", size-pos) })
		unclaimed = append(unclaimed, span{pos, size})
	}
	return f, unclaimed
}

// appendSpan appends sp to spans, doubling their room as they grow (a
// million gaps allocate twice their size, not five times in copies).
func appendSpan(spans []span, sp span) []span {
	if len(spans) == cap(spans) {
		spans = slices.Grow(spans, max(len(spans), 16))
	}
	return append(spans, sp)
}

// checkTemplates runs the chat templates of the header through the
// template analysis: a model served by llama.cpp's Python bindings renders
// them in Jinja.
func checkTemplates(rep analyzer.Reporter, h *Header) {
	keys := make([]string, 0, len(h.ChatTemplates))
	for k := range h.ChatTemplates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		issues, err := template.CheckTemplate(h.ChatTemplates[k])
		if err != nil {
			rep.Report(finding.FormatMalformed, -1, "The chat template "+k+" does not parse: "+err.Error()+".", "")
			continue
		}
		for _, is := range issues {
			rep.Report(is.Kind.Rule(), -1, "Chat template "+k+": "+is.Message, is.Evidence)
		}
	}
}

// Analyzer checks GGUF files.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "gguf"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "2" }

// Sniff checks the magic and a known version in either byte order.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	h := in.Head
	if len(h) < 8 || !bytes.HasPrefix(h, []byte("GGUF")) {
		return false
	}
	le, be := binary.LittleEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[4:])
	return le >= 1 && le <= 3 || be >= 1 && be <= 3
}

// maxProblems bounds the layout findings of one file, and the
// memory-safety findings.
const maxProblems = 20

// reportHazards reports one GGUF-MEMORY-SAFETY finding per trigger, each
// naming the loader and the advisory, then one that counts the triggers
// past maxProblems.
func reportHazards(rep analyzer.Reporter, hazards []Hazard, more int) {
	for _, h := range hazards {
		rep.Report(finding.GGUFMemorySafety, -1, "The GGUF header corrupts the memory of GGUF loaders: "+h.Message()+".", "")
	}
	reportMore(rep, finding.GGUFMemorySafety, more)
}

// reportMore reports the count of the findings of rule id past
// maxProblems, as analyzer.Reporter.ReportEach words it.
func reportMore(rep analyzer.Reporter, id string, more int) {
	if more > 0 {
		rep.Report(id, -1, fmt.Sprintf("%d more problems like these.", more), "")
	}
}

// Analyze parses the header, reports its problems, and hands unclaimed
// bytes to the engine.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("gguf")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	h, err := ParseHeader(ra, size)
	if err != nil {
		var hz *HazardError
		if errors.As(err, &hz) {
			reportHazards(rep, []Hazard{hz.Hazard}, 0)
			rep.Report(finding.FormatMalformed, -1, "The GGUF header was not read past a field that corrupts the memory of GGUF loaders: "+err.Error()+".", "")
			return nil
		}
		rep.Report(finding.FormatMalformed, -1, "The GGUF header is malformed: "+err.Error()+".", "")
		return nil
	}
	checkTemplates(rep, h)
	f, unclaimed := h.Check(uint64(size))
	reportHazards(rep, f.Hazards, f.MoreHazards)
	for _, p := range f.Problems {
		rep.Report(finding.GGUFLayout, -1, "The GGUF header does not describe the data honestly: "+p+".", "")
	}
	reportMore(rep, finding.GGUFLayout, f.MoreProblems)
	for _, s := range unclaimed {
		if s.end <= s.begin || s.end-s.begin > math.MaxInt64 {
			continue
		}
		if err := out.Member(ctx, analyzer.Unclaimed(ra, int64(s.begin), int64(s.end-s.begin))); err != nil {
			return err
		}
	}
	return nil
}
