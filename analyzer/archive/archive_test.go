package archive_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
)

// payload is posix.system('id') pickled at protocol 2, assembled by hand.
const payload = "\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

// payloadBzip2 is payload compressed by Python's bz2.compress(payload, 9):
// Go's standard library reads bzip2 but does not write it.
const payloadBzip2 = "425a6839314159265359fc4bc65600001053c07810000110400e22ec6042002000229ea000687a9a1468c81a34c8d1c100a0f0d1a4e610bcf0f13aa7cb1ae02afc5dc914e14243f12f1958"

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// zipOf returns a zip archive holding data as a member called name,
// compressed with method (zip.Store or zip.Deflate).
func zipOf(t testing.TB, name string, method uint16, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	must(t, err)
	_, err = f.Write(data)
	must(t, err)
	must(t, w.Close())
	return b.Bytes()
}

// tarOf returns a tar archive holding data as a member called name.
func tarOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	must(t, w.WriteHeader(&tar.Header{Name: "model/", Typeflag: tar.TypeDir, Mode: 0o755}))
	must(t, w.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}))
	_, err := w.Write(data)
	must(t, err)
	must(t, w.Close())
	return b.Bytes()
}

// compress returns data written through the compressor that newWriter
// makes.
func compress(t testing.TB, data []byte, newWriter func(*bytes.Buffer) (writeCloser, error)) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := newWriter(&b)
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	must(t, w.Close())
	return b.Bytes()
}

// writeCloser is what compressors write through.
type writeCloser interface {
	Write([]byte) (int, error)
	Close() error
}

func gzipOf(t testing.TB, data []byte) []byte {
	return compress(t, data, func(b *bytes.Buffer) (writeCloser, error) { return gzip.NewWriter(b), nil })
}

func zlibOf(t testing.TB, data []byte) []byte {
	return compress(t, data, func(b *bytes.Buffer) (writeCloser, error) { return zlib.NewWriter(b), nil })
}

func xzOf(t testing.TB, data []byte) []byte {
	return compress(t, data, func(b *bytes.Buffer) (writeCloser, error) { return xz.NewWriter(b) })
}

// lzmaOf writes the .lzma ("alone") format, as Python's lzma module does
// with FORMAT_ALONE: the size is unknown and an end marker ends the stream.
func lzmaOf(t testing.TB, data []byte) []byte {
	return compress(t, data, func(b *bytes.Buffer) (writeCloser, error) {
		return lzma.WriterConfig{Size: -1, EOSMarker: true}.NewWriter(b)
	})
}

func lz4Of(t testing.TB, data []byte) []byte {
	return compress(t, data, func(b *bytes.Buffer) (writeCloser, error) { return lz4.NewWriter(b), nil })
}

func bzip2Of(t testing.TB) []byte {
	b, err := hex.DecodeString(payloadBzip2)
	must(t, err)
	return b
}

// sevenZipOf returns a 7z archive holding data as one file called name,
// stored with the Copy method: signature header, packed data, and a plain
// (not encoded) header.
func sevenZipOf(name string, data []byte) []byte {
	return sevenZipCoded(name, data, uint64(len(data)), []byte{0x00}, nil, crc32.ChecksumIEEE(data))
}

