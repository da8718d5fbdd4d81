package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Datatype classes.
const (
	classFixed    = 0
	classFloat    = 1
	classString   = 3
	classVariable = 9
)

type datatype struct {
	class   uint8
	size    uint32
	bigEnd  bool
	signed  bool
	pad     uint8 // string padding
	vlenStr bool  // variable-length string
	vlen    bool  // variable-length sequence or string
}

// parseDatatype decodes a datatype message.
func (f *File) parseDatatype(b []byte, at uint64, depth int) (datatype, error) {
	if depth > maxTypeDepth {
		return datatype{}, errorf(at, "datatype nested more than %d levels", maxTypeDepth)
	}
	c := &cursor{f: f, b: b, at: at, what: "datatype message"}
	cv := c.u8()
	bits := c.bytes(3)
	size := c.u32()
	if c.err != nil {
		return datatype{}, c.err
	}
	t := datatype{class: cv & 0x0F, size: size}
	if v := cv >> 4; v < 1 || v > 5 {
		return t, errorf(at, "bad datatype version %d", v)
	}
	switch t.class {
	case classFixed:
		t.bigEnd = bits[0]&0x01 != 0
		t.signed = bits[0]&0x08 != 0
	case classFloat:
		t.bigEnd = bits[0]&0x01 != 0
		if bits[0]&0x40 != 0 { // VAX order
			t.class = 0xFF
		}
	case classString:
		t.pad = bits[0] & 0x0F
	case classVariable:
		t.vlen = true
		t.vlenStr = bits[0]&0x0F == 1
		if !t.vlenStr {
			// The base type follows; parse it only to validate the message.
			if _, err := f.parseDatatype(b[c.pos:], at+uint64(c.pos), depth+1); err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

// parseDataspace decodes a dataspace message and returns the dimensions
// (nil for a scalar) and whether it is a null dataspace.
func (f *File) parseDataspace(b []byte, at uint64) ([]uint64, bool, error) {
	c := &cursor{f: f, b: b, at: at, what: "dataspace message"}
	version := c.u8()
	rank := int(c.u8())
	c.u8() // flags
	null := false
	switch version {
	case 1:
		c.skip(5)
	case 2:
		null = c.u8() == 2
	default:
		if c.err == nil {
			return nil, false, errorf(at, "bad dataspace version %d", version)
		}
	}
	if rank > maxDims {
		return nil, false, errorf(at, "dataspace rank %d", rank)
	}
	var dims []uint64
	for i := 0; i < rank && c.err == nil; i++ {
		dims = append(dims, c.length())
	}
	return dims, null, c.err
}

// parseAttribute decodes an attribute message and its value.
func (f *File) parseAttribute(b []byte, at uint64) (Attribute, error) {
	c := &cursor{f: f, b: b, at: at, what: "attribute message"}
	version := c.u8()
	flags := c.u8()
	nameSize := int(c.u16())
	typeSize := int(c.u16())
	spaceSize := int(c.u16())
	if version == 3 {
		c.u8() // name character set
	}
	if c.err != nil {
		return Attribute{}, c.err
	}
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2, 3:
	default:
		return Attribute{}, errorf(at, "bad attribute message version %d", version)
	}
	name := c.bytes(nameSize)
	c.skip(pad(nameSize) - nameSize)
	typeAt := at + uint64(c.pos)
	typeBytes := c.bytes(typeSize)
	c.skip(pad(typeSize) - typeSize)
	spaceAt := at + uint64(c.pos)
	spaceBytes := c.bytes(spaceSize)
	c.skip(pad(spaceSize) - spaceSize)
	if c.err != nil {
		return Attribute{}, c.err
	}
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	a := Attribute{Name: string(name), Class: "other"}
	var err error
	if flags&0x02 != 0 {
		return a, unsupported(spaceAt, "shared dataspace in attribute %q", a.Name)
	}
	var t datatype
	if flags&0x01 != 0 {
		t, err = f.sharedDatatype(typeBytes, typeAt)
	} else {
		t, err = f.parseDatatype(typeBytes, typeAt, 0)
	}
	if err != nil {
		return a, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	dims, null, err := f.parseDataspace(spaceBytes, spaceAt)
	if err != nil {
		return a, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	a.Shape, a.Null = dims, null
	n := uint64(1)
	if null {
		n = 0
	}
	for _, d := range dims {
		if d != 0 && n > uint64(f.lim.MaxAttributeBytes)/d {
			return a, fmt.Errorf("%w: attribute %q at offset %#x has more than %d elements", ErrLimit, a.Name, at, f.lim.MaxAttributeBytes)
		}
		n *= d
	}
	if t.size == 0 && n > 0 {
		return a, errorf(typeAt, "attribute %q has a zero-size datatype", a.Name)
	}
	// Bound the value as stored and as decoded (a string header or an int64
	// per element).
	if n > 0 && uint64(max(t.size, 16)) > uint64(f.lim.MaxAttributeBytes)/n {
		return a, fmt.Errorf("%w: attribute %q at offset %#x is larger than %d bytes", ErrLimit, a.Name, at, f.lim.MaxAttributeBytes)
	}
	total := n * uint64(t.size)
	data := c.b[c.pos:]
	if uint64(len(data)) < total {
		return a, errorf(at+uint64(c.pos), "attribute %q value truncated (%d bytes for %d elements of %d bytes)", a.Name, len(data), n, t.size)
	}
	data = data[:total]
	if err := f.spend(n * uint64(max(t.size, 16))); err != nil {
		return a, err
	}
	if err := f.decodeValue(&a, t, data, n, at+uint64(c.pos)); err != nil {
		return a, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	return a, nil
}

// sharedDatatype resolves a shared (committed) datatype.
func (f *File) sharedDatatype(b []byte, at uint64) (datatype, error) {
	c := &cursor{f: f, b: b, at: at, what: "shared datatype"}
	version := c.u8()
	typ := c.u8()
	switch version {
	case 1:
		c.skip(6)
	case 2:
	case 3:
		if typ != 2 {
			if c.err != nil {
				return datatype{}, c.err
			}
			return datatype{}, unsupported(at, "datatype in the shared object header message heap")
		}
	default:
		if c.err == nil {
			return datatype{}, errorf(at, "bad shared message version %d", version)
		}
	}
	addr := c.addr()
	if c.err != nil {
		return datatype{}, c.err
	}
	o, err := f.Object(addr, "(committed datatype)")
	if err != nil {
		return datatype{}, err
	}
	for _, m := range o.msgs {
		if m.typ == msgDatatype {
			if m.flags&0x02 != 0 {
				return datatype{}, unsupported(m.addr, "shared datatype of a committed datatype")
			}
			return f.parseDatatype(m.data, m.addr, 1)
		}
	}
	return datatype{}, errorf(addr, "committed datatype without a datatype message")
}

// decodeValue fills the value fields of a from n elements of type t in data.
func (f *File) decodeValue(a *Attribute, t datatype, data []byte, n uint64, at uint64) error {
	size := int(t.size)
	switch {
	case t.class == classString:
		a.Class = "string"
		a.Strings = make([]string, 0, n)
		for i := uint64(0); i < n; i++ {
			s := data[int(i)*size : int(i+1)*size]
			switch t.pad {
			case 0: // null terminated
				if j := bytes.IndexByte(s, 0); j >= 0 {
					s = s[:j]
				}
			case 1: // null padded
				s = bytes.TrimRight(s, "\x00")
			case 2: // space padded
				s = bytes.TrimRight(s, " ")
			}
			a.Strings = append(a.Strings, string(s))
		}
	case t.vlenStr:
		a.Class = "string"
		per := 4 + f.sizeOffsets + 4
		if size < per {
			return errorf(at, "variable-length string element of %d bytes", size)
		}
		a.Strings = make([]string, 0, min(n, 1024))
		var total int64
		for i := uint64(0); i < n; i++ {
			c := &cursor{f: f, b: data[int(i)*size : int(i+1)*size], at: at + i*uint64(size), what: "variable-length string"}
			length := c.u32()
			coll := c.addr()
			index := c.u32()
			if c.err != nil {
				return c.err
			}
			total += int64(length)
			if total > f.lim.MaxAttributeBytes {
				return fmt.Errorf("%w: variable-length strings larger than %d bytes", ErrLimit, f.lim.MaxAttributeBytes)
			}
			if length == 0 {
				a.Strings = append(a.Strings, "")
				continue
			}
			obj, err := f.globalHeapObject(coll, index)
			if err != nil {
				return err
			}
			if uint64(length) > uint64(len(obj)) {
				return errorf(c.at, "variable-length string of %d bytes in a heap object of %d bytes", length, len(obj))
			}
			a.Strings = append(a.Strings, string(obj[:length]))
		}
	case t.class == classFixed && (size == 1 || size == 2 || size == 4 || size == 8):
		a.Class = "integer"
		a.Ints = make([]int64, 0, n)
		for i := uint64(0); i < n; i++ {
			b := data[int(i)*size : int(i+1)*size]
			var u uint64
			if t.bigEnd {
				for _, x := range b {
					u = u<<8 | uint64(x)
				}
			} else {
				u = leUint(b)
			}
			v := int64(u)
			if t.signed && size < 8 {
				shift := 64 - 8*uint(size)
				v = int64(u<<shift) >> shift
			}
			a.Ints = append(a.Ints, v)
		}
	case t.class == classFixed:
		a.Class = "integer"
	case t.class == classFloat && (size == 4 || size == 8):
		a.Class = "float"
		a.Floats = make([]float64, 0, n)
		var order binary.ByteOrder = binary.LittleEndian
		if t.bigEnd {
			order = binary.BigEndian
		}
		for i := uint64(0); i < n; i++ {
			b := data[int(i)*size : int(i+1)*size]
			if size == 4 {
				a.Floats = append(a.Floats, float64(math.Float32frombits(order.Uint32(b))))
			} else {
				a.Floats = append(a.Floats, math.Float64frombits(order.Uint64(b)))
			}
		}
	case t.class == classFloat:
		a.Class = "float"
	}
	return nil
}
