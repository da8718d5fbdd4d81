package pickle

import (
	"bytes"
	"errors"
	"io"
)

// bufSize is the size of the source's read buffer: few, large reads.
const bufSize = 64 << 10

// errTruncated is returned when the input ends inside an opcode.
var errTruncated = errors.New("pickle data was truncated")

// source reads a pickle from an io.ReaderAt (skips are free: a 1 GiB byte
// string is never read) or from a stream (skips are discards).
type source struct {
	ra   io.ReaderAt
	r    io.Reader
	size int64 // -1 for a stream

	buf  []byte
	base int64 // input offset of buf[0]
	i, n int   // read position and end of valid bytes in buf
	err  error // sticky read error other than EOF
	eof  bool  // no bytes after buf[n]

	// frames, when set, reads as a Reader other than ReadMemory: every read
	// goes through it, and no byte stays buffered between reads, so that the
	// VM's fast paths, which read the buffer directly, are not taken.
	frames *framer
	into   bool // the next read is a byte string's payload (see framer.place)
	raw    bool // inside a framed read: read the bytes themselves
}

// newFramedSource reads r as reader does (random access only).
func newFramedSource(ra io.ReaderAt, size int64, reader Reader) *source {
	s := newSource(ra, size, nil)
	s.frames = &framer{reader: reader, size: size}
	return s
}

// framed runs do, a read of n bytes, where the reader really reads them.
func (s *source) framed(n int64, do func() error) error {
	q, err := s.frames.place(s.pos(), n, s.into)
	if err != nil {
		return err
	}
	s.seek(q)
	s.raw = true
	err = do()
	s.raw = false
	s.hide()
	return err
}

// hide forgets the buffered bytes past the read position: the next read
// refills, through the framer.
func (s *source) hide() {
	s.base += int64(s.i)
	s.i, s.n = 0, 0
	s.eof = s.base >= s.size
}

// findNewline returns the offset of the first newline at or after from, or
// -1; the read position does not move.
func (s *source) findNewline(from int64) int64 {
	saved := s.pos()
	defer s.seek(saved)
	s.seek(from)
	for {
		if k := bytes.IndexByte(s.buf[s.i:s.n], '\n'); k >= 0 {
			return s.base + int64(s.i+k)
		}
		s.i = s.n
		if !s.fill(1) {
			return -1
		}
	}
}

func newSource(ra io.ReaderAt, size int64, r io.Reader) *source {
	n := bufSize
	if ra != nil && size >= 0 && size < bufSize {
		// The whole input fits: a small pickle (or the head that Sniff
		// reads) needs no 64 KiB buffer.
		n = int(max(size, 1))
	}
	return &source{ra: ra, r: r, size: size, buf: make([]byte, n)}
}

// pos is the input offset of the next byte.
func (s *source) pos() int64 { return s.base + int64(s.i) }

// fill makes at least need bytes available at s.i (need <= bufSize) and
// reports whether it could.
func (s *source) fill(need int) bool {
	if s.n-s.i >= need {
		return true
	}
	if s.eof || s.err != nil {
		return false
	}
	// Move the unread bytes to the front.
	copy(s.buf, s.buf[s.i:s.n])
	s.base += int64(s.i)
	s.n -= s.i
	s.i = 0
	for s.n < need && !s.eof && s.err == nil {
		var m int
		var err error
		if s.ra != nil {
			off := s.base + int64(s.n)
			want := len(s.buf) - s.n
			if rest := s.size - off; rest < int64(want) {
				want = int(max(rest, 0))
			}
			if want == 0 {
				s.eof = true
				break
			}
			m, err = s.ra.ReadAt(s.buf[s.n:s.n+want], off)
			if err == io.EOF && m == want {
				err = nil
			}
		} else {
			m, err = s.r.Read(s.buf[s.n:])
		}
		s.n += m
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			s.err = err
		}
	}
	return s.n-s.i >= need
}

// readByte returns the next byte.
func (s *source) readByte() (byte, error) {
	if i := s.i; i < s.n {
		s.i = i + 1
		return s.buf[i], nil
	}
	return s.readByteSlow()
}

func (s *source) readByteSlow() (byte, error) {
	if s.frames != nil && !s.raw {
		var b byte
		err := s.framed(1, func() (err error) { b, err = s.readByteSlow(); return err })
		return b, err
	}
	if !s.fill(1) {
		return 0, s.failure()
	}
	b := s.buf[s.i]
	s.i++
	return b, nil
}

// peekByte returns the next byte without consuming it.
func (s *source) peekByte() (byte, bool) {
	if s.i >= s.n && !s.fill(1) {
		return 0, false
	}
	return s.buf[s.i], true
}

