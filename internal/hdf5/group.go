package hdf5

import (
	"bytes"
	"fmt"
	"strings"
)

// symbolTable lists an old-style group: a version 1 B-tree of symbol table
// nodes whose names are in a local heap.
func (f *File) symbolTable(m message, add func(Link) error) error {
	c := &cursor{f: f, b: m.data, at: m.addr, what: "symbol table message"}
	btree := c.addr()
	heapAddr := c.addr()
	if c.err != nil {
		return c.err
	}
	heap, err := f.localHeap(heapAddr)
	if err != nil {
		return err
	}
	seen := map[uint64]bool{}
	nodes := 0
	var walk func(addr uint64, level int) error
	walk = func(addr uint64, level int) error {
		if seen[addr] {
			return errorf(addr, "group B-tree cycle")
		}
		seen[addr] = true
		if nodes++; nodes > f.lim.MaxObjects {
			return fmt.Errorf("%w: group B-tree has more than %d nodes", ErrLimit, f.lim.MaxObjects)
		}
		hdrLen := uint64(8 + 2*f.sizeOffsets)
		hdr, err := f.read(addr, hdrLen, "group B-tree node")
		if err != nil {
			return err
		}
		c := &cursor{f: f, b: hdr, at: addr, what: "group B-tree node"}
		if string(c.bytes(4)) != "TREE" {
			return errorf(addr, "bad group B-tree node signature")
		}
		typ := c.u8()
		lvl := int(c.u8())
		entries := uint64(c.u16())
		if typ != 0 {
			return errorf(addr, "group B-tree node of type %d", typ)
		}
		if level >= 0 && lvl != level {
			return errorf(addr, "group B-tree node at level %d, expected %d", lvl, level)
		}
		if lvl > maxTreeDepth {
			return errorf(addr, "group B-tree of %d levels", lvl)
		}
		// Keys (lengths) and children (addresses) alternate: key, child, ..., key.
		pair := uint64(f.sizeLengths + f.sizeOffsets)
		body, err := f.read(addr+hdrLen, entries*pair+uint64(f.sizeLengths), "group B-tree node")
		if err != nil {
			return err
		}
		bc := &cursor{f: f, b: body, at: addr + hdrLen, what: "group B-tree node"}
		for i := uint64(0); i < entries; i++ {
			bc.length()
			child := bc.addr()
			if bc.err != nil {
				return bc.err
			}
			if lvl > 0 {
				err = walk(child, lvl-1)
			} else {
				err = f.symbolNode(child, heap, seen, add)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walk(btree, -1)
}

// symbolNode lists the entries of a symbol table node.
func (f *File) symbolNode(addr uint64, heap localHeap, seen map[uint64]bool, add func(Link) error) error {
	if seen[addr] {
		return errorf(addr, "symbol table node read twice")
	}
	seen[addr] = true
	hdr, err := f.read(addr, 8, "symbol table node")
	if err != nil {
		return err
	}
	if string(hdr[:4]) != "SNOD" {
		return errorf(addr, "bad symbol table node signature")
	}
	if hdr[4] != 1 {
		return errorf(addr, "bad symbol table node version %d", hdr[4])
	}
	n := uint64(hdr[6]) | uint64(hdr[7])<<8
	entry := uint64(2*f.sizeOffsets + 24)
	body, err := f.read(addr+8, n*entry, "symbol table node")
	if err != nil {
		return err
	}
	c := &cursor{f: f, b: body, at: addr + 8, what: "symbol table entry"}
	for i := uint64(0); i < n; i++ {
		nameOff := c.uint(f.sizeOffsets)
		obj := c.addr()
		cache := c.u32()
		c.skip(4)
		scratch := c.bytes(16)
		if c.err != nil {
			return c.err
		}
		name, err := f.heapString(heap, nameOff)
		if err != nil {
			return err
		}
		l := Link{Name: name, Addr: obj, Hard: true}
		if cache == 2 {
			target, err := f.heapString(heap, leUint(scratch[:4]))
			if err != nil {
				return err
			}
			l = Link{Name: name, Target: target}
		}
		if err := add(l); err != nil {
			return err
		}
	}
	return nil
}

type localHeap struct {
	addr uint64 // address of the header
	data uint64 // address of the data segment
	size uint64
}

func (f *File) localHeap(addr uint64) (localHeap, error) {
	b, err := f.read(addr, uint64(8+2*f.sizeLengths+f.sizeOffsets), "local heap")
	if err != nil {
		return localHeap{}, err
	}
	c := &cursor{f: f, b: b, at: addr, what: "local heap"}
	if string(c.bytes(4)) != "HEAP" {
		return localHeap{}, errorf(addr, "bad local heap signature")
	}
	if v := c.u8(); v != 0 {
		return localHeap{}, errorf(addr, "bad local heap version %d", v)
	}
	c.skip(3)
	size := c.length()
	c.length() // free list
	data := c.addr()
	return localHeap{addr: addr, data: data, size: size}, c.err
}

// heapString reads the NUL-terminated string at off in a local heap.
func (f *File) heapString(h localHeap, off uint64) (string, error) {
	if off >= h.size {
		return "", errorf(h.addr, "local heap offset %d past the data segment (%d bytes)", off, h.size)
	}
	var out []byte
	for n := uint64(64); ; n *= 4 {
		want := min(n, h.size-off, maxNameLen+1)
		b, err := f.read(h.data+off, want, "local heap string")
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			out = b[:i]
			break
		}
		if want < n {
			return "", errorf(h.data+off, "unterminated local heap string")
		}
	}
	return string(out), nil
}

// parseLink decodes a link message.
func (f *File) parseLink(b []byte, at uint64) (Link, error) {
	c := &cursor{f: f, b: b, at: at, what: "link message"}
	if v := c.u8(); c.err == nil && v != 1 {
		return Link{}, errorf(at, "bad link message version %d", v)
	}
	flags := c.u8()
	typ := uint8(0)
	if flags&0x08 != 0 {
		typ = c.u8()
	}
	if flags&0x04 != 0 {
		c.skip(8)
	}
	if flags&0x10 != 0 {
		c.skip(1)
	}
	n := c.uint(1 << (flags & 3))
	if c.err == nil && n > maxNameLen {
		return Link{}, errorf(at, "link name of %d bytes", n)
	}
	name := string(c.bytes(int(n)))
	var l Link
	switch typ {
	case 0:
		l = Link{Name: name, Addr: c.addr(), Hard: true}
	default:
		m := int(c.u16())
		l = Link{Name: name, Target: string(c.bytes(m)), External: typ == 64}
		if typ == 64 && len(l.Target) > 0 {
			l.Target = strings.TrimSuffix(l.Target[1:], "\x00") // flags byte, final NUL
		}
	}
	return l, c.err
}

// denseLinks lists the links of a group in dense storage (link info message
// with a fractal heap); compact groups have their links in link messages.
func (f *File) denseLinks(m message, add func(Link) error) error {
	return f.denseIndex(m, "link info message", 8, 5, func(h *fheap, rec []byte, at uint64) error {
		if len(rec) < 5 {
			return errorf(at, "link name index record of %d bytes", len(rec))
		}
		obj, err := f.heapObject(h, rec[4:], at)
		if err != nil {
			return err
		}
		l, err := f.parseLink(obj, at)
		if err != nil {
			return err
		}
		return add(l)
	})
}

// denseAttributes reads the attributes in dense storage (attribute info
// message with a fractal heap).
func (f *File) denseAttributes(m message, add func(Attribute) error) error {
	return f.denseIndex(m, "attribute info message", 2, 8, func(h *fheap, rec []byte, at uint64) error {
		if len(rec) < 9 {
			return errorf(at, "attribute name index record of %d bytes", len(rec))
		}
		if rec[8]&0x02 != 0 {
			return unsupported(at, "shared attribute message in dense storage")
		}
		obj, err := f.heapObject(h, rec[:8], at)
		if err != nil {
			return err
		}
		a, err := f.parseAttribute(obj, at)
		if err != nil {
			return err
		}
		return add(a)
	})
}

// denseIndex reads a link info or attribute info message (version 0, flags,
// the maximum creation index of orderSize bytes when tracked, the fractal
// heap's address and the name index's) and calls visit with the heap and
// each record of the name index, a v2 B-tree of type btreeType.
func (f *File) denseIndex(m message, what string, orderSize int, btreeType uint8, visit func(h *fheap, rec []byte, at uint64) error) error {
	c := &cursor{f: f, b: m.data, at: m.addr, what: what}
	if v := c.u8(); c.err == nil && v != 0 {
		return errorf(m.addr, "bad %s version %d", what, v)
	}
	if flags := c.u8(); flags&0x01 != 0 {
		c.skip(orderSize)
	}
	heapAddr := c.addr()
	nameIndex := c.addr()
	if c.err != nil {
		return c.err
	}
	if heapAddr == undefAddr {
		return nil
	}
	h, err := f.fractalHeap(heapAddr)
	if err != nil {
		return err
	}
	return f.walkBTree2(nameIndex, btreeType, func(rec []byte, at uint64) error { return visit(h, rec, at) })
}

// ExternalTarget returns the file name and the object path that an
// external link names.
func (l Link) ExternalTarget() (file, object string) {
	file, object, _ = strings.Cut(l.Target, "\x00")
	return file, object
}
