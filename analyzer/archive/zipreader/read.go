package zipreader

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
)

// Decoder limits: fixed, whatever the archive declares.
const (
	maxZstdWindow = 64 << 20
	maxLZMADict   = 64 << 20
)

func methodSupported(m uint16) bool {
	switch m {
	case Store, Deflate, BZIP2, LZMA, Zstd:
		return true
	}
	return false
}

// dataSpan returns how many bytes of data a reader of e reads (want) and how
// many of them the input holds (avail). A stored entry is read for the
// larger of its two sizes: miniz (PyTorch) reads the uncompressed size,
// Python's zipfile and streaming readers the compressed one.
func (a *Archive) dataSpan(e *Entry) (want, avail int64) {
	want = max(e.CompressedSize, 0)
	if e.Method == Store && !e.Encrypted && e.UncompressedSize > want {
		want = e.UncompressedSize
	}
	avail = max(min(want, a.Size-e.DataOffset), 0)
	return want, avail
}

// Open returns a reader of the uncompressed bytes of e, which must be an
// entry of a. The reader is an *EntryReader: its Anomalies method tells,
// after io.EOF, whether the CRC-32 or the size did not match (which is not an
// error: loaders such as PyTorch read such data). Open returns an error
// wrapping ErrEncrypted, ErrUnsupportedMethod or ErrNoLocalHeader when the
// data cannot be read.
func (a *Archive) Open(e *Entry) (io.ReadCloser, error) {
	if e == nil {
		return nil, errors.New("zipreader: nil entry")
	}
	if !e.InLocal || e.DataOffset < 0 {
		return nil, fmt.Errorf("zipreader: %q: %w", e.Name, ErrNoLocalHeader)
	}
	if e.Encrypted {
		return nil, fmt.Errorf("zipreader: %q: %w", e.Name, ErrEncrypted)
	}
	return a.newReader(e, a.opts.OnAnomaly)
}

// EntryReader reads the uncompressed bytes of an entry and checks them at
// the end. It is what Archive.Open returns.
type EntryReader struct {
	e         *Entry
	name      string
	dec       io.Reader
	closeDec  func()
	sec       *io.SectionReader // compressed input
	br        *bufio.Reader     // buffer between sec and a deflate decoder
	want      int64             // stored: bytes to deliver
	avail     int64             // stored: bytes the input holds
	crcLimit  int64             // bytes covered by the CRC, -1 for all
	crc       uint32
	n         int64
	err       error
	anomalies []Anomaly
	onAnomaly func(Anomaly)
}

func (a *Archive) newReader(e *Entry, onAnomaly func(Anomaly)) (*EntryReader, error) {
	want, avail := a.dataSpan(e)
	r := &EntryReader{e: e, name: e.Name, want: want, avail: avail, crcLimit: -1, onAnomaly: onAnomaly}
	r.sec = io.NewSectionReader(a.src, e.DataOffset, avail)
	if e.Method == Store {
		r.dec = r.sec
		if e.UncompressedSize >= 0 {
			r.crcLimit = e.UncompressedSize
		}
		return r, nil
	}
	if !methodSupported(e.Method) {
		return nil, fmt.Errorf("zipreader: %q: method %d (%s): %w", e.Name, e.Method, methodName(e.Method), ErrUnsupportedMethod)
	}
	r.br = bufio.NewReaderSize(r.sec, 32<<10)
	dec, closeDec, err := newDecompressor(e, r.br)
	if err != nil {
		return nil, fmt.Errorf("zipreader: %q: method %d (%s): %w", e.Name, e.Method, methodName(e.Method), err)
	}
	r.dec, r.closeDec = dec, closeDec
	return r, nil
}

func newDecompressor(e *Entry, br *bufio.Reader) (io.Reader, func(), error) {
	switch e.Method {
	case Deflate:
		fr := flate.NewReader(br)
		return fr, func() { _ = fr.Close() }, nil
	case BZIP2:
		return bzip2.NewReader(br), nil, nil
	case Zstd:
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	case LZMA:
		return newLZMA(e, br)
	}
	return nil, nil, ErrUnsupportedMethod
}

// newLZMA reads the zip LZMA header (version, properties size, properties)
// and starts a classic LZMA decoder on the rest.
func newLZMA(e *Entry, br *bufio.Reader) (io.Reader, func(), error) {
	var h [4]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, nil, fmt.Errorf("lzma header: %w", io.ErrUnexpectedEOF)
	}
	if n := le16(h[2:]); n != 5 {
		return nil, nil, fmt.Errorf("lzma properties of %d bytes, want 5", n)
	}
	var hdr [lzma.HeaderLen]byte
	if _, err := io.ReadFull(br, hdr[:5]); err != nil {
		return nil, nil, fmt.Errorf("lzma properties: %w", io.ErrUnexpectedEOF)
	}
	size := uint64(1<<64 - 1) // unknown: an end marker ends the stream
	if e.Flags&2 == 0 && e.UncompressedSize >= 0 {
		size = uint64(e.UncompressedSize)
	}
	binary.LittleEndian.PutUint64(hdr[5:], size)
	lr, err := lzma.ReaderConfig{DictCap: maxLZMADict}.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), br))
	if err != nil {
		return nil, nil, err
	}
	return lr, nil, nil
}

