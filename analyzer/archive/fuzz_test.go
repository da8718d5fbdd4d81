package archive_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive"
	"github.com/violet-mlsecops/violet/finding"
)

// fuzzOutput reads every member it is handed, up to bounds, as the engine
// would, and records the findings.
type fuzzOutput struct {
	size     int64
	members  int
	findings []finding.Finding
	problems []string // checked by the test's goroutine
}

// fuzzMaxMembers and fuzzMaxRead bound the work of one input: the
// analyzers stop when Member returns an error, as under the engine.
const (
	fuzzMaxMembers = 64
	fuzzMaxRead    = 64 << 10
)

func (o *fuzzOutput) Report(f finding.Finding) {
	if _, ok := finding.Lookup(f.Rule); !ok {
		o.problems = append(o.problems, fmt.Sprintf("finding of rule %q", f.Rule))
	}
	if f.Location.Offset < -1 || o.size >= 0 && f.Location.Offset > o.size {
		o.problems = append(o.problems, fmt.Sprintf("finding %s at offset %d of a %d-byte input", f.Rule, f.Location.Offset, o.size))
	}
	o.findings = append(o.findings, f)
}

func (o *fuzzOutput) Format(string) {}

func (o *fuzzOutput) Member(ctx context.Context, m analyzer.Member) error {
	o.members++
	if o.members > fuzzMaxMembers {
		return analyzer.ErrStopped
	}
	if m.ReaderAt != nil {
		if m.Size < 0 {
			o.problems = append(o.problems, fmt.Sprintf("member %q: random access without a size", m.Name))
			return nil
		}
		_, err := io.Copy(io.Discard, io.NewSectionReader(m.ReaderAt, 0, min(m.Size, fuzzMaxRead)))
		if err != nil && !errors.Is(err, io.EOF) {
			return nil // reported by the engine as unreadable
		}
		return nil
	}
	if m.Open == nil {
		o.problems = append(o.problems, fmt.Sprintf("member %q has no content", m.Name))
		return nil
	}
	rc, err := m.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, fuzzMaxRead)) // hostile input: a read error is expected, only a panic or a hang is a failure
	return nil
}

// fuzzAnalyze runs a on data, through random access and, when stream is
// set, as a stream without it; it fails if either takes more than 20 s.
func fuzzAnalyze(t *testing.T, a analyzer.Analyzer, data []byte, stream bool) {
	t.Helper()
	inputs := []*analyzer.Input{analyzer.NewBytesInput("fuzz", data)}
	if stream {
		limits := analyzer.DefaultLimits()
		head := data[:min(len(data), analyzer.HeadSize)]
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		inputs = append(inputs, analyzer.NewInput(finding.Location{Path: "fuzz", Offset: -1}, "fuzz", -1, head, 1, &limits, nil, open, nil))
	}
	for _, in := range inputs {
		if !a.Sniff(in) {
			continue
		}
		out := &fuzzOutput{size: in.Size}
		done := make(chan error, 1)
		go func() { done <- a.Analyze(context.Background(), in, out) }()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, analyzer.ErrStopped) && in.HasReaderAt() {
				t.Fatalf("%s: Analyze: %v", a.Name(), err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: Analyze did not finish in 20s", a.Name())
		}
		for _, p := range out.problems {
			t.Errorf("%s: %s", a.Name(), p)
		}
	}
}

// fuzzCorpus adds the files of the picklescan corpus and of testdata/models
// whose name ends with one of exts to f's seeds.
func fuzzCorpus(f *testing.F, exts ...string) {
	for _, root := range []string{
		filepath.Join("..", "..", "testdata", "corpus", "picklescan", "data"),
		filepath.Join("..", "..", "testdata", "models", "benign"),
		filepath.Join("..", "..", "testdata", "models", "malicious"),
	} {
		files, _ := filepath.Glob(filepath.Join(root, "*"))
		more, _ := filepath.Glob(filepath.Join(root, "*", "*"))
		for _, p := range append(files, more...) {
			for _, ext := range exts {
				if !strings.HasSuffix(p, ext) {
					continue
				}
				if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
					f.Add(b)
				}
			}
		}
	}
}

