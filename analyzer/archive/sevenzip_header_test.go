package archive_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ulikunitz/xz/lzma"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive"
	"github.com/violet-mlsecops/violet/finding"
)

// szNum encodes a 7z NUMBER.
func szNum(n uint64) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	return binary.LittleEndian.AppendUint64([]byte{0xff}, n)
}

// szCat concatenates the parts of a header.
func szCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// sevenZipRaw returns a 7z archive of packed streams and header, with
// valid signature and start headers.
func sevenZipRaw(packed, header []byte) []byte {
	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start[0:], uint64(len(packed)))
	binary.LittleEndian.PutUint64(start[8:], uint64(len(header)))
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(header))
	out := []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(start))
	return szCat(out, start, packed, header)
}

// sevenZipEncoded returns a 7z archive of packed streams whose header,
// plain, is encoded by the coder id with props into enc.
func sevenZipEncoded(packed, plain, enc, id, props []byte) []byte {
	flags := byte(len(id))
	var p []byte
	if props != nil {
		flags |= 0x20
		p = szCat(szNum(uint64(len(props))), props)
	}
	outer := szCat([]byte{0x17, 0x06}, szNum(uint64(len(packed))), szNum(1), []byte{0x09}, szNum(uint64(len(enc))),
		[]byte{0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, flags}, id, p, []byte{0x0c}, szNum(uint64(len(plain))),
		[]byte{0x0a, 0x01}, binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(plain)), []byte{0x00, 0x00})
	return sevenZipRaw(szCat(packed, enc), outer)
}

// encodeHeader re-encodes the plain header of the archive a with the
// method named, as 7-Zip does by default.
func encodeHeader(t *testing.T, a []byte, method string) []byte {
	t.Helper()
	off, size := binary.LittleEndian.Uint64(a[12:]), binary.LittleEndian.Uint64(a[20:])
	packed, plain := a[32:32+off], a[32+off:32+off+size]
	switch method {
	case "copy":
		return sevenZipEncoded(packed, plain, plain, []byte{0x00}, nil)
	case "lzma":
		raw := compress(t, plain, func(b *bytes.Buffer) (writeCloser, error) {
			return lzma.WriterConfig{DictCap: 1 << 16, Size: int64(len(plain))}.NewWriter(b)
		})
		return sevenZipEncoded(packed, plain, raw[13:], []byte{0x03, 0x01, 0x01}, raw[:5])
	case "lzma2":
		raw := compress(t, plain, func(b *bytes.Buffer) (writeCloser, error) {
			return lzma.Writer2Config{DictCap: 1 << 16}.NewWriter2(b)
		})
		return sevenZipEncoded(packed, plain, raw, []byte{0x21}, []byte{10})
	}
	t.Fatalf("method %q", method)
	return nil
}

// listOutput records the members and findings of an analysis.
type listOutput struct {
	names    []string
	contents [][]byte
	findings []finding.Finding
}

func (o *listOutput) Report(f finding.Finding) { o.findings = append(o.findings, f) }

func (o *listOutput) Format(string) {}

func (o *listOutput) Member(_ context.Context, m analyzer.Member) error {
	rc, err := m.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return err
	}
	o.names, o.contents = append(o.names, m.Name), append(o.contents, b)
	return nil
}

// listSevenZip analyzes data as a 7z archive and returns what it found
// and how many bytes the analysis allocated.
func listSevenZip(t *testing.T, data []byte) (*listOutput, uint64) {
	t.Helper()
	out := &listOutput{}
	in := analyzer.NewBytesInput("test.7z", data)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := archive.SevenZip{}.Analyze(context.Background(), in, out)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return out, after.TotalAlloc - before.TotalAlloc
}

// TestSevenZipHeaderValid: archives of plain and encoded headers are
// listed, and their member read, as before the header was checked.
func TestSevenZipHeaderValid(t *testing.T) {
	p := []byte(payload)
	plain := sevenZipOf("data.pkl", p)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"copy", plain},
		{"lzma", sevenZipLZMA(t, "data.pkl", p, false)},
		{"lzma2", sevenZipLZMA(t, "data.pkl", p, true)},
		{"copy header", encodeHeader(t, plain, "copy")},
		{"lzma header", encodeHeader(t, plain, "lzma")},
		{"lzma2 header", encodeHeader(t, plain, "lzma2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := listSevenZip(t, tc.data)
			if len(out.findings) != 0 || !slices.Equal(out.names, []string{"data.pkl"}) || !bytes.Equal(out.contents[0], p) {
				t.Errorf("members %q, findings %v", out.names, out.findings)
			}
		})
	}
}