// sevenZipCoded returns a 7z archive of one file called name whose packed
// bytes are packed, decoded by the coder of method id with props to size
// bytes of CRC-32 crc.
func sevenZipCoded(name string, packed []byte, size uint64, id, props []byte, crc uint32) []byte {
	num := func(b []byte, n uint64) []byte { // 7z NUMBER
		if n < 0x80 {
			return append(b, byte(n))
		}
		return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
	}
	var h []byte
	h = append(h, 0x01, 0x04) // Header, MainStreamsInfo
	h = append(h, 0x06)       // PackInfo
	h = num(h, 0)             // pack position
	h = num(h, 1)             // one pack stream
	h = append(h, 0x09)       // Size
	h = num(h, uint64(len(packed)))
	h = append(h, 0x00)       // End
	h = append(h, 0x07, 0x0b) // UnpackInfo, Folder
	h = num(h, 1)             // one folder
	h = append(h, 0x00)       // not external
	h = append(h, 0x01)       // one coder
	flags := byte(len(id))
	if props != nil {
		flags |= 0x20
	}
	h = append(h, flags)
	h = append(h, id...)
	if props != nil {
		h = num(h, uint64(len(props)))
		h = append(h, props...)
	}
	h = append(h, 0x0c) // CodersUnpackSize
	h = num(h, size)
	h = append(h, 0x00)       // End
	h = append(h, 0x08)       // SubStreamsInfo
	h = append(h, 0x0a, 0x01) // CRC, all defined
	h = binary.LittleEndian.AppendUint32(h, crc)
	h = append(h, 0x00, 0x00) // End of SubStreamsInfo, of MainStreamsInfo
	h = append(h, 0x05)       // FilesInfo
	h = num(h, 1)             // one file
	var utf []byte
	for _, r := range utf16.Encode([]rune(name)) {
		utf = binary.LittleEndian.AppendUint16(utf, r)
	}
	utf = append(utf, 0, 0)
	h = append(h, 0x11) // Name
	h = num(h, uint64(1+len(utf)))
	h = append(h, 0x00) // not external
	h = append(h, utf...)
	h = append(h, 0x00, 0x00) // End of FilesInfo, of Header

	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start[0:], uint64(len(packed))) // next header offset
	binary.LittleEndian.PutUint64(start[8:], uint64(len(h)))
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(h))
	out := []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(start))
	out = append(out, start...)
	out = append(out, packed...)
	return append(out, h...)
}

// sevenZipLZMA returns a 7z archive of data compressed with LZMA, or
// LZMA2, with an 8 MiB dictionary.
func sevenZipLZMA(t testing.TB, name string, data []byte, two bool) []byte {
	t.Helper()
	if two {
		raw := compress(t, data, func(b *bytes.Buffer) (writeCloser, error) {
			return lzma.Writer2Config{DictCap: 8 << 20}.NewWriter2(b)
		})
		return sevenZipCoded(name, raw, uint64(len(data)), []byte{0x21}, []byte{22}, crc32.ChecksumIEEE(data))
	}
	raw := compress(t, data, func(b *bytes.Buffer) (writeCloser, error) {
		return lzma.WriterConfig{DictCap: 8 << 20, Size: int64(len(data))}.NewWriter(b)
	})
	return sevenZipCoded(name, raw[13:], uint64(len(data)), []byte{0x03, 0x01, 0x01}, raw[:5], crc32.ChecksumIEEE(data))
}

// TestSevenZipDictionaries: 7z coders whose properties state a huge
// dictionary (or PPMd model) for a stream of a huge stated size do not
// make the scan allocate it.
func TestSevenZipDictionaries(t *testing.T) {
	packed := append([]byte{0}, bytes.Repeat([]byte{0x5a}, 64)...)
	for _, tc := range []struct {
		name  string
		id    []byte
		props []byte
	}{
		{"lzma", []byte{0x03, 0x01, 0x01}, []byte{0x5d, 0xff, 0xff, 0xff, 0x7f}},
		{"lzma2", []byte{0x21}, []byte{39}},
		{"ppmd", []byte{0x03, 0x04, 0x01}, []byte{6, 0xff, 0xff, 0xff, 0x7f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := sevenZipCoded("data.pkl", packed, 1<<40, tc.id, tc.props, 0)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, _ := scanFile(t, tc.name+".7z", data)
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 512<<20 {
				t.Errorf("a %d-byte archive made the scan allocate %d MiB", len(data), n>>20)
			}
			if f := r.Files[0]; !slices.Equal(f.Formats, []string{"7z"}) {
				t.Errorf("formats %v, findings %v", f.Formats, f.Findings)
			}
		})
	}
}

