package hdf5

import (
	"fmt"
	"math/bits"
)

// gcol is a parsed global heap collection.
type gcol struct {
	objs map[uint16][]byte
}

// globalHeapObject returns the data of object index in the global heap
// collection at addr.
func (f *File) globalHeapObject(addr uint64, index uint32) ([]byte, error) {
	g := f.gcols[addr]
	if g == nil {
		hdrLen := uint64(8 + f.sizeLengths)
		hdr, err := f.read(addr, hdrLen, "global heap collection")
		if err != nil {
			return nil, err
		}
		c := &cursor{f: f, b: hdr, at: addr, what: "global heap collection"}
		if string(c.bytes(4)) != "GCOL" {
			return nil, errorf(addr, "bad global heap collection signature")
		}
		if v := c.u8(); v != 1 {
			return nil, errorf(addr, "bad global heap collection version %d", v)
		}
		c.skip(3)
		size := c.length()
		if c.err != nil {
			return nil, c.err
		}
		if size < hdrLen {
			return nil, errorf(addr, "global heap collection of %d bytes", size)
		}
		b, err := f.read(addr, size, "global heap collection")
		if err != nil {
			return nil, err
		}
		g = &gcol{objs: map[uint16][]byte{}}
		c = &cursor{f: f, b: b, at: addr, what: "global heap object"}
		c.skip(int(hdrLen))
		for c.left() >= 8+f.sizeLengths {
			idx := c.u16()
			c.skip(6) // reference count, reserved
			n := c.length()
			if idx == 0 { // free space
				break
			}
			if n > uint64(c.left()) {
				return nil, errorf(addr+uint64(c.pos), "global heap object %d of %d bytes past the collection end", idx, n)
			}
			g.objs[idx] = c.bytes(int(n))
			c.skip(min(int((n+7)&^7-n), c.left()))
		}
		if c.err != nil {
			return nil, c.err
		}
		if f.gcolBytes += int64(size); f.gcolBytes > 256<<20 {
			f.gcols, f.gcolBytes = map[uint64]*gcol{}, int64(size)
		}
		f.gcols[addr] = g
	}
	obj, ok := g.objs[uint16(index)]
	if !ok || index > 0xFFFF {
		return nil, errorf(addr, "global heap collection has no object %d", index)
	}
	return obj, nil
}

// fheap is a fractal heap header.
type fheap struct {
	addr          uint64
	idLen         int
	filterLen     int
	maxManaged    uint64
	hugeBTree     uint64
	width         uint64
	start         uint64 // starting block size
	maxDirect     uint64 // maximum direct block size
	maxHeapBits   int
	root          uint64
	curRows       int
	checksummed   bool // direct blocks have checksums
	offSize       int  // bytes of a heap offset in IDs and block headers
	lenSize       int  // bytes of a length in managed IDs
	maxDirectRows int
	blocks        map[uint64][]byte // verified direct blocks
	blockBytes    int
	huge          map[uint64][2]uint64 // huge object ID -> address, length
}

