package deps

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// A streaming reader of zip archives for the OSV export: the central
// directory is read one header at a time and handed to a callback, never
// held, so an export of millions of entries costs no more memory than
// one of ten (archive/zip keeps about 230 bytes per entry). Only what an
// export needs: stored and deflated entries, zip64, no encryption.

// zipError is an archive that is not a well-formed zip.
type zipError struct{ msg string }

func (e *zipError) Error() string { return e.msg }

func zipErrorf(format string, a ...any) error { return &zipError{fmt.Sprintf(format, a...)} }

// Signatures and fixed lengths of the zip records (APPNOTE 6.3.10).
const (
	zipLocalSig     = "PK\x03\x04"
	zipCentralSig   = "PK\x01\x02"
	zipEndSig       = "PK\x05\x06"
	zip64EndSig     = "PK\x06\x06"
	zip64LocatorSig = "PK\x06\x07"
	zipLocalLen     = 30
	zipCentralLen   = 46
	zipEndLen       = 22
	zip64EndLen     = 56
	zip64LocatorLen = 20
)

// zipEntry is one entry of the central directory.
type zipEntry struct {
	r              io.ReaderAt
	size64         int64 // size of the archive
	base           int64 // bytes before the archive (a self-extracting stub)
	name           string
	flags, method  uint16
	crc            uint32
	compressedSize uint64
	size           uint64
	offset         uint64 // of the local header
	fl             *flateReader
}

// flateReader is a deflate decompressor reused across entries.
type flateReader struct{ rc io.ReadCloser }

// zipDirectory is where the central directory lies.
type zipDirectory struct {
	base, start, size int64
	entries           uint64
	zip64             bool
}