// scanFile writes data to a file called name in a temporary folder and
// scans it with every analyzer and the default limits.
func scanFile(t *testing.T, name string, data []byte) (*report.Report, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(path, data, 0o644))
	r, err := scan.Scan(context.Background(), []string{path}, scan.Options{
		Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()})
	must(t, err)
	return r, path
}

// TestContainersHoldingPayload: the payload is found through every kind
// of container, at the member path where it is.
func TestContainersHoldingPayload(t *testing.T) {
	p := []byte(payload)
	for _, tc := range []struct {
		name    string
		data    []byte
		member  []string
		formats []string
	}{
		{"model.zip", zipOf(t, "model/data.pkl", zip.Store, p), []string{"model/data.pkl"}, []string{"pickle", "pytorch-zip"}},
		{"deflated.zip", zipOf(t, "model/data.pkl", zip.Deflate, p), []string{"model/data.pkl"}, []string{"pickle", "pytorch-zip"}},
		{"model.tar", tarOf(t, "model/data.pkl", p), []string{"model/data.pkl"}, []string{"pickle", "tar"}},
		{"model.tar.gz", gzipOf(t, tarOf(t, "model/data.pkl", p)), []string{"model.tar", "model/data.pkl"}, []string{"gzip", "pickle", "tar"}},
		{"model.tgz", gzipOf(t, tarOf(t, "model/data.pkl", p)), []string{"model.tar", "model/data.pkl"}, []string{"gzip", "pickle", "tar"}},
		{"nested.tar.gz", gzipOf(t, tarOf(t, "model/inner.zip", zipOf(t, "w/data.pkl", zip.Deflate, p))),
			[]string{"nested.tar", "model/inner.zip", "w/data.pkl"}, []string{"gzip", "pickle", "pytorch-zip", "tar"}},
		{"model.7z", sevenZipOf("data.pkl", p), []string{"data.pkl"}, []string{"7z", "pickle"}},
		{"lzma.7z", sevenZipLZMA(t, "m/data.pkl", p, false), []string{"m/data.pkl"}, []string{"7z", "pickle"}},
		{"lzma2.7z", sevenZipLZMA(t, "m/data.pkl", p, true), []string{"m/data.pkl"}, []string{"7z", "pickle"}},
		{"payload.pkl.gz", gzipOf(t, p), []string{"payload.pkl"}, []string{"gzip", "pickle"}},
		{"payload.pkl.bz2", bzip2Of(t), []string{"payload.pkl"}, []string{"bzip2", "pickle"}},
		{"payload.pkl.xz", xzOf(t, p), []string{"payload.pkl"}, []string{"pickle", "xz"}},
		{"payload.pkl.lzma", lzmaOf(t, p), []string{"payload.pkl"}, []string{"lzma", "pickle"}},
		{"payload.pkl.z", zlibOf(t, p), []string{"payload.pkl"}, []string{"pickle", "zlib"}},
		{"payload.pkl.lz4", lz4Of(t, p), []string{"payload.pkl"}, []string{"lz4", "pickle"}},
		{"no extension", zlibOf(t, p), []string{"no extension!zlib"}, []string{"pickle", "zlib"}},
		{"renamed.safetensors", gzipOf(t, p), []string{"renamed.safetensors!gzip"}, []string{"gzip", "pickle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, path := scanFile(t, tc.name, tc.data)
			f := r.Files[0]
			if !slices.Equal(f.Formats, tc.formats) {
				t.Errorf("formats %v, want %v", f.Formats, tc.formats)
			}
			var hit *finding.Finding
			var at []string
			for i, x := range f.Findings {
				if x.Rule == finding.PickleProcess && x.Evidence == "posix.system('id')" {
					at = append(at, x.Location.String())
					if x.Location.Path == path && slices.Equal(x.Location.Member, tc.member) {
						hit = &f.Findings[i]
					}
				}
			}
			if hit == nil {
				t.Fatalf("payload not found at member %q but at %q; findings %v", tc.member, at, f.Findings)
			}
			if want := int64(strings.LastIndexByte(payload, 'R')); hit.Location.Offset != want {
				t.Errorf("REDUCE at offset %d, want %d", hit.Location.Offset, want)
			}
			if r.ExitCode(finding.High) != report.ExitFindings || f.Incomplete {
				t.Errorf("exit code %d, incomplete %v; findings %v", r.ExitCode(finding.High), f.Incomplete, f.Findings)
			}
		})
	}
}