// TestSevenZipHeaderRefused: headers whose counts would make the 7z
// library allocate gigabytes (make([]FileHeader, files) and the like) are
// refused, as unreadable archives, without allocating.
func TestSevenZipHeaderRefused(t *testing.T) {
	const huge = 0xfffffff0 // below the library's bound of 2^32
	n := szNum
	b := func(v ...byte) []byte { return v }
	// A stream of one folder, before a SubStreamsInfo.
	streams := szCat(b(0x01, 0x04, 0x06), n(0), n(1), b(0x09), n(1), b(0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x01, 0x00, 0x0c), n(1), b(0x00))
	// 1<<16 folders, of no substreams but the last, then as many files
	// with a stream: the library would loop 2^32 times to find their
	// folders.
	const many = 1 << 16
	slow := szCat(b(0x01, 0x04, 0x07, 0x0b), n(many), b(0x00), bytes.Repeat(b(0x01, 0x01, 0x00), many), b(0x0c),
		bytes.Repeat(b(0x01), many), b(0x00, 0x08, 0x0d), make([]byte, many-1), b(0x01, 0x00, 0x00, 0x05), n(many),
		b(0x19), n(many/8), make([]byte, many/8), b(0x00, 0x00))
	lzmaOfHeader := func(h []byte) []byte {
		raw := compress(t, h, func(w *bytes.Buffer) (writeCloser, error) {
			return lzma.WriterConfig{DictCap: 1 << 16, Size: int64(len(h))}.NewWriter(w)
		})
		return sevenZipEncoded(nil, h, raw[13:], b(0x03, 0x01, 0x01), raw[:5])
	}
	for _, tc := range []struct {
		name string
		data []byte
		rule string
		want string
	}{
		{"files", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(huge), b(0x00, 0x00))), "", "files"},
		{"files for the header size", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(200), b(0x00, 0x00))), "", "200 files in 2 bytes"},
		{"names", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(huge), b(0x11), n(3), b(0x00, 0x61, 0x00, 0x00, 0x00))), "", "files"},
		{"names beyond the header", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(1), b(0x11), n(1<<40), b(0x00, 0x61, 0x00, 0x00, 0x00))), "", "bytes stated"},
		{"times", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(huge), b(0x14), n(0), b(0x01, 0x00, 0x00, 0x00))), "", "files"},
		{"attributes", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(huge), b(0x15), n(0), b(0x01, 0x00, 0x00, 0x00))), "", "files"},
		{"empty files", sevenZipRaw(nil, szCat(b(0x01, 0x05), n(1), b(0x0f), n(1), b(0x01, 0x00, 0x00))), "", "no empty streams"},
		{"pack CRCs", sevenZipRaw(nil, szCat(b(0x01, 0x04, 0x06), n(0), n(huge), b(0x0a, 0x01, 0x00, 0x00, 0x00))), "", "pack streams"},
		{"folders", sevenZipRaw(nil, szCat(b(0x01, 0x04, 0x07, 0x0b), n(huge), b(0x00, 0x01, 0x01, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00))), "", "folders"},
		{"coders", sevenZipRaw(nil, szCat(b(0x01, 0x04, 0x07, 0x0b, 0x01, 0x00), n(huge), b(0x01, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00))), "", "coders"},
		{"packed streams", sevenZipRaw(nil, szCat(b(0x01, 0x04, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x11, 0x00), n(huge), n(1), b(0x0c, 0x01, 0x00, 0x00, 0x00))), "", "coder in streams"},
		{"unpack sizes", sevenZipRaw(nil, szCat(b(0x01, 0x04, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x11, 0x00), n(1), n(huge), b(0x0c, 0x01, 0x00, 0x00, 0x00))), "", "coder out streams"},
		{"coder properties", sevenZipRaw(nil, szCat(b(0x01, 0x04, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x21, 0x21), n(huge), b(0x16, 0x0c, 0x01, 0x00, 0x00, 0x00))), "", "coder properties"},
		{"substreams", sevenZipRaw(nil, szCat(streams, b(0x08, 0x0d), n(huge), b(0x00, 0x00, 0x00))), "", "substreams"},
		{"substream CRCs", sevenZipRaw(nil, szCat(streams, b(0x08, 0x0d), n(1<<20), b(0x0a, 0x01, 0x00, 0x00, 0x00))), "", "substreams"},
		{"listing", sevenZipRaw(nil, slow), "", "too long to list"},
		{"archive properties", sevenZipRaw(nil, b(0x01, 0x02, 0x00, 0x00)), "", "not supported"},
		{"empty encoded header", sevenZipEncoded(nil, nil, b(0x01), b(0x00), nil), "", "encoded header's size 0"},
		{"encoded header too big", sevenZipRaw(b(0x00), szCat(b(0x17, 0x06, 0x00, 0x01, 0x09, 0x01, 0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x01, 0x00, 0x0c), n(1<<40), b(0x00, 0x00))), "", "encoded header's size"},
		{"encoded header folders", sevenZipRaw(b(0x00), b(0x17, 0x06, 0x00, 0x01, 0x09, 0x01, 0x00, 0x07, 0x0b, 0x02, 0x00, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00, 0x0c, 0x01, 0x01, 0x00, 0x00)), "", "2 folders"},
		{"encoded header method", sevenZipEncoded(nil, b(0x01, 0x00), b(0x01, 0x00), b(0x04, 0x02, 0x02), nil), "", "not supported"},
		{"encrypted header", sevenZipEncoded(nil, b(0x01, 0x00), b(0x01, 0x00), b(0x06, 0xf1, 0x07, 0x01), b(0x00)), finding.ArchiveEncrypted, "password"},
		{"files in an encoded header", lzmaOfHeader(szCat(b(0x01, 0x05), n(huge), b(0x00, 0x00))), "", "files"},
		{"names in an encoded header", lzmaOfHeader(szCat(b(0x01, 0x05), n(1), b(0x11), n(huge), b(0x00, 0x00))), "", "bytes stated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := tc.rule
			if rule == "" {
				rule = finding.ArchiveUnreadable
			}
			listSevenZip(t, tc.data) // once, for the first use's allocations
			out, alloc := listSevenZip(t, tc.data)
			if len(out.findings) != 1 || out.findings[0].Rule != rule || !strings.Contains(out.findings[0].Message, tc.want) {
				t.Errorf("findings %v, want %s about %q", out.findings, rule, tc.want)
			}
			if alloc > 1<<20 {
				t.Errorf("refusing the archive allocated %d KiB", alloc>>10)
			}
		})
	}
}