// fixTarChecksums rewrites the checksum of every 512-byte block of data
// that has the ustar magic, so that the fuzzer's mutations get past it.
func fixTarChecksums(data []byte) []byte {
	data = bytes.Clone(data)
	for off := 0; off+512 <= len(data); off += 512 {
		h := data[off : off+512]
		if !bytes.Equal(h[257:262], []byte("ustar")) {
			continue
		}
		copy(h[148:156], "        ")
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	}
	return data
}

// fixSevenZipCRCs rewrites the CRCs of a 7z signature header and of the
// header it points to, so that the fuzzer's mutations get past them.
func fixSevenZipCRCs(data []byte) []byte {
	if len(data) < 32 || !bytes.HasPrefix(data, []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}) {
		return data
	}
	data = bytes.Clone(data)
	off, size := binary.LittleEndian.Uint64(data[12:]), binary.LittleEndian.Uint64(data[20:])
	if off < uint64(len(data)) && size <= uint64(len(data))-32 && off+size <= uint64(len(data))-32 {
		binary.LittleEndian.PutUint32(data[28:], crc32.ChecksumIEEE(data[32+off:32+off+size]))
	}
	binary.LittleEndian.PutUint32(data[8:], crc32.ChecksumIEEE(data[12:32]))
	return data
}

// FuzzTar reads arbitrary bytes as a tar archive, with random access and
// as a stream: no panic, every member readable within bounds.
func FuzzTar(f *testing.F) {
	f.Add(tarOf(f, "model/data.pkl", []byte(payload)))
	f.Add(tarOf(f, "a", nil))
	f.Add(gnuSparseOf(f))
	fuzzCorpus(f, ".tar")
	a := archive.Tar{}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzAnalyze(t, a, fixTarChecksums(data), true)
	})
}

// gnuSparseOf returns a tar archive of a GNU sparse file of 1 MiB whose
// first bytes are the payload.
func gnuSparseOf(t testing.TB) []byte {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	if err := w.WriteHeader(&tar.Header{Name: "s.pkl", Typeflag: tar.TypeReg, Size: int64(len(payload)), Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := b.Bytes()
	out[156] = 'S' // sparse, with an empty map: Go's reader reads it as holes
	return fixTarChecksums(out)
}

// FuzzStreams reads arbitrary bytes with every single-stream
// decompressor: no panic, no error other than a finding, bounded output.
func FuzzStreams(f *testing.F) {
	p := []byte(payload)
	for _, s := range [][]byte{gzipOf(f, p), bzip2Of(f), xzOf(f, p), lzmaOf(f, p), zlibOf(f, p), lz4Of(f, p)} {
		f.Add(s)
		f.Add(s[:len(s)/2])
	}
	fuzzCorpus(f, ".gz", ".bz2", ".xz", ".lzma", ".lz4", ".joblib")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range archive.Streams() {
			fuzzAnalyze(t, s, data, true)
		}
	})
}

// FuzzSevenZip reads arbitrary bytes as a 7z archive and as a zip archive:
// no panic, bounded work.
func FuzzSevenZip(f *testing.F) {
	f.Add(sevenZipOf("data.pkl", []byte(payload)))
	f.Add(sevenZipOf("a/b/c.npy", []byte("\x93NUMPY")))
	f.Add(zipOf(f, "model/data.pkl", 8, []byte(payload)))
	fuzzCorpus(f, ".7z", ".zip", ".npz")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzAnalyze(t, archive.SevenZip{}, fixSevenZipCRCs(data), false)
		fuzzAnalyze(t, archive.Zip{}, data, false)
	})
}
