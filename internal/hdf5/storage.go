package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Where a dataset's raw data lives, when it is not in the file: the External
// Data Files message (external storage) and the virtual layout (a virtual
// dataset's mappings, kept in a global heap object). The HDF5 library reads
// those files when the dataset is read; this package only reports their
// names.

// ExternalFile is one entry of a dataset's External Data Files message: the
// HDF5 library reads Size bytes of the dataset's raw data from the file
// Name, on the host, starting at Offset.
type ExternalFile struct {
	// Name is the file name as stored: absolute, or relative to the
	// external file prefix of the reader (its working folder by default).
	Name string
	// Offset is where the data starts in that file.
	Offset uint64
	// Size is the number of bytes read from it; all ones means up to the
	// end of that file.
	Size uint64
}

// VirtualSource is one mapping of a virtual dataset: part of its elements
// are read from the dataset Dataset of the file File.
type VirtualSource struct {
	// File is the source file name as stored: "." for the file itself, a
	// path otherwise (it may hold printf-like %b specifiers).
	File string
	// Dataset is the path of the source dataset in that file.
	Dataset string
}

// Data layout classes: compact (0), contiguous (1), chunked (2), virtual.
const (
	layoutChunked = 2
	layoutVirtual = 3
)

// ExternalFiles returns the entries of the object's External Data Files
// messages, in storage order, or nil when it has none.
func (o *Object) ExternalFiles() ([]ExternalFile, error) {
	var out []ExternalFile
	for _, m := range o.msgs {
		if m.typ != msgExternalFiles {
			continue
		}
		if m.flags&0x02 != 0 {
			return nil, unsupported(m.addr, "shared external data files message in object %q", o.Path)
		}
		files, err := o.f.parseExternalFiles(m)
		if err != nil {
			return nil, fmt.Errorf("object %q: %w", o.Path, err)
		}
		out = append(out, files...)
	}
	return out, nil
}

