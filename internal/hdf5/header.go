package hdf5

import (
	"encoding/binary"
	"fmt"
)

// cursor decodes little-endian fields from a block read from the file. The
// first error sticks: later reads return zeros.
type cursor struct {
	f    *File
	b    []byte
	pos  int
	at   uint64 // address of b[0], for error messages
	what string
	err  error
}

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || n > len(c.b)-c.pos {
		c.err = errorf(c.at+uint64(c.pos), "%s truncated (%d more bytes needed, %d left)", c.what, n, len(c.b)-c.pos)
		return false
	}
	return true
}

func (c *cursor) left() int { return len(c.b) - c.pos }

func (c *cursor) skip(n int) {
	if c.need(n) {
		c.pos += n
	}
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	b := c.b[c.pos : c.pos+n]
	c.pos += n
	return b
}

func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	v := c.b[c.pos]
	c.pos++
	return v
}

func (c *cursor) u16() uint16 { return uint16(c.uint(2)) }
func (c *cursor) u32() uint32 { return uint32(c.uint(4)) }

// uint reads an n-byte (0 to 8) little-endian unsigned integer.
func (c *cursor) uint(n int) uint64 {
	if n > 8 {
		c.err = errorf(c.at+uint64(c.pos), "%s: %d-byte integer", c.what, n)
		return 0
	}
	b := c.bytes(n)
	return leUint(b)
}

func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// addr reads an address; all ones (undefined) becomes undefAddr.
func (c *cursor) addr() uint64 {
	n := c.f.sizeOffsets
	v := c.uint(n)
	if c.err == nil && n < 8 && v == 1<<(8*n)-1 {
		return undefAddr
	}
	return v
}

// length reads a "size of lengths" field.
func (c *cursor) length() uint64 { return c.uint(c.f.sizeLengths) }

// message is one header message.
type message struct {
	typ   uint16
	flags uint8
	data  []byte
	addr  uint64 // address of data
}

type chunk struct {
	addr, size uint64
}

// readHeader reads the messages of the object header at addr, following
// continuation messages.
func (f *File) readHeader(addr uint64) ([]message, error) {
	if addr == undefAddr {
		return nil, errorf(addr, "undefined object header address")
	}
	pre, err := f.readUpTo(addr, 16, "object header")
	if err != nil {
		return nil, err
	}
	var msgs []message
	var pending []chunk
	seen := map[uint64]bool{addr: true}
	addMsg := func(m message) error {
		if len(msgs) >= f.lim.MaxHeaderMessages {
			return fmt.Errorf("%w: object header at %#x has more than %d messages", ErrLimit, addr, f.lim.MaxHeaderMessages)
		}
		if m.typ == msgContinuation {
			c := &cursor{f: f, b: m.data, at: m.addr, what: "continuation message"}
			ch := chunk{c.addr(), c.length()}
			if c.err != nil {
				return c.err
			}
			if seen[ch.addr] {
				return errorf(m.addr, "object header continuation cycle (block %#x already read)", ch.addr)
			}
			seen[ch.addr] = true
			pending = append(pending, ch)
		}
		msgs = append(msgs, m)
		return nil
	}
	if len(pre) >= 4 && string(pre[:4]) == "OHDR" {
		// Version 2.
		b, err := f.readUpTo(addr, 64, "object header")
		if err != nil {
			return nil, err
		}
		c := &cursor{f: f, b: b, at: addr, what: "object header"}
		c.skip(4)
		if v := c.u8(); c.err == nil && v != 2 {
			return nil, unsupported(addr, "object header version %d", v)
		}
		flags := c.u8()
		if flags&0x20 != 0 {
			c.skip(16)
		}
		if flags&0x10 != 0 {
			c.skip(4)
		}
		size := c.uint(1 << (flags & 3))
		if c.err != nil {
			return nil, c.err
		}
		start := uint64(c.pos)
		if size > uint64(f.size) {
			return nil, errorf(addr, "object header chunk of %d bytes is larger than the file", size)
		}
		whole, err := f.read(addr, start+size+4, "object header")
		if err != nil {
			return nil, err
		}
		if err := f.checksum(whole, addr, "object header"); err != nil {
			return nil, err
		}
		if err := f.parseMessagesV2(whole[start:start+size], addr+start, flags, addMsg); err != nil {
			return nil, err
		}
		for len(pending) > 0 {
			ch := pending[0]
			pending = pending[1:]
			b, err := f.read(ch.addr, ch.size, "object header continuation block")
			if err != nil {
				return nil, err
			}
			if len(b) < 8 || string(b[:4]) != "OCHK" {
				return nil, errorf(ch.addr, "bad object header continuation block signature")
			}
			if err := f.checksum(b, ch.addr, "object header continuation block"); err != nil {
				return nil, err
			}
			if err := f.parseMessagesV2(b[4:len(b)-4], ch.addr+4, flags, addMsg); err != nil {
				return nil, err
			}
		}
		return msgs, nil
	}
	// Version 1.
	c := &cursor{f: f, b: pre, at: addr, what: "object header"}
	if v := c.u8(); c.err == nil && v != 1 {
		return nil, errorf(addr, "bad object header version %d", v)
	}
	c.skip(1)
	c.u16() // number of messages
	c.u32() // reference count
	size := uint64(c.u32())
	if c.err != nil {
		return nil, c.err
	}
	seen[addr+16] = true
	pending = append(pending, chunk{addr + 16, size})
	for len(pending) > 0 {
		ch := pending[0]
		pending = pending[1:]
		b, err := f.read(ch.addr, ch.size, "object header block")
		if err != nil {
			return nil, err
		}
		c := &cursor{f: f, b: b, at: ch.addr, what: "object header message"}
		for c.err == nil && c.left() >= 8 {
			typ := c.u16()
			n := int(c.u16())
			flags := c.u8()
			c.skip(3)
			at := ch.addr + uint64(c.pos)
			data := c.bytes(n)
			if c.err != nil {
				return nil, c.err
			}
			if typ == msgNil {
				continue
			}
			if err := addMsg(message{typ: typ, flags: flags, data: data, addr: at}); err != nil {
				return nil, err
			}
		}
	}
	return msgs, nil
}

