// Package hdf5 is a minimal, pure-Go reader of the parts of HDF5 files that
// hold attributes and group membership, written for scanning untrusted files
// (Keras H5 models).
//
// It reads the superblock (versions 0 to 3, after an optional userblock),
// object headers (versions 1 and 2, with continuation blocks), attribute
// messages in compact and dense storage (fractal heap and version 2 B-tree),
// old-style groups (symbol table, version 1 B-tree, local heap) and new-style
// groups (link messages, or dense links in a fractal heap),
// variable-length strings in global heap collections, and where a dataset's
// data lives when it is not in the file: the files of its External Data
// Files message and the source files of a virtual dataset. It never reads
// raw dataset data, and never opens another file.
//
// Every size read from the file is checked against the file size and the
// Limits before anything is allocated, every traversal of a linked structure
// detects cycles, and recursion is bounded, so that a crafted file yields an
// error rather than a panic, a huge allocation or an endless loop.
package hdf5

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// ErrUnsupported is wrapped by the errors returned for valid HDF5 features
// that this package does not implement.
var ErrUnsupported = errors.New("hdf5: unsupported")

// ErrMalformed is wrapped by the errors returned for files that break the
// HDF5 format: bad signatures, checksums, sizes or addresses, truncation and
// cycles. The message says what was wrong and at which file offset.
var ErrMalformed = errors.New("hdf5: malformed file")

// ErrLimit is wrapped by the errors returned when a file needs more work than
// its Limits allow.
var ErrLimit = errors.New("hdf5: limit exceeded")

// SkipChildren may be returned by the function passed to File.Walk to skip
// the members of the object it was called with.
//
//lint:ignore ST1012 named like fs.SkipDir, it is not an error condition.
var SkipChildren = errors.New("hdf5: skip children")

// Limits bound the work of reading one file.
type Limits struct {
	// MaxDepth bounds the depth of the group tree that File.Walk visits and
	// the nesting of B-trees, heaps and datatypes.
	MaxDepth int
	// MaxAttributes bounds the number of attributes of one object.
	MaxAttributes int
	// MaxAttributeBytes bounds the size of one attribute value, both as
	// stored and as decoded.
	MaxAttributeBytes int64
	// MaxObjects bounds the number of object headers read from the file and
	// the number of members of one group.
	MaxObjects int
	// MaxHeaderMessages bounds the number of messages in one object header.
	MaxHeaderMessages int
	// MaxReadBytes bounds the total work on the file: the number of bytes
	// read from it plus the size of the attribute values decoded.
	MaxReadBytes int64
	// IgnoreChecksums skips the verification of metadata checksums. The
	// HDF5 library refuses blocks with bad checksums, so this is meant for
	// fuzzing only.
	IgnoreChecksums bool
}

// DefaultLimits returns limits suited to real Keras models: depth 32,
// 10000 attributes per object, 64 MiB per attribute value, 200000 objects,
// 65536 messages per object header and 2 GiB read in total.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:          32,
		MaxAttributes:     10000,
		MaxAttributeBytes: 64 << 20,
		MaxObjects:        200000,
		MaxHeaderMessages: 65536,
		MaxReadBytes:      2 << 30,
	}
}

// Internal bounds that do not depend on Limits.
const (
	maxBlock      = 64 << 20 // one metadata block (header chunk, B-tree node, heap block, collection)
	maxNameLen    = 1 << 16  // one link or attribute name
	maxTreeDepth  = 24       // levels of a B-tree or fractal heap
	maxTypeDepth  = 8        // nesting of datatypes
	maxDims       = 32       // dataspace rank
	undefAddr     = ^uint64(0)
	superblockSig = "\x89HDF\r\n\x1a\n"
)

// File is an open HDF5 file. It is not safe for concurrent use.
type File struct {
	r    io.ReaderAt
	size int64
	lim  Limits

	// Superblock is the superblock version (0 to 3).
	Superblock int

	base        uint64 // absolute offset of the superblock; addresses are relative to it
	sizeOffsets int
	sizeLengths int
	rootAddr    uint64

	readBytes int64
	objects   int
	gcols     map[uint64]*gcol
	gcolBytes int64
	heaps     map[uint64]*fheap
}