// TestCorpusSevenZip scans the 7z archive of the picklescan corpus.
func TestCorpusSevenZip(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "corpus", "picklescan", "data", "malicious1.7z")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := scanFile(t, "malicious1.7z", data)
	found := false
	for _, f := range r.AllFindings() {
		if f.Severity == finding.Critical && slices.Equal(f.Location.Member, []string{"data.pkl"}) {
			found = true
		}
	}
	if !found || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("findings %v", r.AllFindings())
	}
}

// TestSniffIgnoresLookalikes: random bytes that merely start like a zlib
// or .lzma header are not claimed by a decompressor (the head of a longer
// file, so that a stream cut short would be accepted). Claiming them would
// turn any binary file into a container that cannot be read, reported as
// not fully analyzed.
func TestSniffIgnoresLookalikes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 1000
	if testing.Short() {
		n = 200
	}
	headers := map[string]func() []byte{
		"zlib": func() []byte {
			for {
				h := []byte{byte(rng.IntN(8))<<4 | 8, byte(rng.IntN(256)) &^ 0x20}
				if (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
					return h
				}
			}
		},
		"lzma": func() []byte {
			lc := rng.IntN(5)
			lp := rng.IntN(5 - lc)
			h := []byte{byte((rng.IntN(5)*5+lp)*9 + lc), 0, 0, 0, 0}
			dict := uint32(1) << (12 + rng.IntN(10))
			if rng.IntN(2) == 0 {
				dict |= dict >> 1
			}
			binary.LittleEndian.PutUint32(h[1:], dict)
			if rng.IntN(2) == 0 {
				return append(h, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			}
			return binary.LittleEndian.AppendUint64(h, uint64(rng.IntN(1<<30)))
		},
	}
	streams := map[string]*archive.Stream{}
	for _, s := range archive.Streams() {
		streams[s.Name()] = s
	}
	for format, header := range headers {
		claimed := 0
		for range n {
			data := make([]byte, analyzer.HeadSize*2)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			copy(data, header())
			in := analyzer.NewBytesInput("blob.bin", data)
			for _, s := range archive.Streams() {
				if s.Sniff(in) {
					claimed++
					if s.Name() != format {
						t.Errorf("%s-like random data claimed by %s", format, s.Name())
					}
				}
			}
		}
		if claimed > 0 {
			t.Errorf("%d of %d random inputs with a %s header are claimed as %s", claimed, n, format, format)
		}
	}
	// The real thing still is, whole or cut to the head of a long stream.
	long := make([]byte, 1<<20)
	for i := range long {
		long[i] = byte(rng.IntN(16)) + 'a'
	}
	for format, compress := range map[string]func(testing.TB, []byte) []byte{"zlib": zlibOf, "lzma": lzmaOf, "gzip": gzipOf, "xz": xzOf, "lz4": lz4Of} {
		for _, data := range [][]byte{compress(t, []byte(payload)), compress(t, long)} {
			in := analyzer.NewBytesInput("x", data)
			in.Head = in.Head[:min(len(in.Head), analyzer.HeadSize)]
			if !streams[format].Sniff(in) {
				t.Errorf("a real %s stream of %d bytes is not claimed", format, len(data))
			}
		}
	}
	// A strong magic decides alone: a corrupt file is reported, not skipped.
	for format, magic := range map[string]string{"gzip": "\x1f\x8b\x08", "bzip2": "BZh91AY&SY", "xz": "\xfd7zXZ\x00", "lz4": "\x04\x22\x4d\x18"} {
		if !streams[format].Sniff(analyzer.NewBytesInput("x", append([]byte(magic), bytes.Repeat([]byte{0xee}, 100)...))) {
			t.Errorf("a corrupt %s file is not claimed", format)
		}
	}
}