func (f *File) fractalHeap(addr uint64) (*fheap, error) {
	if h := f.heaps[addr]; h != nil {
		return h, nil
	}
	O, L := f.sizeOffsets, f.sizeLengths
	size := uint64(4 + 1 + 2 + 2 + 1 + 4 + L + O + L + O + 8*L + 2 + L + L + 2 + 2 + O + 2 + 4)
	b, err := f.read(addr, size, "fractal heap header")
	if err != nil {
		return nil, err
	}
	c := &cursor{f: f, b: b, at: addr, what: "fractal heap header"}
	if string(c.bytes(4)) != "FRHP" {
		return nil, errorf(addr, "bad fractal heap signature")
	}
	if v := c.u8(); v != 0 {
		return nil, errorf(addr, "bad fractal heap version %d", v)
	}
	h := &fheap{addr: addr, blocks: map[uint64][]byte{}}
	h.idLen = int(c.u16())
	h.filterLen = int(c.u16())
	flags := c.u8()
	h.checksummed = flags&0x02 != 0
	h.maxManaged = uint64(c.u32())
	c.length() // next huge object ID
	h.hugeBTree = c.addr()
	c.length() // free space in managed blocks
	c.addr()   // free space manager
	for i := 0; i < 8; i++ {
		c.length() // managed space, allocated, iterator, counts and sizes
	}
	h.width = uint64(c.u16())
	h.start = c.length()
	h.maxDirect = c.length()
	h.maxHeapBits = int(c.u16())
	c.u16() // starting rows of the root indirect block
	h.root = c.addr()
	h.curRows = int(c.u16())
	if c.err != nil {
		return nil, c.err
	}
	if h.filterLen > 0 {
		return nil, unsupported(addr, "fractal heap with I/O filters")
	}
	if !f.lim.IgnoreChecksums {
		if err := f.checksum(b[:c.pos+4], addr, "fractal heap header"); err != nil {
			return nil, err
		}
	}
	pow2 := func(v uint64) bool { return v != 0 && v&(v-1) == 0 }
	switch {
	case h.idLen < 2 || h.idLen > 64:
		return nil, errorf(addr, "fractal heap ID length %d", h.idLen)
	case !pow2(h.width) || h.width > 1<<16:
		return nil, errorf(addr, "fractal heap table width %d", h.width)
	case !pow2(h.start) || !pow2(h.maxDirect) || h.start > h.maxDirect || h.maxDirect > maxBlock:
		return nil, errorf(addr, "fractal heap block sizes %d, %d", h.start, h.maxDirect)
	case h.maxHeapBits < 1 || h.maxHeapBits > 60:
		return nil, errorf(addr, "fractal heap size of %d bits", h.maxHeapBits)
	}
	firstRowBits := log2(h.start) + log2(h.width)
	if firstRowBits > h.maxHeapBits {
		return nil, errorf(addr, "fractal heap first row larger than the heap")
	}
	if maxRows := h.maxHeapBits - firstRowBits + 1; h.curRows > maxRows {
		return nil, errorf(addr, "fractal heap root block of %d rows (at most %d)", h.curRows, maxRows)
	}
	h.offSize = (h.maxHeapBits + 7) / 8
	h.lenSize = min((log2(h.maxDirect)+7)/8, log2(h.maxManaged)/8+1)
	h.maxDirectRows = log2(h.maxDirect) - log2(h.start) + 2
	if len(f.heaps) > 1024 {
		f.heaps = map[uint64]*fheap{}
	}
	f.heaps[addr] = h
	return h, nil
}

// log2 returns floor(log2(v)), and 0 for 0.
func log2(v uint64) int {
	if v == 0 {
		return 0
	}
	return bits.Len64(v) - 1
}

// rowSize returns the size of the blocks of row r of a doubling table.
func (h *fheap) rowSize(r int) uint64 {
	if r == 0 {
		return h.start
	}
	return h.start << (r - 1)
}

// rowOffset returns the heap offset of row r relative to its indirect block.
func (h *fheap) rowOffset(r int) uint64 {
	if r == 0 {
		return 0
	}
	return h.width * h.start << (r - 1)
}

// heapObject returns the object with the heap ID id in the fractal heap h.
func (f *File) heapObject(h *fheap, id []byte, at uint64) ([]byte, error) {
	if len(id) == 0 || id[0]>>6 != 0 {
		return nil, errorf(at, "bad fractal heap ID")
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
		if len(id) < 1+h.offSize+h.lenSize {
			return nil, errorf(at, "fractal heap ID of %d bytes", len(id))
		}
		off := leUint(id[1 : 1+h.offSize])
		n := leUint(id[1+h.offSize : 1+h.offSize+h.lenSize])
		return f.managedObject(h, off, n, at)
	case 1: // huge
		return f.hugeObject(h, id, at)
	case 2: // tiny
		n, data := int(id[0]&0x0F)+1, id[1:]
		if h.idLen > 18 {
			if len(id) < 2 {
				return nil, errorf(at, "bad tiny fractal heap ID")
			}
			n, data = (int(id[0]&0x0F)<<8|int(id[1]))+1, id[2:]
		}
		if n > len(data) {
			return nil, errorf(at, "tiny fractal heap object of %d bytes in a %d-byte ID", n, len(id))
		}
		return data[:n], nil
	}
	return nil, errorf(at, "bad fractal heap ID type")
}