// Open reads the superblock of the HDF5 file r of the given size. The
// superblock is looked for at offsets 0, 512, 1024, 2048 and so on, as the
// specification allows for files with a userblock. Zero fields of lim are
// replaced by those of DefaultLimits.
func Open(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	def := DefaultLimits()
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = def.MaxDepth
	}
	if lim.MaxAttributes <= 0 {
		lim.MaxAttributes = def.MaxAttributes
	}
	if lim.MaxAttributeBytes <= 0 {
		lim.MaxAttributeBytes = def.MaxAttributeBytes
	}
	if lim.MaxObjects <= 0 {
		lim.MaxObjects = def.MaxObjects
	}
	if lim.MaxHeaderMessages <= 0 {
		lim.MaxHeaderMessages = def.MaxHeaderMessages
	}
	if lim.MaxReadBytes <= 0 {
		lim.MaxReadBytes = def.MaxReadBytes
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	f := &File{r: r, size: size, lim: lim, gcols: map[uint64]*gcol{}, heaps: map[uint64]*fheap{}}
	for off := int64(0); off+8 <= size; {
		sig := make([]byte, 8)
		if n, err := r.ReadAt(sig, off); err != nil && !(err == io.EOF && n == len(sig)) {
			return nil, fmt.Errorf("hdf5: reading signature at offset %d: %w", off, err)
		}
		if string(sig) == superblockSig {
			return f, f.readSuperblock(uint64(off))
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	return nil, fmt.Errorf("%w: no HDF5 superblock signature", ErrMalformed)
}

// errorf returns an error wrapping ErrMalformed that names the file offset
// (relative to the superblock) where the problem is.
func errorf(at uint64, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %#x", ErrMalformed, fmt.Sprintf(format, args...), at)
}

func unsupported(at uint64, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %#x", ErrUnsupported, fmt.Sprintf(format, args...), at)
}

// readAbs reads n bytes at the absolute file offset abs.
func (f *File) readAbs(abs, n uint64, what string) ([]byte, error) {
	if n > uint64(f.size) || abs > uint64(f.size)-n {
		return nil, fmt.Errorf("%w: %s (%d bytes) at absolute offset %#x is past the end of the file (%d bytes)", ErrMalformed, what, n, abs, f.size)
	}
	if err := f.spend(n); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if n == 0 {
		return b, nil
	}
	if m, err := f.r.ReadAt(b, int64(abs)); err != nil && !(err == io.EOF && uint64(m) == n) {
		return nil, fmt.Errorf("hdf5: reading %s at absolute offset %#x: %w", what, abs, err)
	}
	return b, nil
}

// spend charges n bytes read or decoded to the MaxReadBytes budget.
func (f *File) spend(n uint64) error {
	if n > uint64(f.lim.MaxReadBytes-f.readBytes) {
		f.readBytes = f.lim.MaxReadBytes
		return fmt.Errorf("%w: more than %d bytes read and decoded", ErrLimit, f.lim.MaxReadBytes)
	}
	f.readBytes += int64(n)
	return nil
}

// read reads n bytes of metadata (at most maxBlock) at the address addr.
func (f *File) read(addr, n uint64, what string) ([]byte, error) {
	if addr == undefAddr {
		return nil, errorf(addr, "%s has an undefined address", what)
	}
	if addr > ^uint64(0)-f.base {
		return nil, errorf(addr, "%s address overflows", what)
	}
	if abs := f.base + addr; n > uint64(f.size) || abs > uint64(f.size)-n {
		return nil, errorf(addr, "%s of %d bytes is past the end of the file (%d bytes)", what, n, f.size)
	}
	if n > maxBlock {
		return nil, fmt.Errorf("%w: %s of %d bytes at offset %#x is larger than %d bytes", ErrLimit, what, n, addr, maxBlock)
	}
	return f.read0(addr, n, what)
}

func (f *File) read0(addr, n uint64, what string) ([]byte, error) {
	return f.readAbs(f.base+addr, n, what)
}

// readUpTo reads at most n bytes at addr, fewer if the file ends first.
func (f *File) readUpTo(addr, n uint64, what string) ([]byte, error) {
	if addr == undefAddr || addr > ^uint64(0)-f.base || f.base+addr >= uint64(f.size) {
		return nil, errorf(addr, "%s address is outside the file", what)
	}
	if rest := uint64(f.size) - (f.base + addr); n > rest {
		n = rest
	}
	return f.read(addr, n, what)
}

func (f *File) readSuperblock(off uint64) error {
	f.base = off
	b, err := f.readUpTo(0, 256, "superblock")
	if err != nil {
		return err
	}
	c := &cursor{f: f, b: b, what: "superblock"}
	c.skip(8)
	version := c.u8()
	if c.err != nil {
		return c.err
	}
	f.Superblock = int(version)
	switch version {
	case 0, 1:
		c.skip(4) // free-space, root group symbol table, reserved, shared header versions
		f.sizeOffsets = int(c.u8())
		f.sizeLengths = int(c.u8())
		c.skip(1)
		c.skip(4) // group leaf and internal node K
		c.skip(4) // file consistency flags
		if version == 1 {
			c.skip(4) // indexed storage internal node K, reserved
		}
		if err := f.checkSizes(); err != nil {
			return err
		}
		c.addr() // base address: the library uses the superblock location
		c.addr() // free-space info
		c.addr() // end of file
		c.addr() // driver info
		// Root group symbol table entry.
		c.addr() // link name offset
		f.rootAddr = c.addr()
	case 2, 3:
		f.sizeOffsets = int(c.u8())
		f.sizeLengths = int(c.u8())
		c.skip(1) // file consistency flags
		if err := f.checkSizes(); err != nil {
			return err
		}
		c.addr() // base address
		c.addr() // superblock extension
		c.addr() // end of file
		f.rootAddr = c.addr()
		end := c.pos
		sum := c.u32()
		if c.err == nil && !f.lim.IgnoreChecksums && lookup3(b[:end]) != sum {
			return errorf(uint64(end), "superblock checksum mismatch")
		}
	default:
		return unsupported(8, "superblock version %d", version)
	}
	if c.err != nil {
		return c.err
	}
	if f.rootAddr == undefAddr {
		return errorf(0, "undefined root group address")
	}
	return nil
}

func (f *File) checkSizes() error {
	ok := func(n int) bool { return n == 2 || n == 4 || n == 8 }
	if !ok(f.sizeOffsets) || !ok(f.sizeLengths) {
		return unsupported(13, "size of offsets %d, size of lengths %d", f.sizeOffsets, f.sizeLengths)
	}
	return nil
}

// Root returns the root group.
func (f *File) Root() (*Object, error) {
	return f.Object(f.rootAddr, "/")
}

// RootAddr returns the address of the root group's object header.
func (f *File) RootAddr() uint64 { return f.rootAddr }

// Object reads the object header at addr (an address relative to the
// superblock, as found in a Link). path is only recorded in the Object.
func (f *File) Object(addr uint64, path string) (*Object, error) {
	if f.objects >= f.lim.MaxObjects {
		return nil, fmt.Errorf("%w: more than %d objects", ErrLimit, f.lim.MaxObjects)
	}
	f.objects++
	msgs, err := f.readHeader(addr)
	if err != nil {
		return nil, fmt.Errorf("object %q: %w", path, err)
	}
	return &Object{Path: path, Addr: addr, f: f, msgs: msgs}, nil
}

// Object is an HDF5 object (group, dataset or committed datatype) whose
// header has been read.
type Object struct {
	// Path is the path the object was reached by, as given to File.Object.
	Path string
	// Addr is the address of the object header, relative to the superblock.
	Addr uint64

	f         *File
	msgs      []message
	links     []Link // the members, once Children has read them
	linksRead bool   // whether links holds them
}

// Message types.
const (
	msgNil           = 0x00
	msgDataspace     = 0x01
	msgLinkInfo      = 0x02
	msgDatatype      = 0x03
	msgExternalFiles = 0x07
	msgLayout        = 0x08
	msgLink          = 0x06
	msgAttribute     = 0x0C
	msgContinuation  = 0x10
	msgSymbolTable   = 0x11
	msgAttrInfo      = 0x15
)

// IsGroup reports whether the object header holds group messages (symbol
// table, link or link info).
func (o *Object) IsGroup() bool {
	for _, m := range o.msgs {
		if m.typ == msgSymbolTable || m.typ == msgLink || m.typ == msgLinkInfo {
			return true
		}
	}
	return false
}

// IsDataset reports whether the object header holds a data layout message.
func (o *Object) IsDataset() bool {
	for _, m := range o.msgs {
		if m.typ == msgLayout {
			return true
		}
	}
	return false
}

// Link is a member of a group.
type Link struct {
	// Name is the link name.
	Name string
	// Addr is the object header address for hard links (relative to the
	// superblock), and zero otherwise.
	Addr uint64
	// Hard reports whether the link is a hard link; soft and external links
	// are not followed.
	Hard bool
	// Target is the value of a soft link (a path), or of an external link
	// (the file name and the object path, separated by a NUL byte).
	Target string
	// External reports whether the link is an external link, to an object
	// in another file.
	External bool
}

// Attribute is an attribute of an object and its decoded value.
type Attribute struct {
	// Name is the attribute name.
	Name string
	// Class is "string", "integer", "float" or "other".
	Class string
	// Shape holds the dimensions of the value; it is empty for a scalar.
	Shape []uint64
	// Null reports a null dataspace: the attribute has no value at all.
	Null bool
	// Strings holds each element of a string attribute (one element for a
	// scalar), for fixed-length strings (with the padding removed) and for
	// variable-length strings. The bytes are returned as stored, whatever
	// the declared character set: they need not be valid UTF-8.
	Strings []string
	// Ints holds the elements of an integer attribute. Unsigned 64-bit
	// values above math.MaxInt64 wrap around.
	Ints []int64
	// Floats holds the elements of a 32- or 64-bit floating point attribute.
	Floats []float64
}

// Text returns the first string element (the value of a scalar string
// attribute), or "" if there is none.
func (a *Attribute) Text() string {
	if len(a.Strings) == 0 {
		return ""
	}
	return a.Strings[0]
}

// Attributes returns the attributes of the object, in storage order: header
// order for compact storage (creation order as the HDF5 library writes it),
// name-hash order for dense storage. A crafted file may hold several
// attributes with the same name; all are returned.
func (o *Object) Attributes() ([]Attribute, error) {
	var out []Attribute
	add := func(a Attribute) error {
		if len(out) >= o.f.lim.MaxAttributes {
			return fmt.Errorf("%w: object %q has more than %d attributes", ErrLimit, o.Path, o.f.lim.MaxAttributes)
		}
		out = append(out, a)
		return nil
	}
	for _, m := range o.msgs {
		switch m.typ {
		case msgAttribute:
			if m.flags&0x02 != 0 {
				return nil, unsupported(m.addr, "shared attribute message in object %q", o.Path)
			}
			a, err := o.f.parseAttribute(m.data, m.addr)
			if err != nil {
				return nil, fmt.Errorf("object %q: %w", o.Path, err)
			}
			if err := add(a); err != nil {
				return nil, err
			}
		case msgAttrInfo:
			if err := o.f.denseAttributes(m, add); err != nil {
				return nil, fmt.Errorf("object %q: dense attributes: %w", o.Path, err)
			}
		}
	}
	return out, nil
}

// Attribute returns the first attribute called name, and whether there is
// one.
func (o *Object) Attribute(name string) (Attribute, bool, error) {
	attrs, err := o.Attributes()
	if err != nil {
		return Attribute{}, false, err
	}
	for _, a := range attrs {
		if a.Name == name {
			return a, true, nil
		}
	}
	return Attribute{}, false, nil
}

// Children returns the members of a group, sorted by name; it returns no
// links for other objects. They are read once: later calls return the same
// slice.
func (o *Object) Children() ([]Link, error) {
	if o.linksRead {
		return o.links, nil
	}
	var out []Link
	add := func(l Link) error {
		if len(out) >= o.f.lim.MaxObjects {
			return fmt.Errorf("%w: group %q has more than %d members", ErrLimit, o.Path, o.f.lim.MaxObjects)
		}
		out = append(out, l)
		return nil
	}
	for _, m := range o.msgs {
		var err error
		switch m.typ {
		case msgSymbolTable:
			err = o.f.symbolTable(m, add)
		case msgLink:
			var l Link
			l, err = o.f.parseLink(m.data, m.addr)
			if err == nil {
				err = add(l)
			}
		case msgLinkInfo:
			err = o.f.denseLinks(m, add)
		}
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", o.Path, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	o.links, o.linksRead = out, true
	return out, nil
}

// Walk calls fn for the root group and then for every object reachable by
// hard links, depth first, in name order, down to Limits.MaxDepth levels
// (deeper members are an ErrLimit error). An object reachable by several
// paths (or by a cycle of links) is visited once, by the first path. If fn
// returns SkipChildren the members of that object are skipped; any other
// error stops the walk and is returned.
func (f *File) Walk(fn func(o *Object, depth int) error) error {
	root, err := f.Root()
	if err != nil {
		return err
	}
	seen := map[uint64]bool{root.Addr: true}
	var walk func(o *Object, depth int) error
	walk = func(o *Object, depth int) error {
		if err := fn(o, depth); err != nil {
			if err == SkipChildren {
				return nil
			}
			return err
		}
		links, err := o.Children()
		if err != nil {
			return err
		}
		for _, l := range links {
			if !l.Hard || seen[l.Addr] {
				continue
			}
			if depth+1 > f.lim.MaxDepth {
				return fmt.Errorf("%w: object %q is deeper than %d levels", ErrLimit, o.Path, f.lim.MaxDepth)
			}
			seen[l.Addr] = true
			p := o.Path + "/" + l.Name
			if o.Path == "/" {
				p = "/" + l.Name
			}
			child, err := f.Object(l.Addr, p)
			if err != nil {
				return err
			}
			if err := walk(child, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, 0)
}