// read returns the next n bytes (n <= bufSize), valid until the next call.
func (s *source) read(n int) ([]byte, error) {
	if i := s.i; n >= 0 && s.n-i >= n {
		s.i = i + n
		return s.buf[i : i+n], nil
	}
	return s.readSlow(n)
}

func (s *source) readSlow(n int) ([]byte, error) {
	if s.frames != nil && !s.raw {
		var b []byte
		err := s.framed(int64(n), func() (err error) { b, err = s.readSlow(n); return err })
		return b, err
	}
	if !s.fill(n) {
		return nil, s.failure()
	}
	b := s.buf[s.i : s.i+n]
	s.i += n
	return b, nil
}

// readPrefix consumes n bytes and returns at most keep of the first ones
// (a copy); the rest are skipped without being read where possible.
func (s *source) readPrefix(n int64, keep int) ([]byte, error) {
	if n < 0 {
		return nil, errors.New("negative length")
	}
	if s.frames != nil && !s.raw {
		var b []byte
		err := s.framed(n, func() (err error) { b, err = s.readPrefix(n, keep); return err })
		return b, err
	}
	k := int(min(n, int64(keep)))
	head, err := s.read(k)
	if err != nil {
		return nil, err
	}
	out := make([]byte, k)
	copy(out, head)
	if err := s.skip(n - int64(k)); err != nil {
		return nil, err
	}
	return out, nil
}

// skip consumes n bytes.
func (s *source) skip(n int64) error {
	if n <= int64(s.n-s.i) {
		s.i += int(n)
		return nil
	}
	n -= int64(s.n - s.i)
	s.i = s.n
	if s.ra != nil {
		target := s.base + int64(s.n) + n
		if target > s.size {
			s.base, s.i, s.n = s.size, 0, 0
			s.eof = true
			return errTruncated
		}
		s.base, s.i, s.n = target, 0, 0
		return nil
	}
	for n > 0 {
		if !s.fill(1) {
			return s.failure()
		}
		m := min(n, int64(s.n-s.i))
		s.i += int(m)
		n -= m
	}
	return nil
}

// seek moves to input offset off (random access only).
func (s *source) seek(off int64) bool {
	if s.ra == nil {
		if off < s.pos() {
			return false
		}
		return s.skip(off-s.pos()) == nil
	}
	if off >= s.base && off <= s.base+int64(s.n) {
		s.i = int(off - s.base)
		return true
	}
	s.base, s.i, s.n = off, 0, 0
	s.eof = off >= s.size
	return true
}

// readLine returns the bytes up to a newline (excluded), consuming the
// newline. Lines longer than maxKeep are consumed whole; only their first
// maxKeep bytes are returned and long is set.
func (s *source) readLine(maxKeep int) (line []byte, long bool, err error) {
	if s.frames != nil && !s.raw {
		p := s.pos()
		q, ferr := s.frames.line(p, s.findNewline(p), s.findNewline)
		if ferr != nil {
			return nil, false, ferr
		}
		s.seek(q)
		s.raw = true
		line, long, err = s.readLine(maxKeep)
		s.raw = false
		if err == nil {
			line = append([]byte(nil), line...) // hide may let the next read reuse the buffer
		}
		s.hide()
		return line, long, err
	}
	for {
		// Search the buffered bytes.
		if k := bytes.IndexByte(s.buf[s.i:s.n], '\n'); k >= 0 {
			j := s.i + k
			if len(line) == 0 && !long {
				out := s.buf[s.i:j]
				s.i = j + 1
				return out, false, nil
			}
			line = appendKeep(line, s.buf[s.i:j], maxKeep, &long)
			s.i = j + 1
			return line, long, nil
		}
		// No newline yet: keep what we have and refill.
		if s.n-s.i >= maxKeep || s.n == len(s.buf) {
			line = appendKeep(line, s.buf[s.i:s.n], maxKeep, &long)
			s.i = s.n
		}
		before := s.n - s.i
		if !s.fill(before + 1) {
			return nil, false, s.failure()
		}
	}
}

func appendKeep(dst, src []byte, maxKeep int, long *bool) []byte {
	room := maxKeep - len(dst)
	if room <= 0 {
		*long = *long || len(src) > 0
		return dst
	}
	if len(src) > room {
		*long = true
		src = src[:room]
	}
	if dst == nil {
		dst = make([]byte, 0, len(src))
	}
	return append(dst, src...)
}

// failure is the error to report when bytes ran out.
func (s *source) failure() error {
	if s.err != nil {
		return s.err
	}
	return errTruncated
}