// Read reads uncompressed bytes. At the end of the data it checks the
// CRC-32 and the size and records any mismatch as an anomaly.
func (r *EntryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.read(p)
	if n > 0 {
		r.update(p[:n])
	}
	if err == io.EOF {
		r.finish()
		return n, r.err
	}
	if err != nil {
		r.err = fmt.Errorf("zipreader: %q: %w", r.name, err)
		return n, r.err
	}
	return n, nil
}

// read reads from the decoder, turning a panic of a decompression library
// into an error: no input may crash the caller.
func (r *EntryReader) read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("decompressor failed: %v", v)
		}
	}()
	n, err = r.dec.Read(p)
	if n < 0 || n > len(p) {
		return 0, errors.New("decompressor returned an invalid count")
	}
	return n, err
}

func (r *EntryReader) update(b []byte) {
	c := b
	if r.crcLimit >= 0 {
		c = c[:max(min(int64(len(c)), r.crcLimit-r.n), 0)]
	}
	r.crc = crc32.Update(r.crc, crc32.IEEETable, c)
	r.n += int64(len(b))
}

func (r *EntryReader) add(kind, format string, args ...any) {
	a := Anomaly{Entry: r.name, Kind: kind, Detail: fmt.Sprintf(format, args...), Offset: r.e.DataOffset}
	r.anomalies = append(r.anomalies, a)
	if r.onAnomaly != nil {
		r.onAnomaly(a)
	}
}

func (r *EntryReader) finish() {
	r.err = io.EOF
	e := r.e
	if e.Method == Store && r.avail < r.want {
		r.err = fmt.Errorf("zipreader: %q: data truncated at the end of the input after %d of %d bytes: %w", r.name, r.avail, r.want, io.ErrUnexpectedEOF)
	}
	if e.crcKnown && r.crc != e.CRC32 {
		r.add(KindBadCRC, "data has CRC-32 %08x, headers declare %08x (PyTorch reads it anyway)", r.crc, e.CRC32)
	}
	if e.Method != Store && e.UncompressedSize >= 0 && r.n != e.UncompressedSize {
		r.add(KindSizeMismatch, "data decompresses to %d bytes, headers declare %d", r.n, e.UncompressedSize)
	}
	if e.Method == Deflate && r.br != nil {
		pos, _ := r.sec.Seek(0, io.SeekCurrent)
		if left := r.sec.Size() - pos + int64(r.br.Buffered()); left > 0 {
			r.add(KindTrailingCompressed, "%d bytes of the entry's data follow the end of its deflate stream", left)
		}
	}
}

// Anomalies returns the anomalies found by reading the entry: a CRC-32 or
// size mismatch, bytes after the compressed stream. They are known once Read
// has returned io.EOF.
func (r *EntryReader) Anomalies() []Anomaly { return r.anomalies }

// Close releases the decoder. It does not close the archive's input.
func (r *EntryReader) Close() error {
	if r.closeDec != nil {
		r.closeDec()
		r.closeDec = nil
	}
	if r.err == nil {
		r.err = errors.New("zipreader: read after close")
	}
	return nil
}

// looksPlain decides whether an entry whose encryption flag is set holds
// plain data, as PyTorch (which ignores the flag) would read it.
//
// A stored entry is plain when its bytes match the CRC-32, or when there is
// no room for the 12-byte header of traditional encryption. A compressed
// entry is plain when it decompresses without error and matches its CRC-32
// or size (random bytes fail within a few bytes), or when it decompresses
// far without error. Entries that share their data are checked once; when
// the budget is spent, a compressed entry counts as encrypted, so that Open
// refuses it rather than mistaking it for a readable one.
func (o *opener) looksPlain(e *Entry) bool {
	_, avail := o.a.dataSpan(e)
	if e.Method == Store {
		if e.UncompressedSize >= 0 && avail >= e.UncompressedSize {
			k := verifyKey{off: e.DataOffset, usize: e.UncompressedSize}
			res, ok := o.verified[k]
			if !ok && e.UncompressedSize <= o.verifyBudget {
				o.verifyBudget -= e.UncompressedSize
				h := crc32.NewIEEE()
				_, err := io.Copy(h, io.NewSectionReader(o.src, e.DataOffset, e.UncompressedSize))
				res = verifyResult{crc: h.Sum32(), failed: err != nil}
				o.verified[k], ok = res, true
			}
			if ok && !res.failed && res.crc == e.CRC32 {
				return true
			}
		}
		return e.CompressedSize != e.UncompressedSize+12
	}
	if !methodSupported(e.Method) {
		return false
	}
	in := min(max(e.CompressedSize, 0), avail)
	limit := int64(math.MaxInt64)
	if in < math.MaxInt64/2048 {
		limit = in*1100 + 1<<20
	}
	k := verifyKey{off: e.DataOffset, csize: e.CompressedSize, method: e.Method}
	res, ok := o.verified[k]
	if !ok {
		if addOff(in, limit) > o.verifyBudget {
			return false
		}
		res = o.decodeCheck(e, limit)
		o.verifyBudget -= in + res.n
		o.verified[k] = res
	}
	switch {
	case res.far:
		return true
	case res.failed:
		return false
	}
	return res.crc == e.CRC32 || (e.UncompressedSize >= 0 && res.n == e.UncompressedSize)
}

// decodeCheck decompresses e up to limit bytes and reports how it went.
func (o *opener) decodeCheck(e *Entry, limit int64) verifyResult {
	r, err := o.a.newReader(e, nil)
	if err != nil {
		return verifyResult{failed: true}
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(r, limit))
	return verifyResult{crc: r.crc, n: n, failed: err != nil, far: n >= limit}
}