func (f *File) managedObject(h *fheap, off, n uint64, at uint64) ([]byte, error) {
	if n == 0 || n > h.maxDirect || off >= 1<<h.maxHeapBits {
		return nil, errorf(at, "managed fractal heap object of %d bytes at heap offset %d", n, off)
	}
	if h.curRows == 0 {
		return f.directObject(h, h.root, 0, h.start, off, n)
	}
	block, base, rows := h.root, uint64(0), h.curRows
	O := uint64(f.sizeOffsets)
	for depth := 0; depth <= maxTreeDepth; depth++ {
		hdrLen := 5 + O + uint64(h.offSize)
		nDirect := uint64(min(rows, h.maxDirectRows)) * h.width
		nIndirect := uint64(rows)*h.width - nDirect
		size := hdrLen + (nDirect+nIndirect)*O + 4
		b, err := f.read(block, size, "fractal heap indirect block")
		if err != nil {
			return nil, err
		}
		if string(b[:4]) != "FHIB" {
			return nil, errorf(block, "bad fractal heap indirect block signature")
		}
		if err := f.checksum(b, block, "fractal heap indirect block"); err != nil {
			return nil, err
		}
		if got := leUint(b[5+O : hdrLen]); got != base {
			return nil, errorf(block, "fractal heap indirect block at heap offset %d, expected %d", got, base)
		}
		if off < base {
			return nil, errorf(block, "heap offset %d before the block", off)
		}
		rel := off - base
		r := 0
		if q := rel / (h.width * h.start); q > 0 {
			r = bits.Len64(q)
		}
		if r >= rows {
			return nil, errorf(block, "heap offset %d past the indirect block", off)
		}
		col := (rel - h.rowOffset(r)) / h.rowSize(r)
		var pos uint64
		if r < h.maxDirectRows {
			pos = uint64(r)*h.width + col
		} else {
			pos = nDirect + uint64(r-h.maxDirectRows)*h.width + col
		}
		c := &cursor{f: f, b: b[hdrLen+pos*O:], at: block + hdrLen + pos*O, what: "fractal heap indirect block"}
		child := c.addr()
		if c.err != nil {
			return nil, c.err
		}
		if child == undefAddr {
			return nil, errorf(c.at, "heap offset %d in an unallocated block", off)
		}
		childBase := base + h.rowOffset(r) + col*h.rowSize(r)
		if r < h.maxDirectRows {
			return f.directObject(h, child, childBase, h.rowSize(r), off, n)
		}
		block, base = child, childBase
		rows = log2(h.rowSize(r)) - log2(h.start*h.width) + 1
		if rows < 1 {
			return nil, errorf(child, "fractal heap indirect block without rows")
		}
	}
	return nil, errorf(h.addr, "fractal heap deeper than %d levels", maxTreeDepth)
}