// TestEncryptedZipMember: an encrypted member is reported and makes the
// file incomplete; the other members are still scanned.
func TestEncryptedZipMember(t *testing.T) {
	// ZipCrypto: a 12-byte encryption header, then the ciphertext; the CRC
	// is the plaintext's.
	cipher := append(bytes.Repeat([]byte{0xa5}, 12), "\x8b\x01\x93\xf2garbled-by-zipcrypto"...)
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateRaw(&zip.FileHeader{Name: "secret.pkl", Method: zip.Store, Flags: 1,
		CRC32: crc32.ChecksumIEEE([]byte(payload)), CompressedSize64: uint64(len(cipher)), UncompressedSize64: uint64(len(cipher) - 12)})
	must(t, err)
	_, err = f.Write(cipher)
	must(t, err)
	f, err = w.Create("plain.pkl")
	must(t, err)
	_, err = f.Write([]byte(payload))
	must(t, err)
	must(t, w.Close())
	r, _ := scanFile(t, "enc.zip", b.Bytes())
	var enc, hit bool
	for _, x := range r.AllFindings() {
		enc = enc || x.Rule == finding.ArchiveEncrypted && x.Incomplete
		hit = hit || x.Rule == finding.PickleProcess && slices.Equal(x.Location.Member, []string{"plain.pkl"})
	}
	if !enc || !hit || !r.Files[0].Incomplete {
		t.Errorf("encrypted %v, payload %v; findings %v", enc, hit, r.AllFindings())
	}
}

// truncatedPickleGz is a gzip file cut in the middle: its head is the
// payload, then a bytes argument of 100 KB that does not compress.
func truncatedPickleGz(t *testing.T) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	blob := make([]byte, 100_000)
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	p := append([]byte(payload[:len(payload)-1]), 'B')
	p = binary.LittleEndian.AppendUint32(p, uint32(len(blob)))
	p = append(append(p, blob...), '.')
	gz := gzipOf(t, p)
	return gz[:len(gz)/2]
}

// TestCorruptContainers: containers that cannot be read are reported as
// not fully analyzed, never as clean.
func TestCorruptContainers(t *testing.T) {
	big := bytes.Repeat([]byte("weights "), 20000)
	gz := gzipOf(t, big)
	// A truncated stream whose head holds no known format is not reported:
	// nothing would load it.
	tr := tarOf(t, "model/data.pkl", []byte(payload))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated.gz", gzipOf(t, []byte(payload))[:30]},
		{"truncated.pkl.gz", truncatedPickleGz(t)},
		{"truncated.tar.gz", gzipOf(t, tarOf(t, "model/data.pkl", big))[:300]},
		{"corrupt.gz", append(slices.Clone(gz[:20]), bytes.Repeat([]byte{0xff}, 200)...)},
		{"truncated.xz", xzOf(t, big)[:100]},
		{"truncated.tar", append(slices.Clone(tr[:512]), tr[600:700]...)},
		{"bad.7z", append([]byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4}, bytes.Repeat([]byte{1}, 40)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := scanFile(t, tc.name, tc.data)
			f := r.Files[0]
			if f.Skipped || !f.Incomplete || r.ExitCode(finding.High) == report.ExitPass {
				t.Errorf("skipped %v, incomplete %v, exit %d; findings %v", f.Skipped, f.Incomplete, r.ExitCode(finding.High), f.Findings)
			}
			for _, x := range f.Findings {
				if !strings.HasPrefix(x.Rule, "ARCHIVE-") && !strings.HasPrefix(x.Rule, "PICKLE-") && x.Rule != finding.ScanError {
					t.Errorf("unexpected %s: %s", x.Rule, x.Message)
				}
			}
		})
	}
}

// payloadFound reports whether r holds the payload's finding at member.
func payloadFound(r *report.Report, member []string) bool {
	for _, x := range r.AllFindings() {
		if x.Rule == finding.PickleProcess && strings.HasPrefix(x.Evidence, "posix.system('id')") && slices.Equal(x.Location.Member, member) {
			return true
		}
	}
	return false
}

