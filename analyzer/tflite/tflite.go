// Package tflite checks TensorFlow Lite models without loading them: it
// reads the model's flatbuffer by hand, with every offset, vtable, vector
// and string bounds-checked, and reports the custom operators the model
// needs and any structure that breaks the format.
package tflite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Limits of the walk.
const (
	// maxFlatbuffer is the largest flatbuffer (FLATBUFFERS_MAX_BUFFER_SIZE,
	// 2 GiB - 1). Larger models keep their weights past the flatbuffer, in
	// the file, through Buffer.offset and Buffer.size.
	maxFlatbuffer = 1<<31 - 1
	// maxElems bounds the element count of one vector.
	maxElems = 1 << 20
	// maxDepth bounds how deep tables nest.
	maxDepth = 64
	// maxTables bounds the tables read in all, so that many vectors of
	// many tables cannot make the walk slow.
	maxTables = 1 << 22
)

// Builtin operator codes.
const (
	// BuiltinCustom is BuiltinOperator CUSTOM: the operator's kernel is
	// registered by the application, named by custom_code.
	BuiltinCustom = 32
	// MaxBuiltin bounds the builtin codes taken as defined by TFLite. The
	// schema defines codes up to a little over 200 (the StableHLO operators
	// are the latest); 210 leaves room for a few recent additions, and a
	// code above it needs a kernel no TFLite runtime ships.
	MaxBuiltin = 210
)

// OperatorCode is one entry of Model.operator_codes.
type OperatorCode struct {
	// Builtin is the effective builtin code: the larger of
	// deprecated_builtin_code and builtin_code, as TFLite reads it.
	Builtin int32
	// Custom is custom_code; HasCustom says whether it is present.
	Custom    string
	HasCustom bool
	// Version is the operator version.
	Version int32
	// Offset is where the OperatorCode table is in the file.
	Offset int64
}

// IsCustom reports whether the operator needs a kernel that TFLite does
// not ship: CUSTOM, a custom_code, or a builtin code beyond MaxBuiltin.
func (c OperatorCode) IsCustom() bool {
	return c.Builtin == BuiltinCustom || c.HasCustom || c.Builtin < 0 || c.Builtin > MaxBuiltin
}

// Model is what the walk found.
type Model struct {
	// Version is the schema version of the model.
	Version uint32
	// Description is the model's description.
	Description string
	// OperatorCodes are the operator codes, in order.
	OperatorCodes []OperatorCode
	// Subgraphs, Operators and Buffers count what the model holds.
	Subgraphs, Operators, Buffers int
}

// MalformedError says where and how a model breaks the format.
type MalformedError struct {
	// Offset is the byte offset of the broken structure.
	Offset int64
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *MalformedError) Error() string {
	return e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10)
}

// Parse reads the flatbuffer of a TFLite model. data holds the file's
// bytes (at least its flatbuffer); fileSize is the size of the whole file,
// which Buffer.offset and Buffer.size must stay inside. Parse returns the
// model, as complete as it could read it, and a *MalformedError when the
// model breaks the format.
func Parse(data []byte, fileSize int64) (*Model, error) {
	m := &Model{}
	if len(data) > maxFlatbuffer {
		data = data[:maxFlatbuffer]
	}
	r := &reader{b: data}
	err := r.model(m, fileSize)
	return m, err
}

type reader struct {
	b       []byte
	nTables int
}

// table is a flatbuffer table: its position, its vtable's, and their sizes.
type table struct {
	pos, vt        uint64
	vtSize, tbSize uint64
	depth          int
}