// parseExternalFiles decodes an External Data Files message: version 1,
// three reserved bytes, the allocated and used slot counts, the address of
// the local heap that holds the names, then for each used slot the name's
// offset in the heap, the offset in the file and the size.
func (f *File) parseExternalFiles(m message) ([]ExternalFile, error) {
	c := &cursor{f: f, b: m.data, at: m.addr, what: "external data files message"}
	if v := c.u8(); c.err == nil && v != 1 {
		return nil, errorf(m.addr, "bad external data files message version %d", v)
	}
	c.skip(3)
	alloc := c.u16()
	used := c.u16()
	heapAddr := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if used > alloc {
		return nil, errorf(m.addr, "external data files message uses %d of %d slots", used, alloc)
	}
	if uint64(used)*uint64(3*f.sizeLengths) > uint64(c.left()) {
		return nil, errorf(m.addr, "external data files message too short for %d slots", used)
	}
	if used == 0 {
		return nil, nil
	}
	heap, err := f.localHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	out := make([]ExternalFile, 0, used)
	for range used {
		nameOff := c.length()
		e := ExternalFile{Offset: c.length(), Size: c.length()}
		if c.err != nil {
			return nil, c.err
		}
		if e.Name, err = f.heapString(heap, nameOff); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// VirtualSources returns the mappings of a virtual dataset, in storage
// order, or nil for an object whose data layout is not virtual (or that
// has none). Every data layout message is checked: one that the HDF5
// library would refuse is an error.
func (o *Object) VirtualSources() ([]VirtualSource, error) {
	var out []VirtualSource
	for _, m := range o.msgs {
		if m.typ != msgLayout {
			continue
		}
		srcs, err := o.f.virtualSources(m)
		if err != nil {
			return nil, fmt.Errorf("object %q: %w", o.Path, err)
		}
		out = append(out, srcs...)
	}
	return out, nil
}

// virtualSources decodes the data layout message m far enough to know its
// class, and the mappings of the virtual class: version 4 or later, the
// class, then the global heap ID (collection address and object index) of
// the encoded mappings.
func (f *File) virtualSources(m message) ([]VirtualSource, error) {
	c := &cursor{f: f, b: m.data, at: m.addr, what: "data layout message"}
	version := c.u8()
	var class uint8
	switch {
	case c.err != nil:
		return nil, c.err
	case version == 1 || version == 2:
		c.skip(1) // dimensionality
		if class = c.u8(); c.err == nil && class > layoutChunked {
			return nil, errorf(m.addr, "data layout class %d in a version %d message", class, version)
		}
		return nil, c.err
	case version >= 3 && version <= 5: // 5 is HDF5 2.0's
		class = c.u8()
	case version > 5:
		return nil, unsupported(m.addr, "data layout message version %d", version)
	default:
		return nil, errorf(m.addr, "bad data layout message version %d", version)
	}
	switch {
	case c.err != nil:
		return nil, c.err
	case class > layoutVirtual:
		return nil, errorf(m.addr, "bad data layout class %d", class)
	case class != layoutVirtual:
		return nil, nil
	case version < 4:
		return nil, errorf(m.addr, "virtual data layout in a version %d message", version)
	}
	addr := c.addr()
	index := c.u32()
	if c.err != nil {
		return nil, c.err
	}
	if addr == undefAddr { // a virtual dataset without mappings
		return nil, nil
	}
	obj, err := f.globalHeapObject(addr, index)
	if err != nil {
		return nil, err
	}
	// Many datasets may share one large heap object: each decoding counts.
	if err := f.spend(uint64(len(obj))); err != nil {
		return nil, err
	}
	return f.parseMappings(obj, addr)
}

// Minimum sizes in an encoded mapping: two empty names and two "all"
// selections.
const (
	selectionHeader = 16
	minMapping      = 2 + 2*selectionHeader
)

// parseMappings decodes the global heap object that lists a virtual
// dataset's mappings: encoding version 0, the number of entries, then for
// each the source file and dataset names (NUL-terminated) and the source
// and virtual selections, and last a checksum of all that. The library
// refuses a block with bytes left over or a bad checksum.
func (f *File) parseMappings(b []byte, at uint64) ([]VirtualSource, error) {
	if len(b) < 4 {
		return nil, errorf(at, "virtual dataset mappings of %d bytes", len(b))
	}
	body := b[:len(b)-4]
	if !f.lim.IgnoreChecksums && lookup3(body) != binary.LittleEndian.Uint32(b[len(body):]) {
		return nil, errorf(at, "virtual dataset mappings checksum mismatch")
	}
	c := &cursor{f: f, b: body, at: at, what: "virtual dataset mappings"}
	if v := c.u8(); c.err == nil && v != 0 {
		return nil, unsupported(at, "virtual dataset mappings encoding version %d", v)
	}
	n := c.length()
	switch {
	case c.err != nil:
		return nil, c.err
	case n > uint64(c.left())/minMapping:
		return nil, errorf(at, "%d virtual dataset mappings in %d bytes", n, c.left())
	case n > uint64(f.lim.MaxObjects):
		return nil, fmt.Errorf("%w: virtual dataset with more than %d mappings at offset %#x", ErrLimit, f.lim.MaxObjects, at)
	}
	out := make([]VirtualSource, 0, n)
	for range n {
		s := VirtualSource{File: c.cstring(), Dataset: c.cstring()}
		c.selection()
		c.selection()
		if c.err != nil {
			return nil, c.err
		}
		out = append(out, s)
	}
	if c.left() != 0 {
		return nil, errorf(at, "%d bytes after the virtual dataset mappings", c.left())
	}
	return out, nil
}

// cstring reads a NUL-terminated string of at most maxNameLen bytes.
func (c *cursor) cstring() string {
	if c.err != nil {
		return ""
	}
	rest := c.b[c.pos:min(len(c.b), c.pos+maxNameLen+1)]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		c.err = errorf(c.at+uint64(c.pos), "%s: unterminated string (or longer than %d bytes)", c.what, maxNameLen)
		return ""
	}
	s := string(rest[:i])
	c.pos += i + 1
	return s
}

// skipN skips n items of size bytes each.
func (c *cursor) skipN(n, size uint64) {
	if c.err != nil {
		return
	}
	if size != 0 && n > uint64(c.left())/size {
		c.err = errorf(c.at+uint64(c.pos), "%s truncated (%d items of %d bytes, %d bytes left)", c.what, n, size, c.left())
		return
	}
	c.skip(int(n * size))
}

// Selection types and the flag of a regular hyperslab.
const (
	selNone       = 0
	selPoints     = 1
	selHyperslabs = 2
	selAll        = 3
	hyperRegular  = 0x01
)

// selection skips a serialized dataspace selection (H5S_select_serialize):
// its type and version, then a body that depends on both. Points and
// hyperslab blocks are skipped whole, after their size is checked against
// what is left.
func (c *cursor) selection() {
	typ := c.u32()
	version := c.u32()
	if c.err != nil {
		return
	}
	bad := func(format string, args ...any) {
		c.err = errorf(c.at+uint64(c.pos), "%s: %s", c.what, fmt.Sprintf(format, args...))
	}
	var flags uint8
	enc := 4 // bytes of a count or a coordinate
	switch {
	case (typ == selNone || typ == selAll) && version == 1:
		c.skip(8) // reserved, length
		return
	case typ == selPoints && version == 1, typ == selHyperslabs && version == 1:
		c.skip(8) // reserved, length
	case typ == selPoints && version == 2:
		enc = int(c.u8())
	case typ == selHyperslabs && version == 2:
		flags = c.u8()
		c.skip(4) // length
		enc = 8
	case typ == selHyperslabs && version == 3:
		flags = c.u8()
		enc = int(c.u8())
	default:
		bad("selection type %d version %d", typ, version)
		return
	}
	rank := c.u32()
	switch {
	case c.err != nil:
		return
	case enc != 2 && enc != 4 && enc != 8:
		bad("selection values of %d bytes", enc)
	case flags&^hyperRegular != 0:
		bad("selection flags %#x", flags)
	case rank == 0 || rank > maxDims:
		bad("selection rank %d", rank)
	case flags&hyperRegular != 0: // start, stride, count and block per dimension
		c.skipN(4*uint64(rank), uint64(enc))
	case typ == selPoints: // a count, then the coordinates of each point
		c.skipN(c.uint(enc), uint64(rank)*uint64(enc))
	default: // a count, then the start and end coordinates of each block
		c.skipN(c.uint(enc), 2*uint64(rank)*uint64(enc))
	}
}