// TestPolyglots: a zip found by its end record behind other data must not
// hide that data. pickle.load and torch.load read a file from its first
// byte (torch.load takes a file for a zip only when it starts with a local
// header), numpy.load too, tarfile reads a tar from its first block.
func TestPolyglots(t *testing.T) {
	benignZip := zipOf(t, "w.txt", zip.Store, []byte("weights"))
	// The payload with the zip in a bytes argument that is popped.
	withZip := []byte("\x80\x02cposix\nsystem\nB")
	withZip = binary.LittleEndian.AppendUint32(withZip, uint32(len(benignZip)))
	withZip = append(withZip, benignZip...)
	withZip = append(withZip, "0X\x02\x00\x00\x00id\x85R."...)
	// The call after the zip: the bytes before it name nothing.
	stackGlobal := []byte("\x80\x04B")
	stackGlobal = binary.LittleEndian.AppendUint32(stackGlobal, uint32(len(benignZip)))
	stackGlobal = append(stackGlobal, benignZip...)
	stackGlobal = append(stackGlobal, "0\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."...)

	var tb bytes.Buffer
	w := tar.NewWriter(&tb)
	for _, m := range []struct {
		name string
		data []byte
	}{{"a/inner.zip", benignZip}, {"a/evil.pkl", []byte(payload)}} {
		must(t, w.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(m.data))}))
		_, err := w.Write(m.data)
		must(t, err)
	}
	must(t, w.Close())

	for _, tc := range []struct {
		name   string
		data   []byte
		member []string
	}{
		{"pickle holding a zip.pt", withZip, nil},
		{"pickle naming its call after a zip.pkl", stackGlobal, nil},
		{"tar holding a zip and a pickle.tar", tb.Bytes(), []string{"a/evil.pkl"}},
		{"pickle followed by a zip.bin", append([]byte(payload), benignZip...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := scanFile(t, tc.name, tc.data)
			t.Logf("formats %v", r.Files[0].Formats)
			if !payloadFound(r, tc.member) || r.ExitCode(finding.High) != report.ExitFindings {
				t.Errorf("payload not found at %q; formats %v, findings %v", tc.member, r.Files[0].Formats, r.AllFindings())
			}
		})
	}

	// A file with other data in front of a zip (a self-extracting archive)
	// is still read as a zip.
	sfx := append([]byte("MZ\x90\x00 not a pickle, not a tar "), zipOf(t, "model/data.pkl", zip.Store, []byte(payload))...)
	r, _ := scanFile(t, "installer.exe", sfx)
	if !payloadFound(r, []string{"model/data.pkl"}) {
		t.Errorf("zip behind other data: findings %v", r.AllFindings())
	}
}

// TestStreamsAsPythonReadsThem: compressed files that Python's gzip and
// lzma modules read (and so joblib.load and pandas.read_pickle) are read
// here too; one that cannot be read is reported, never skipped.
func TestStreamsAsPythonReadsThem(t *testing.T) {
	p := []byte(payload)
	reserved := gzipOf(t, p)
	reserved[3] |= 0xe0 // reserved flag bits: Python ignores them
	badHCRC := gzipOf(t, p)
	badHCRC[3] |= 0x02 // a header CRC that does not match: Python skips it
	badHCRC = append(badHCRC[:10:10], append([]byte{0xde, 0xad}, badHCRC[10:]...)...)
	named := gzipOf(t, p)
	named[3] |= 0x08 | 0x10 | 0x04 // extra field, name and comment
	named = append(named[:10:10], append([]byte("\x03\x00abcdata.pkl\x00a comment\x00"), named[10:]...)...)
	props := compress(t, p, func(b *bytes.Buffer) (writeCloser, error) {
		// lc=4, lp=0, pb=2 and a 3 MiB dictionary: liblzma reads it.
		return lzma.WriterConfig{Properties: &lzma.Properties{LC: 4, LP: 0, PB: 2}, DictCap: 3 << 20, Size: -1, EOSMarker: true}.NewWriter(b)
	})
	hugeDict := lzmaOf(t, p)
	binary.LittleEndian.PutUint32(hugeDict[1:], 1<<31) // 2 GiB: only the bytes written need it
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"reserved flags.pkl.gz", reserved},
		{"header crc.pkl.gz", badHCRC},
		{"extra name comment.pkl.gz", named},
		{"lc4 3mib.pkl.lzma", props},
		{"2gib dictionary.pkl.lzma", hugeDict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := scanFile(t, tc.name, tc.data)
			if !payloadFound(r, []string{strings.TrimSuffix(strings.TrimSuffix(tc.name, ".gz"), ".lzma")}) {
				t.Errorf("payload not found; formats %v, findings %v", r.Files[0].Formats, r.AllFindings())
			}
		})
	}
}