func malformed(off uint64, format string, args ...any) error {
	return &MalformedError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// need checks that n bytes at off are inside the buffer.
func (r *reader) need(off, n uint64, what string) error {
	if off > uint64(len(r.b)) || n > uint64(len(r.b))-off {
		return malformed(off, "%s (%d bytes) runs past the end of the %d-byte flatbuffer", what, n, len(r.b))
	}
	return nil
}

func (r *reader) u16(off uint64) uint64 { return uint64(binary.LittleEndian.Uint16(r.b[off:])) }
func (r *reader) u32(off uint64) uint64 { return uint64(binary.LittleEndian.Uint32(r.b[off:])) }

// table reads the table at pos and checks its vtable.
func (r *reader) table(pos uint64, depth int) (table, error) {
	if depth > maxDepth {
		return table{}, malformed(pos, "tables nest deeper than %d", maxDepth)
	}
	r.nTables++
	if r.nTables > maxTables {
		return table{}, malformed(pos, "more than %d tables", maxTables)
	}
	if err := r.need(pos, 4, "table"); err != nil {
		return table{}, err
	}
	vt := int64(pos) - int64(int32(uint32(r.u32(pos))))
	if vt < 0 || uint64(vt) > uint64(len(r.b)) || uint64(len(r.b))-uint64(vt) < 4 {
		return table{}, malformed(pos, "the table's vtable (at %d) is outside the flatbuffer", vt)
	}
	t := table{pos: pos, vt: uint64(vt), depth: depth}
	t.vtSize, t.tbSize = r.u16(t.vt), r.u16(t.vt+2)
	if t.vtSize < 4 || t.vtSize%2 != 0 {
		return table{}, malformed(t.vt, "vtable size %d is invalid", t.vtSize)
	}
	if err := r.need(t.vt, t.vtSize, "vtable"); err != nil {
		return table{}, err
	}
	if t.tbSize < 4 {
		return table{}, malformed(t.vt, "table size %d is invalid", t.tbSize)
	}
	if err := r.need(pos, t.tbSize, "table"); err != nil {
		return table{}, err
	}
	return t, nil
}

// field returns the position of field i of t, which is size bytes long,
// and whether it is present.
func (r *reader) field(t table, i int, size uint64) (uint64, bool, error) {
	o := 4 + 2*uint64(i)
	if o+2 > t.vtSize {
		return 0, false, nil
	}
	off := r.u16(t.vt + o)
	if off == 0 {
		return 0, false, nil
	}
	if off < 4 || off+size > t.tbSize {
		return 0, false, malformed(t.pos, "field %d (offset %d, %d bytes) lies outside its %d-byte table", i, off, size, t.tbSize)
	}
	return t.pos + off, true, nil
}

// scalar returns field i of t as an unsigned integer of size bytes, or def
// when absent.
func (r *reader) scalar(t table, i int, size, def uint64) (uint64, error) {
	p, ok, err := r.field(t, i, size)
	if err != nil || !ok {
		return def, err
	}
	switch size {
	case 1:
		return uint64(r.b[p]), nil
	case 4:
		return r.u32(p), nil
	default:
		return binary.LittleEndian.Uint64(r.b[p:]), nil
	}
}

// indirect follows the uoffset_t at p.
func (r *reader) indirect(p uint64) (uint64, error) {
	if err := r.need(p, 4, "offset"); err != nil {
		return 0, err
	}
	q := p + r.u32(p)
	if q >= uint64(len(r.b)) {
		return 0, malformed(p, "offset %d points past the end of the %d-byte flatbuffer", q, len(r.b))
	}
	return q, nil
}

// vector returns the position of the first element and the length of the
// vector in field i of t, whose elements are size bytes long.
func (r *reader) vector(t table, i int, size uint64) (start, n uint64, ok bool, err error) {
	p, ok, err := r.field(t, i, 4)
	if err != nil || !ok {
		return 0, 0, false, err
	}
	q, err := r.indirect(p)
	if err != nil {
		return 0, 0, false, err
	}
	if err := r.need(q, 4, "vector length"); err != nil {
		return 0, 0, false, err
	}
	n = r.u32(q)
	if n > maxElems {
		return 0, 0, false, malformed(q, "vector of %d elements, more than %d", n, maxElems)
	}
	if err := r.need(q+4, n*size, "vector"); err != nil {
		return 0, 0, false, err
	}
	return q + 4, n, true, nil
}

// str returns the string in field i of t.
func (r *reader) str(t table, i int) (string, bool, error) {
	start, n, ok, err := r.vector(t, i, 1)
	if err != nil || !ok {
		return "", ok, err
	}
	return string(r.b[start : start+n]), true, nil
}

// tables calls f for each table of the vector of tables in field i of t.
func (r *reader) tables(t table, i int, f func(j uint64, e table) error) (uint64, error) {
	start, n, _, err := r.vector(t, i, 4)
	if err != nil {
		return 0, err
	}
	for j := range n {
		q, err := r.indirect(start + 4*j)
		if err != nil {
			return j, err
		}
		e, err := r.table(q, t.depth+1)
		if err != nil {
			return j, err
		}
		if err := f(j, e); err != nil {
			return j, err
		}
	}
	return n, nil
}

func (r *reader) model(m *Model, fileSize int64) error {
	if len(r.b) < 8 || string(r.b[4:8]) != "TFL3" {
		return malformed(0, "the file identifier is not TFL3")
	}
	root, err := r.indirect(0)
	if err != nil {
		return err
	}
	t, err := r.table(root, 0)
	if err != nil {
		return err
	}
	v, err := r.scalar(t, 0, 4, 0)
	if err != nil {
		return err
	}
	m.Version = uint32(v)
	if _, err := r.tables(t, 1, func(_ uint64, e table) error {
		c, err := r.opcode(e)
		m.OperatorCodes = append(m.OperatorCodes, c)
		return err
	}); err != nil {
		return err
	}
	n, err := r.tables(t, 2, func(_ uint64, sg table) error {
		k, err := r.tables(sg, 3, func(_ uint64, op table) error {
			idx, err := r.scalar(op, 0, 4, 0)
			if err != nil {
				return err
			}
			if idx >= uint64(len(m.OperatorCodes)) {
				return malformed(op.pos, "an operator's opcode_index %d is out of range: the model has %d operator codes", idx, len(m.OperatorCodes))
			}
			return nil
		})
		m.Operators += int(k)
		return err
	})
	m.Subgraphs = int(n)
	if err != nil {
		return err
	}
	if m.Description, _, err = r.str(t, 3); err != nil {
		return err
	}
	n, err = r.tables(t, 4, func(_ uint64, b table) error { return r.buffer(b, fileSize) })
	m.Buffers = int(n)
	return err
}

func (r *reader) opcode(t table) (OperatorCode, error) {
	c := OperatorCode{Offset: int64(t.pos)}
	dep, err := r.scalar(t, 0, 1, 0)
	if err != nil {
		return c, err
	}
	if c.Custom, c.HasCustom, err = r.str(t, 1); err != nil {
		return c, err
	}
	v, err := r.scalar(t, 2, 4, 1)
	if err != nil {
		return c, err
	}
	c.Version = int32(uint32(v))
	b, err := r.scalar(t, 3, 4, 0)
	if err != nil {
		return c, err
	}
	c.Builtin = max(int32(int8(uint8(dep))), int32(uint32(b)))
	return c, nil
}

func (r *reader) buffer(t table, fileSize int64) error {
	if _, _, _, err := r.vector(t, 0, 1); err != nil {
		return err
	}
	off, err := r.scalar(t, 1, 8, 0)
	if err != nil {
		return err
	}
	size, err := r.scalar(t, 2, 8, 0)
	if err != nil {
		return err
	}
	// TFLite takes offset 0 and 1 as "no data outside the flatbuffer".
	if off > 1 && (off > uint64(fileSize) || size > uint64(fileSize)-off) {
		return malformed(t.pos, "a buffer's data (offset %d, size %d) runs past the end of the %d-byte file", off, size, fileSize)
	}
	return nil
}

// Analyzer checks TFLite models.
type Analyzer struct{}

// Name is the analyzer's name (violet scan --analyzers, the report's tool.analyzers).
const Name = "tflite"

// Name is Name.
func (Analyzer) Name() string { return Name }

// Version is the analyzer's version.
func (Analyzer) Version() string { return "1" }

// Sniff accepts the TFLite file identifier "TFL3" at bytes 4 to 8.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	return len(in.Head) >= 8 && string(in.Head[4:8]) == "TFL3"
}

// Analyze reads the model's flatbuffer and reports its custom operators
// and any broken structure.
func (Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("tflite")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data := make([]byte, min(size, maxFlatbuffer))
	if _, err := ra.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	m, perr := Parse(data, size)
	for i, c := range m.OperatorCodes {
		if !c.IsCustom() {
			continue
		}
		switch {
		case c.HasCustom || c.Builtin == BuiltinCustom:
			rep.Report(finding.TFLiteCustomOp, c.Offset,
				fmt.Sprintf("Operator code %d is the custom operator %q: running the model needs a kernel registered by the application.", i, c.Custom), c.Custom)
		default:
			rep.Report(finding.TFLiteCustomOp, c.Offset,
				fmt.Sprintf("Operator code %d has the builtin code %d, which TFLite does not define.", i, c.Builtin), "builtin_code "+strconv.Itoa(int(c.Builtin)))
		}
	}
	if perr != nil {
		var me *MalformedError
		off := int64(-1)
		if errors.As(perr, &me) {
			off = me.Offset
		}
		rep.Report(finding.FormatMalformed, off, "The TFLite model is malformed: "+perr.Error()+".", "")
	}
	return nil
}