func (f *File) directObject(h *fheap, addr, base, size, off, n uint64) ([]byte, error) {
	b := h.blocks[addr]
	if b == nil {
		var err error
		b, err = f.read(addr, size, "fractal heap direct block")
		if err != nil {
			return nil, err
		}
		O := f.sizeOffsets
		hdrLen := 5 + O + h.offSize
		if len(b) < hdrLen || string(b[:4]) != "FHDB" {
			return nil, errorf(addr, "bad fractal heap direct block signature")
		}
		if got := leUint(b[5+O : hdrLen]); got != base {
			return nil, errorf(addr, "fractal heap direct block at heap offset %d, expected %d", got, base)
		}
		if h.checksummed && !f.lim.IgnoreChecksums {
			if len(b) < hdrLen+4 {
				return nil, errorf(addr, "fractal heap direct block too small")
			}
			stored := leUint(b[hdrLen : hdrLen+4])
			tmp := make([]byte, len(b))
			copy(tmp, b)
			clear(tmp[hdrLen : hdrLen+4])
			if uint64(lookup3(tmp)) != stored {
				return nil, errorf(addr, "fractal heap direct block checksum mismatch")
			}
		}
		if h.blockBytes += len(b); h.blockBytes > 64<<20 {
			h.blocks, h.blockBytes = map[uint64][]byte{}, len(b)
		}
		h.blocks[addr] = b
	}
	rel := off - base
	if off < base || rel >= uint64(len(b)) || n > uint64(len(b))-rel {
		return nil, errorf(addr, "heap object of %d bytes at heap offset %d outside its direct block", n, off)
	}
	return b[rel : rel+n], nil
}

func (f *File) hugeObject(h *fheap, id []byte, at uint64) ([]byte, error) {
	O, L := f.sizeOffsets, f.sizeLengths
	var addr, n uint64
	if h.idLen-1 >= O+L {
		if len(id) < 1+O+L {
			return nil, errorf(at, "huge fractal heap ID of %d bytes", len(id))
		}
		c := &cursor{f: f, b: id[1:], at: at, what: "huge fractal heap ID"}
		addr, n = c.addr(), c.length()
	} else {
		k := min(h.idLen-1, 8)
		if len(id) < 1+k {
			return nil, errorf(at, "huge fractal heap ID of %d bytes", len(id))
		}
		key := leUint(id[1 : 1+k])
		if h.huge == nil {
			h.huge = map[uint64][2]uint64{}
			err := f.walkBTree2(h.hugeBTree, 1, func(rec []byte, rat uint64) error {
				c := &cursor{f: f, b: rec, at: rat, what: "huge object record"}
				a, l, k := c.addr(), c.length(), c.length()
				if c.err != nil {
					return c.err
				}
				h.huge[k] = [2]uint64{a, l}
				return nil
			})
			if err != nil {
				h.huge = nil
				return nil, fmt.Errorf("huge objects of the fractal heap at %#x: %w", h.addr, err)
			}
		}
		v, ok := h.huge[key]
		if !ok {
			return nil, errorf(at, "no huge fractal heap object %d", key)
		}
		addr, n = v[0], v[1]
	}
	if n > uint64(f.lim.MaxAttributeBytes)+1<<20 {
		return nil, fmt.Errorf("%w: huge heap object of %d bytes at offset %#x", ErrLimit, n, addr)
	}
	if addr == undefAddr || addr > ^uint64(0)-f.base {
		return nil, errorf(at, "huge heap object address")
	}
	return f.read0(addr, n, "huge fractal heap object")
}

