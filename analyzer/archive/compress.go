package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"strings"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Stream is a single-stream compressor (gzip, bzip2, xz, lzma, zlib, lz4):
// a container of one member, its decompressed content. joblib writes its
// compressed files in all of these.
type Stream struct {
	format string
	// magic is the content prefix that identifies the format.
	magic func(head []byte) bool
	// open decompresses.
	open func(r io.Reader) (io.Reader, error)
	// exts are the file extensions dropped to name the member.
	exts []string
	// weak is set when the magic is too short to tell the format from
	// random bytes: the head must also decompress.
	weak bool
}

// Streams returns the single-stream compressors, in sniffing order.
func Streams() []*Stream { return streams }

var streams = []*Stream{
	{format: "gzip", exts: []string{".gz", ".gzip", ".tgz"},
		magic: func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x1f, 0x8b, 0x08}) },
		open: func(r io.Reader) (io.Reader, error) {
			z, err := gzip.NewReader(pythonGzipHeader(r))
			if err != nil {
				return nil, err
			}
			z.Multistream(true)
			return z, nil
		}},
	{format: "bzip2", exts: []string{".bz2", ".bzip2", ".tbz2"},
		magic: func(h []byte) bool {
			return len(h) >= 10 && bytes.HasPrefix(h, []byte("BZh")) && h[3] >= '1' && h[3] <= '9' &&
				(bytes.Equal(h[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || bytes.Equal(h[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90}))
		},
		open: func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }},
	{format: "xz", exts: []string{".xz", ".txz"},
		magic: func(h []byte) bool { return bytes.HasPrefix(h, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}) },
		open: func(r io.Reader) (io.Reader, error) {
			c := xz.ReaderConfig{SingleStream: false}
			return c.NewReader(r)
		}},
	{format: "lzma", exts: []string{".lzma"}, weak: true,
		magic: lzmaAloneHeader,
		open:  func(r io.Reader) (io.Reader, error) { return lzma.NewReader(cappedLZMADict(r)) }},
	{format: "lz4", exts: []string{".lz4"},
		magic: func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x04, 0x22, 0x4d, 0x18}) },
		open:  func(r io.Reader) (io.Reader, error) { return lz4.NewReader(r), nil }},
	{format: "zlib", exts: []string{".z", ".zlib"}, weak: true,
		magic: zlibHeader,
		open:  func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }},
}

// lzmaAloneHeader recognizes the .lzma ("alone") header as liblzma's
// format detection (Python's lzma module, FORMAT_AUTO) accepts it: valid
// properties (lc+lp <= 4), a dictionary size of 2^n or 2^n + 2^(n-1) (of
// at least 4 KiB, the smallest any encoder writes), and an unknown size or
// one below 256 GiB.
func lzmaAloneHeader(h []byte) bool {
	if len(h) < 13 || h[0] > 224 {
		return false
	}
	if lc, lp := h[0]%9, h[0]/9%5; lc+lp > 4 {
		return false
	}
	dict := uint32(h[1]) | uint32(h[2])<<8 | uint32(h[3])<<16 | uint32(h[4])<<24
	if dict < 1<<12 { // no encoder writes less
		return false
	}
	if top := uint32(1) << (31 - bits.LeadingZeros32(dict)); dict != 0xffffffff && dict != top && dict != top|top>>1 {
		return false
	}
	size := h[5:13]
	unknown := bytes.Equal(size, bytes.Repeat([]byte{0xff}, 8))
	return unknown || size[7] == 0 && size[6] == 0 && size[5] < 0x40
}

// maxLZMADict bounds the dictionary a .lzma stream is decoded with: the
// decoder allocates the size its header states, 4 GiB for 13 bytes.
// Content up to that size never needs more.
const maxLZMADict = 64 << 20

// cappedLZMADict lowers the dictionary size of the .lzma header at the
// start of r to maxLZMADict.
func cappedLZMADict(r io.Reader) io.Reader {
	h := make([]byte, 13)
	n, _ := io.ReadFull(r, h)
	if n >= 5 && binary.LittleEndian.Uint32(h[1:5]) > maxLZMADict {
		binary.LittleEndian.PutUint32(h[1:5], maxLZMADict)
	}
	return io.MultiReader(bytes.NewReader(h[:n]), r)
}