func (f *File) parseMessagesV2(b []byte, at uint64, hflags uint8, add func(message) error) error {
	hdr := 4
	if hflags&0x04 != 0 {
		hdr = 6
	}
	c := &cursor{f: f, b: b, at: at, what: "object header message"}
	for c.err == nil && c.left() >= hdr {
		typ := c.u8()
		n := int(c.u16())
		flags := c.u8()
		if hdr == 6 {
			c.skip(2)
		}
		mat := at + uint64(c.pos)
		data := c.bytes(n)
		if c.err != nil {
			return c.err
		}
		if typ == msgNil {
			continue
		}
		if err := add(message{typ: uint16(typ), flags: flags, data: data, addr: mat}); err != nil {
			return err
		}
	}
	return c.err
}

// checksum verifies the Jenkins lookup3 checksum stored in the last four
// bytes of b.
func (f *File) checksum(b []byte, at uint64, what string) error {
	if len(b) < 4 {
		return errorf(at, "%s too short for a checksum", what)
	}
	if f.lim.IgnoreChecksums {
		return nil
	}
	n := len(b) - 4
	if lookup3(b[:n]) != binary.LittleEndian.Uint32(b[n:]) {
		return errorf(at, "%s checksum mismatch", what)
	}
	return nil
}

// lookup3 is Bob Jenkins' hashlittle with an initial value of 0, the
// checksum of HDF5 metadata.
func lookup3(k []byte) uint32 {
	length := len(k)
	a := uint32(0xdeadbeef) + uint32(length)
	b, c := a, a
	rot := func(x uint32, n uint) uint32 { return x<<n | x>>(32-n) }
	for length > 12 {
		a += binary.LittleEndian.Uint32(k[0:])
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a -= c
		a ^= rot(c, 4)
		c += b
		b -= a
		b ^= rot(a, 6)
		a += c
		c -= b
		c ^= rot(b, 8)
		b += a
		a -= c
		a ^= rot(c, 16)
		c += b
		b -= a
		b ^= rot(a, 19)
		a += c
		c -= b
		c ^= rot(b, 4)
		b += a
		k = k[12:]
		length -= 12
	}
	if length == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], k)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c
}
