package zipreader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// Record signatures and fixed lengths.
const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEOCD       = 0x06054b50
	sigEOCD64     = 0x06064b50
	sigLocator64  = 0x07064b50
	sigDescriptor = 0x08074b50
	sigDigitalSig = 0x05054b50
	sigExtraData  = 0x08064b50

	lenLocal     = 30
	lenCentral   = 46
	lenEOCD      = 22
	lenEOCD64    = 56
	lenLocator64 = 20

	zip64ExtraID = 0x0001

	sat16 = 0xffff
	sat32 = 0xffffffff
)

var pk = []byte("PK")

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// toInt64 converts a 64-bit size or offset, saturating at math.MaxInt64 so
// that sums with it stay comparable; ok is false when it saturated.
func toInt64(v uint64) (int64, bool) {
	if v > math.MaxInt64 {
		return math.MaxInt64, false
	}
	return int64(v), true
}

// addOff adds two non-negative offsets, saturating at math.MaxInt64.
func addOff(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// dosTime converts an MS-DOS date and time; zero for zero fields.
func dosTime(date, tm uint16) time.Time {
	if date == 0 && tm == 0 {
		return time.Time{}
	}
	return time.Date(1980+int(date>>9), time.Month(date>>5&0xf), int(date&0x1f),
		int(tm>>11), int(tm>>5&0x3f), int(tm&0x1f)*2, 0, time.UTC)
}

// source is the input, bounded to [0, size): no read goes outside.
type source struct {
	r    io.ReaderAt
	size int64
}

// ReadAt reads within [0, size) and returns io.EOF at or beyond size.
func (s source) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("zipreader: negative offset %d", off)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	short := false
	if rem := s.size - off; int64(len(p)) > rem {
		p = p[:rem]
		short = true
	}
	n, err := s.r.ReadAt(p, off)
	if n > len(p) || n < 0 {
		n = 0
		err = io.ErrUnexpectedEOF
	}
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// cache serves small reads from a window of the input, so that the walk of
// the local headers and the scans for signatures read each byte about once.
type cache struct {
	src source
	buf []byte
	off int64
	n   int
}

const cacheSize = 64 << 10

func newCache(src source) *cache {
	return &cache{src: src, buf: make([]byte, cacheSize)}
}

// at returns n bytes at off, or ok false when they are not all in the input.
// The slice is valid until the next call.
func (c *cache) at(off int64, n int) ([]byte, bool) {
	if off < 0 || n < 0 || off > c.src.size || int64(n) > c.src.size-off {
		return nil, false
	}
	if off >= c.off && off+int64(n) <= c.off+int64(c.n) {
		i := int(off - c.off)
		return c.buf[i : i+n], true
	}
	if n > len(c.buf) {
		b := make([]byte, n)
		got, _ := c.src.ReadAt(b, off)
		return b, got == n
	}
	// Point reads (headers) fill a small window: a central directory may
	// send them anywhere, and each should cost a small read.
	c.fill(off, max(n, pointRead))
	if c.n < n {
		return nil, false
	}
	return c.buf[:n], true
}

// pointRead is how much a point read fills the cache with: a local header
// with its name, or a data descriptor and the next header.
const pointRead = 512

func (c *cache) fill(off int64, want int) {
	m := min(int64(want), int64(len(c.buf)), c.src.size-off)
	got, _ := c.src.ReadAt(c.buf[:m], off)
	c.off, c.n = off, got
}

// window returns the bytes from off up to limit that the cache holds,
// refilling it when it holds fewer than 4.
func (c *cache) window(off, limit int64) []byte {
	if !(off >= c.off && off+4 <= c.off+int64(c.n)) {
		c.fill(off, len(c.buf))
	}
	b := c.buf[off-c.off : c.n]
	if rem := limit - off; int64(len(b)) > rem {
		b = b[:rem]
	}
	return b
}

// scan finds the first offset in [from, limit) where a signature accepted by
// match starts (the whole signature inside [from, limit)).
func (c *cache) scan(from, limit int64, match func(uint32) bool) (int64, uint32, bool) {
	limit = min(limit, c.src.size)
	pos := max(from, 0)
	for pos+4 <= limit {
		b := c.window(pos, limit)
		if len(b) < 4 {
			return 0, 0, false
		}
		for i := 0; ; {
			j := bytes.Index(b[i:], pk)
			if j < 0 || i+j+4 > len(b) {
				break
			}
			k := i + j
			if sig := le32(b[k:]); match(sig) {
				return pos + int64(k), sig, true
			}
			i = k + 1
		}
		pos += int64(len(b) - 3)
	}
	return 0, 0, false
}

// sigAt returns the signature at off, or 0.
func (c *cache) sigAt(off int64) uint32 {
	b, ok := c.at(off, 4)
	if !ok {
		return 0
	}
	return le32(b)
}

func isLocalSig(s uint32) bool { return s == sigLocal }

// isRecordSig reports signatures that may follow an entry's data.
func isRecordSig(s uint32) bool {
	switch s {
	case sigLocal, sigCentral, sigEOCD, sigEOCD64, sigLocator64, sigDigitalSig, sigExtraData:
		return true
	}
	return false
}

// isBoundarySig reports signatures that end the data of an entry whose size
// is unknown.
func isBoundarySig(s uint32) bool {
	return s == sigDescriptor || isRecordSig(s)
}

// localHeader is a parsed local file header.
type localHeader struct {
	off              int64
	version          uint16
	flags, method    uint16
	modTime, modDate uint16
	crc              uint32
	rawCSize         uint32
	rawUSize         uint32
	csize, usize     int64 // after the ZIP64 extra field
	zip64            bool  // a ZIP64 extra field is present
	zip64Problem     string
	name             string // possibly cut, see readLocal
	nameLen          int    // declared length of the name
	dataOff          int64
}

// readLocal parses the local file header at off, reading at most maxName
// bytes of its name (the header still counts its whole length).
func (c *cache) readLocal(off int64, maxName int) (*localHeader, bool) {
	b, ok := c.at(off, lenLocal)
	if !ok || le32(b) != sigLocal {
		return nil, false
	}
	h := &localHeader{
		off:      off,
		version:  le16(b[4:]),
		flags:    le16(b[6:]),
		method:   le16(b[8:]),
		modTime:  le16(b[10:]),
		modDate:  le16(b[12:]),
		crc:      le32(b[14:]),
		rawCSize: le32(b[18:]),
		rawUSize: le32(b[22:]),
	}
	nameLen, extraLen := int(le16(b[26:])), int(le16(b[28:]))
	h.nameLen = nameLen
	h.csize, h.usize = int64(h.rawCSize), int64(h.rawUSize)
	h.dataOff = off + lenLocal + int64(nameLen+extraLen)
	if h.dataOff > c.src.size {
		return nil, false
	}
	name, ok := c.at(off+lenLocal, min(nameLen, maxName))
	if !ok {
		return nil, false
	}
	h.name = string(name)
	if z, found := c.findExtra(off+lenLocal+int64(nameLen), extraLen, zip64ExtraID); found {
		h.zip64 = true
		h.zip64Problem = localZip64(h, z)
	} else if (h.rawCSize == sat32 || h.rawUSize == sat32) && h.flags&FlagDataDescriptor == 0 {
		h.zip64Problem = "local header sizes are 0xFFFFFFFF but it has no ZIP64 extra field"
	}
	return h, true
}

// maxExtraFields bounds how many fields of an extra field are looked at.
const maxExtraFields = 64

// findExtra returns the data of the first field with the given id in the
// extra field of n bytes at off, looking at maxExtraFields fields at most.
func (c *cache) findExtra(off int64, n int, id uint16) ([]byte, bool) {
	end := off + int64(n)
	for i := 0; i < maxExtraFields && off+4 <= end; i++ {
		b, ok := c.at(off, 4)
		if !ok {
			return nil, false
		}
		fid, m := le16(b), int64(le16(b[2:]))
		off += 4
		if off+m > end {
			return nil, false
		}
		if fid == id {
			d, ok := c.at(off, int(min(m, 64)))
			return bytes.Clone(d), ok
		}
		off += m
	}
	return nil, false
}

// localZip64 applies the ZIP64 extra field of a local header and returns a
// description of any inconsistency.
func localZip64(h *localHeader, z []byte) string {
	if h.flags&FlagDataDescriptor != 0 && h.rawCSize != sat32 && h.rawUSize != sat32 {
		// Sizes deferred to the data descriptor: miniz (PyTorch) still
		// writes a ZIP64 field with the sizes and offset of a big entry.
		return ""
	}
	var vals []uint64
	for i := 0; i+8 <= len(z); i += 8 {
		vals = append(vals, le64(z[i:]))
	}
	next := func() (uint64, bool) {
		if len(vals) == 0 {
			return 0, false
		}
		v := vals[0]
		vals = vals[1:]
		return v, true
	}
	both := len(vals) >= 2
	var problems []string
	u, uok := uint64(0), false
	if h.rawUSize == sat32 || both {
		u, uok = next()
	}
	cs, cok := uint64(0), false
	if h.rawCSize == sat32 || both {
		cs, cok = next()
	}
	if h.rawUSize == sat32 {
		if !uok {
			problems = append(problems, "the ZIP64 extra field lacks the uncompressed size")
		} else {
			h.usize, _ = toInt64(u)
		}
	} else if uok && u != uint64(h.rawUSize) {
		problems = append(problems, fmt.Sprintf("ZIP64 uncompressed size %d differs from the header's %d", u, h.rawUSize))
	}
	if h.rawCSize == sat32 {
		if !cok {
			problems = append(problems, "the ZIP64 extra field lacks the compressed size")
		} else {
			h.csize, _ = toInt64(cs)
		}
	} else if cok && cs != uint64(h.rawCSize) {
		problems = append(problems, fmt.Sprintf("ZIP64 compressed size %d differs from the header's %d", cs, h.rawCSize))
	}
	if len(problems) == 0 {
		return ""
	}
	return "local header: " + join(problems)
}

func join(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}

// findExtra returns the data of the first extra field with the given id.
func findExtra(extra []byte, id uint16) ([]byte, bool) {
	for i := 0; i < maxExtraFields && len(extra) >= 4; i++ {
		fid, n := le16(extra), int(le16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			return nil, false
		}
		if fid == id {
			return extra[:n], true
		}
		extra = extra[n:]
	}
	return nil, false
}

// centralRecord is a parsed central directory file header.
type centralRecord struct {
	madeBy, version  uint16
	flags, method    uint16
	modTime, modDate uint16
	crc              uint32
	csize, usize     int64
	offset           int64  // of the local header, before the view's base
	external         uint32 // external file attributes
	disk             uint32
	name, comment    string
	zip64Problem     string
	pos              int64 // of the record itself
}

// parseCentral parses a central directory header: b holds the fixed part,
// rest the name, extra field and comment.
func parseCentral(b, rest []byte, pos int64) centralRecord {
	r := centralRecord{
		madeBy:   le16(b[4:]),
		version:  le16(b[6:]),
		flags:    le16(b[8:]),
		method:   le16(b[10:]),
		modTime:  le16(b[12:]),
		modDate:  le16(b[14:]),
		crc:      le32(b[16:]),
		external: le32(b[38:]),
		disk:     uint32(le16(b[34:])),
		pos:      pos,
	}
	rawC, rawU, rawOff := le32(b[20:]), le32(b[24:]), le32(b[42:])
	nameLen, extraLen := int(le16(b[28:])), int(le16(b[30:]))
	r.name = string(rest[:nameLen])
	extra := rest[nameLen : nameLen+extraLen]
	r.comment = string(rest[nameLen+extraLen:])
	r.csize, r.usize, r.offset = int64(rawC), int64(rawU), int64(rawOff)

	needU, needC, needO, needD := rawU == sat32, rawC == sat32, rawOff == sat32, r.disk == sat16
	z, found := findExtra(extra, zip64ExtraID)
	if !found {
		if needU || needC || needO {
			r.zip64Problem = "central directory fields are 0xFFFFFFFF but there is no ZIP64 extra field"
		}
		return r
	}
	var problems []string
	take := func(need bool, what string, set func(uint64)) {
		if !need {
			return
		}
		if len(z) < 8 {
			problems = append(problems, "the ZIP64 extra field lacks the "+what)
			return
		}
		set(le64(z))
		z = z[8:]
	}
	sat := false
	take(needU, "uncompressed size", func(v uint64) {
		var ok bool
		if r.usize, ok = toInt64(v); !ok {
			sat = true
		}
	})
	take(needC, "compressed size", func(v uint64) {
		var ok bool
		if r.csize, ok = toInt64(v); !ok {
			sat = true
		}
	})
	take(needO, "local header offset", func(v uint64) {
		var ok bool
		if r.offset, ok = toInt64(v); !ok {
			sat = true
		}
	})
	if needD {
		if len(z) < 4 {
			problems = append(problems, "the ZIP64 extra field lacks the disk number")
		} else {
			r.disk = le32(z)
		}
	}
	if sat {
		problems = append(problems, "a ZIP64 value exceeds 2^63")
	}
	if len(problems) > 0 {
		r.zip64Problem = "central directory: " + join(problems)
	}
	return r
}

// descriptor is a parsed data descriptor.
type descriptor struct {
	crc          uint32
	csize, usize int64
	length       int64 // bytes it occupies
	signed       bool
}

// descriptorAt parses the data descriptor at off for data of dataLen bytes.
// A descriptor is accepted when its compressed size equals dataLen, or, when
// lax is set, when it starts with the descriptor signature. zip64 tries the
// 8-byte size form first.
func (c *cache) descriptorAt(off, dataLen int64, zip64, lax bool) (descriptor, bool) {
	b, _ := c.at(off, 4)
	signed := len(b) == 4 && le32(b) == sigDescriptor
	forms := [2]int{12, 20}
	if zip64 {
		forms = [2]int{20, 12}
	}
	start := int64(0)
	if signed {
		start = 4
	}
	var first descriptor
	haveFirst := false
	for _, n := range forms {
		d, ok := c.at(off+start, n)
		if !ok {
			continue
		}
		desc := descriptor{crc: le32(d), length: start + int64(n), signed: signed}
		if n == 12 {
			desc.csize, desc.usize = int64(le32(d[4:])), int64(le32(d[8:]))
		} else {
			desc.csize, _ = toInt64(le64(d[4:]))
			desc.usize, _ = toInt64(le64(d[12:]))
		}
		if desc.csize == dataLen {
			return desc, true
		}
		if !haveFirst {
			first, haveFirst = desc, true
		}
	}
	if lax && signed && haveFirst {
		return first, true
	}
	return descriptor{}, false
}