// findZipDirectory reads the end of central directory record (and the
// zip64 one it points to) at the end of an archive of size bytes.
func findZipDirectory(r io.ReaderAt, size int64) (zipDirectory, error) {
	var d zipDirectory
	n := min(size, zipEndLen+0xffff)
	if n < zipEndLen {
		return d, zipErrorf("file of %d bytes is too short for a zip", size)
	}
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return d, zipErrorf("end of central directory: %v", err)
	}
	at := -1
	for i := len(tail) - zipEndLen; i >= 0; i-- {
		if string(tail[i:i+4]) == zipEndSig {
			if int(binary.LittleEndian.Uint16(tail[i+20:]))+zipEndLen+i <= len(tail) {
				at = i
			}
			break
		}
	}
	if at < 0 {
		return d, zipErrorf("no end of central directory record")
	}
	end := tail[at:]
	endOffset := size - n + int64(at)
	d.entries = uint64(binary.LittleEndian.Uint16(end[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(end[12:]))
	dirOffset := uint64(binary.LittleEndian.Uint32(end[16:]))
	if (d.entries == 0xffff || dirSize == 0xffffffff || dirOffset == 0xffffffff) && endOffset >= zip64LocatorLen {
		loc := make([]byte, zip64LocatorLen)
		if _, err := r.ReadAt(loc, endOffset-zip64LocatorLen); err != nil {
			return d, zipErrorf("zip64 locator: %v", err)
		}
		if string(loc[:4]) == zip64LocatorSig {
			off := binary.LittleEndian.Uint64(loc[8:])
			if size < zip64EndLen || off > uint64(size-zip64EndLen) {
				return d, zipErrorf("zip64 end record out of the file")
			}
			e64 := make([]byte, zip64EndLen)
			if _, err := r.ReadAt(e64, int64(off)); err != nil {
				return d, zipErrorf("zip64 end record: %v", err)
			}
			if string(e64[:4]) != zip64EndSig {
				return d, zipErrorf("bad zip64 end record")
			}
			d.entries = binary.LittleEndian.Uint64(e64[32:])
			dirSize = binary.LittleEndian.Uint64(e64[40:])
			dirOffset = binary.LittleEndian.Uint64(e64[48:])
			endOffset = int64(off)
			d.zip64 = true
		}
	}
	if dirSize > uint64(endOffset) || dirOffset > uint64(endOffset)-dirSize {
		return d, zipErrorf("central directory out of the file")
	}
	d.size = int64(dirSize)
	d.base = endOffset - d.size - int64(dirOffset)
	d.start = d.base + int64(dirOffset)
	return d, nil
}

// eachZipEntry calls fn with each entry of the central directory, in
// order. An archive of more than maxEntries entries is an error before
// any is handed out, as is one whose directory does not hold the
// entries its end record counts (only their count modulo 65536 for a
// zip without zip64, as archive/zip).
func eachZipEntry(r io.ReaderAt, size int64, maxEntries int, fn func(*zipEntry) error) error {
	d, err := findZipDirectory(r, size)
	if err != nil {
		return err
	}
	if d.zip64 && d.entries > uint64(maxEntries) {
		return fmt.Errorf("%d zip entries, more than %d", d.entries, maxEntries)
	}
	if d.zip64 && d.entries > uint64(d.size)/zipCentralLen {
		return zipErrorf("%d entries cannot fit a central directory of %d bytes", d.entries, d.size)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, d.start, d.size), 64<<10)
	fl := &flateReader{}
	defer fl.close()
	hdr := make([]byte, zipCentralLen)
	vbuf := make([]byte, 2*0xffff)
	var count uint64
	for {
		if _, err := io.ReadFull(br, hdr[:4]); err == io.EOF {
			break
		} else if err != nil {
			return zipErrorf("central directory: %v", err)
		}
		if string(hdr[:4]) != zipCentralSig {
			return zipErrorf("central directory: bad header at entry %d", count)
		}
		if count++; count > uint64(maxEntries) {
			return fmt.Errorf("more than %d zip entries", maxEntries)
		}
		if _, err := io.ReadFull(br, hdr[4:]); err != nil {
			return zipErrorf("central directory: %v", err)
		}
		e := &zipEntry{r: r, size64: size, base: d.base, fl: fl,
			flags:          binary.LittleEndian.Uint16(hdr[8:]),
			method:         binary.LittleEndian.Uint16(hdr[10:]),
			crc:            binary.LittleEndian.Uint32(hdr[16:]),
			compressedSize: uint64(binary.LittleEndian.Uint32(hdr[20:])),
			size:           uint64(binary.LittleEndian.Uint32(hdr[24:])),
			offset:         uint64(binary.LittleEndian.Uint32(hdr[42:])),
		}
		nameLen := int(binary.LittleEndian.Uint16(hdr[28:]))
		extraLen := int(binary.LittleEndian.Uint16(hdr[30:]))
		commentLen := int(binary.LittleEndian.Uint16(hdr[32:]))
		vl := vbuf[:nameLen+extraLen]
		if _, err := io.ReadFull(br, vl); err != nil {
			return zipErrorf("central directory: %v", err)
		}
		e.name = string(vl[:nameLen])
		if err := e.zip64Extra(vl[nameLen:]); err != nil {
			return err
		}
		if _, err := br.Discard(commentLen); err != nil {
			return zipErrorf("central directory: %v", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if count != d.entries && (d.zip64 || uint16(count) != uint16(d.entries)) {
		return zipErrorf("central directory holds %d entries, its end record says %d", count, d.entries)
	}
	return nil
}

// zip64Extra reads the zip64 extended information of an entry's extra
// field: the 64-bit values of the fields its header sets to all ones.
func (e *zipEntry) zip64Extra(extra []byte) error {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		if n > len(extra)-4 {
			return zipErrorf("%s: bad extra field", e.name)
		}
		field := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != 0x0001 {
			continue
		}
		for _, v := range []*uint64{&e.size, &e.compressedSize, &e.offset} {
			if *v != 0xffffffff {
				continue
			}
			if len(field) < 8 {
				return zipErrorf("%s: short zip64 extra field", e.name)
			}
			*v = binary.LittleEndian.Uint64(field)
			field = field[8:]
		}
	}
	return nil
}

// read writes the uncompressed bytes of the entry to w: at most limit
// of them (more is an error), checked against the size and CRC-32 of
// the central directory.
func (e *zipEntry) read(w *bytes.Buffer, limit int64) error {
	if e.flags&0x1 != 0 {
		return zipErrorf("encrypted entry")
	}
	var hdr [zipLocalLen]byte
	if e.offset > uint64(e.size64) {
		return zipErrorf("entry out of the file")
	}
	local := e.base + int64(e.offset)
	if _, err := e.r.ReadAt(hdr[:], local); err != nil {
		return zipErrorf("local header: %v", err)
	}
	if string(hdr[:4]) != zipLocalSig {
		return zipErrorf("bad local header")
	}
	data := local + zipLocalLen + int64(binary.LittleEndian.Uint16(hdr[26:])) + int64(binary.LittleEndian.Uint16(hdr[28:]))
	if e.compressedSize > uint64(e.size64) || data > e.size64-int64(e.compressedSize) {
		return zipErrorf("entry data out of the file")
	}
	var src io.Reader = io.NewSectionReader(e.r, data, int64(e.compressedSize))
	switch e.method {
	case 0:
	case 8:
		src = e.fl.reset(src)
	default:
		return zipErrorf("compression method %d not supported", e.method)
	}
	start := w.Len()
	n, err := w.ReadFrom(io.LimitReader(src, limit+1))
	if err != nil {
		return zipErrorf("%v", err)
	}
	if n > limit {
		return fmt.Errorf("record exceeds %d bytes", limit)
	}
	if uint64(n) != e.size || crc32.ChecksumIEEE(w.Bytes()[start:]) != e.crc {
		return zipErrorf("size or checksum does not match the central directory")
	}
	return nil
}

// reset points the decompressor at a new deflate stream.
func (f *flateReader) reset(src io.Reader) io.Reader {
	if f.rc == nil {
		f.rc = flate.NewReader(src)
	} else if err := f.rc.(flate.Resetter).Reset(src, nil); err != nil {
		f.rc = flate.NewReader(src)
	}
	return f.rc
}

func (f *flateReader) close() {
	if f.rc != nil {
		f.rc.Close()
	}
}