// walkBTree2 calls fn for every record of the version 2 B-tree at addr,
// which must be of type typ.
func (f *File) walkBTree2(addr uint64, typ uint8, fn func(rec []byte, at uint64) error) error {
	O, L := f.sizeOffsets, f.sizeLengths
	b, err := f.read(addr, uint64(4+1+1+4+2+2+1+1+O+2+L+4), "v2 B-tree header")
	if err != nil {
		return err
	}
	c := &cursor{f: f, b: b, at: addr, what: "v2 B-tree header"}
	if string(c.bytes(4)) != "BTHD" {
		return errorf(addr, "bad v2 B-tree header signature")
	}
	if v := c.u8(); v != 0 {
		return errorf(addr, "bad v2 B-tree version %d", v)
	}
	if t := c.u8(); t != typ {
		return errorf(addr, "v2 B-tree of type %d, expected %d", t, typ)
	}
	nodeSize := uint64(c.u32())
	recSize := uint64(c.u16())
	depth := int(c.u16())
	c.skip(2)
	root := c.addr()
	rootN := uint64(c.u16())
	c.length()
	if c.err != nil {
		return c.err
	}
	if err := f.checksum(b, addr, "v2 B-tree header"); err != nil {
		return err
	}
	if recSize == 0 || nodeSize < 10+recSize || nodeSize > 1<<20 || depth > maxTreeDepth {
		return errorf(addr, "v2 B-tree with node size %d, record size %d, depth %d", nodeSize, recSize, depth)
	}
	if root == undefAddr {
		return nil
	}
	// Sizes of the child pointer fields, as H5B2__hdr_init computes them.
	encSize := func(v uint64) int { return log2(v)/8 + 1 }
	maxNrec := make([]uint64, depth+1)
	cumMax := make([]uint64, depth+1)
	cumSize := make([]int, depth+1)
	maxNrec[0] = (nodeSize - 10) / recSize
	cumMax[0] = maxNrec[0]
	nrecSize := encSize(maxNrec[0])
	for d := 1; d <= depth; d++ {
		ptr := uint64(O + nrecSize)
		if d > 1 {
			ptr += uint64(cumSize[d-1])
		}
		if nodeSize < 10+ptr+recSize+ptr {
			return errorf(addr, "v2 B-tree nodes too small for depth %d", depth)
		}
		maxNrec[d] = (nodeSize - (10 + ptr)) / (recSize + ptr)
		hi, lo := bits.Mul64(maxNrec[d]+1, cumMax[d-1])
		sum, carry := bits.Add64(lo, maxNrec[d], 0)
		if hi != 0 || carry != 0 {
			sum = ^uint64(0)
		}
		cumMax[d] = sum
		cumSize[d] = encSize(cumMax[d])
	}
	nodes := 0
	seen := map[uint64]bool{}
	var walk func(addr uint64, d int, nrec uint64) error
	walk = func(addr uint64, d int, nrec uint64) error {
		if seen[addr] {
			return errorf(addr, "v2 B-tree cycle")
		}
		seen[addr] = true
		if nodes++; nodes > f.lim.MaxObjects {
			return fmt.Errorf("%w: v2 B-tree with more than %d nodes", ErrLimit, f.lim.MaxObjects)
		}
		if nrec > maxNrec[d] {
			return errorf(addr, "v2 B-tree node with %d records (at most %d)", nrec, maxNrec[d])
		}
		b, err := f.read(addr, nodeSize, "v2 B-tree node")
		if err != nil {
			return err
		}
		sig := "BTLF"
		if d > 0 {
			sig = "BTIN"
		}
		c := &cursor{f: f, b: b, at: addr, what: "v2 B-tree node"}
		if string(c.bytes(4)) != sig || c.u8() != 0 || c.u8() != typ {
			return errorf(addr, "bad v2 B-tree node header (want %s type %d)", sig, typ)
		}
		recs := c.bytes(int(nrec * recSize))
		type child struct {
			addr uint64
			n    uint64
		}
		var kids []child
		if d > 0 {
			for i := uint64(0); i <= nrec; i++ {
				a := c.addr()
				n := c.uint(nrecSize)
				if d > 1 {
					c.uint(cumSize[d-1])
				}
				kids = append(kids, child{a, n})
			}
		}
		end := c.pos
		c.u32()
		if c.err != nil {
			return c.err
		}
		if err := f.checksum(b[:end+4], addr, "v2 B-tree node"); err != nil {
			return err
		}
		for i := uint64(0); i < nrec; i++ {
			if err := fn(recs[i*recSize:(i+1)*recSize], addr); err != nil {
				return err
			}
		}
		for _, k := range kids {
			if err := walk(k.addr, d-1, k.n); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, depth, rootN)
}