// pythonGzipHeader rewrites the header of the gzip member at the start of
// r the way Python's gzip module reads it: it skips the header CRC
// without checking it, where Go's reader rejects a wrong one.
func pythonGzipHeader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	h, err := br.Peek(10)
	if err != nil || h[3]&0x02 == 0 {
		return br
	}
	out := append([]byte(nil), h...)
	out[3] &^= 0x02
	_, _ = br.Discard(10) // peeked: cannot fail
	if out[3]&0x04 != 0 { // FEXTRA: a 2-byte length and the field
		x, err := br.Peek(2)
		if err != nil {
			return io.MultiReader(bytes.NewReader(out), br)
		}
		n := 2 + int(binary.LittleEndian.Uint16(x))
		extra := make([]byte, n)
		k, _ := io.ReadFull(br, extra)
		out = append(out, extra[:k]...)
	}
	for _, flag := range []byte{0x08, 0x10} { // FNAME, FCOMMENT: zero-terminated
		if out[3]&flag != 0 {
			b, _ := br.ReadBytes(0)
			out = append(out, b...)
		}
	}
	_, _ = br.Discard(2) // the header CRC; a short one is the decompressor's error to report
	return io.MultiReader(bytes.NewReader(out), br)
}

// zlibHeader recognizes a zlib header: deflate, a window of at most 32 KiB,
// a valid check, no preset dictionary.
func zlibHeader(h []byte) bool {
	return len(h) >= 2 && h[0]&0x0f == 8 && h[0]>>4 <= 7 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 && h[1]&0x20 == 0
}

// Name is the format name ("gzip").
func (s *Stream) Name() string { return s.format }

// Version is the analyzer's version.
func (s *Stream) Version() string { return "1" }

// Sniff checks the magic bytes. A magic long enough to identify the format
// decides: a file that has it but does not decompress is reported as
// unreadable, not skipped. A weak one (zlib's two bytes, the .lzma
// header) is checked by decompressing the whole head: random data that
// happens to start like a zlib header is not a container, and it fails
// within the head where a few bytes of output may still come out.
func (s *Stream) Sniff(in *analyzer.Input) bool {
	if !s.magic(in.Head) {
		return false
	}
	if !s.weak {
		return true
	}
	r, err := s.open(bytes.NewReader(in.Head))
	if err != nil {
		return false
	}
	_, err = io.CopyN(io.Discard, r, sniffOutput)
	// The stream may end early only when the head is not the whole input.
	cut := in.Size < 0 || int64(len(in.Head)) < in.Size
	return err == nil || errors.Is(err, io.EOF) || cut && (errors.Is(err, io.ErrUnexpectedEOF) || isTruncation(err))
}

// sniffOutput bounds the bytes decompressed from the head when sniffing: a
// stream that gets that far is real.
const sniffOutput = 1 << 20

// isTruncation reports errors that only say the head ended too soon.
func isTruncation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "truncated")
}

// Analyze hands the decompressed content to the engine as one member.
func (s *Stream) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format(s.format)
	name := in.Name
	for _, ext := range s.exts {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			name = name[:len(name)-len(ext)]
			if ext[1] == 't' { // .tgz and friends hold a tar
				name += ".tar"
			}
			break
		}
	}
	if name == in.Name || name == "" {
		name += "!" + s.format
	}
	compressed := in.Size
	err := out.Member(ctx, analyzer.Member{Name: name, Size: -1, CompressedSize: compressed,
		Open: func() (io.ReadCloser, error) {
			rc, err := in.Open()
			if err != nil {
				return nil, err
			}
			r, err := s.open(rc)
			if err != nil {
				rc.Close()
				return nil, err
			}
			return readCloser{r, rc}, nil
		}})
	if err != nil && err != analyzer.ErrStopped {
		analyzer.Reporter{Out: out, In: in}.Report(finding.ArchiveUnreadable, -1,
			"The "+s.format+" stream could not be decompressed: "+err.Error(), "")
		return nil
	}
	return err
}

// readCloser reads from r and closes c.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (rc readCloser) Close() error { return rc.c.Close() }