// TestSevenZipLibraryPanic: a 7z archive on which the 7z library panics
// (FuzzSevenZip found it) is reported as unreadable; the panic does not
// reach the user.
func TestSevenZipLibraryPanic(t *testing.T) {
	data := fixSevenZipCRCs([]byte("7z\xbc\xaf'\x1c\x00\x04Rǔ\xac\x06\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00\x00\x00\x00\x00:\x05\x16|\x93NUMPY\x01\x04\x00\x05\x01\x11\x15\x00a\x00/\x00b\x00/\x00c\x00.\x00n\x00p\x00y\x00\x00\x00\x00\x00"))
	r, _ := scanFile(t, "crash.7z", data)
	f := r.Files[0]
	if !f.Incomplete || len(f.Findings) != 1 || f.Findings[0].Rule != finding.ArchiveUnreadable || !strings.Contains(f.Findings[0].Message, "failed") {
		t.Errorf("findings %v", f.Findings)
	}
}

// TestZipAnomalyFloodIsCapped: an archive with an anomaly per entry gives a
// bounded number of findings, the rest counted in one.
func TestZipAnomalyFloodIsCapped(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 500 {
		// Names that differ only in case are duplicates to miniz.
		name := "a"
		if i%2 == 1 {
			name = "A"
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%s%d/x", strings.Repeat(name, 1), i/2), Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "flood.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := scan.Scan(context.Background(), []string{path}, scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]int{}
	for _, f := range r.AllFindings() {
		if f.Rule == finding.ArchiveZipAnomaly {
			byKind[strings.SplitN(f.Message, ")", 2)[0]]++
		}
	}
	if len(byKind) == 0 {
		t.Fatal("no anomaly reported")
	}
	capped := false
	for kind, n := range byKind {
		if n > 20+1 { // maxAnomaliesPerKind, and the summary
			t.Errorf("%s: %d findings", kind, n)
		}
		capped = capped || n == 20+1
	}
	if !capped {
		t.Errorf("no kind reached the cap: %v", byKind)
	}
}

// TestZipStreamedStoredMember: a local header that defers its sizes to a
// data descriptor that never comes (no central directory either) still
// hands its data to the engine, sized by what the file holds; the fuzzer
// found such members handed over with random access and no size.
func TestZipStreamedStoredMember(t *testing.T) {
	name := "data.pkl"
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte("PK\x03\x04"))
	b.Write(le.AppendUint16(nil, 20))   // version needed
	b.Write(le.AppendUint16(nil, 1<<3)) // flags: sizes in a data descriptor
	b.Write(le.AppendUint16(nil, 0))    // stored
	b.Write(make([]byte, 4+4+4+4))      // time, date, CRC, sizes: all zero
	b.Write(le.AppendUint16(nil, uint16(len(name))))
	b.Write(le.AppendUint16(nil, 0))
	b.WriteString(name)
	b.WriteString(payload)
	r, _ := scanFile(t, "streamed.zip", b.Bytes())
	if !payloadFound(r, []string{name}) {
		t.Fatalf("payload not found in the streamed member; findings %v", r.AllFindings())
	}
}
