package scan

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// The tests of this file build hostile inputs and check that the engine's
// limits hold: the scan finishes, reports the limit that stopped it, marks
// the file as not fully analyzed, and does not run out of memory. None
// asserts a duration: the test timeout catches a scan that does not stop.

// limPayload is posix.system('id') pickled at protocol 2, assembled by hand.
const limPayload = "\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

// limScan writes data to a file called name in a temporary folder and
// scans it with every analyzer and the given limits.
func limScan(t *testing.T, limits analyzer.Limits, name string, data []byte) *report.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return limScanPath(t, limits, path)
}

// limScanPath scans the file at path with every analyzer and the given
// limits, and checks what every report must satisfy.
func limScanPath(t *testing.T, limits analyzer.Limits, path string) *report.Report {
	t.Helper()
	r, err := Scan(context.Background(), []string{path}, Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: limits})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if len(r.Files) != 1 {
		t.Fatalf("%d files in the report", len(r.Files))
	}
	return r
}

// limFinding returns the first finding of rule in r, or nil.
func limFinding(r *report.Report, rule string) *finding.Finding {
	for _, f := range r.AllFindings() {
		if f.Rule == rule {
			return &f
		}
	}
	return nil
}

// limExpect checks that r holds a finding of rule, that the file is marked
// incomplete, and that the exit code is code.
func limExpect(t *testing.T, r *report.Report, rule string, code int) *finding.Finding {
	t.Helper()
	f := limFinding(r, rule)
	if f == nil {
		t.Fatalf("no %s finding; findings:\n%s", rule, limDescribe(r))
	}
	if !r.Files[0].Incomplete {
		t.Errorf("the file is not marked incomplete")
	}
	if got := r.ExitCode(finding.High); got != code {
		t.Errorf("exit code %d, want %d; findings:\n%s", got, code, limDescribe(r))
	}
	return f
}

func limDescribe(r *report.Report) string {
	var b strings.Builder
	for _, f := range r.AllFindings() {
		b.WriteString("  " + f.Severity.String() + " " + f.Rule + " " + f.Location.String() + ": " + f.Message + "\n")
	}
	return b.String()
}

// limHeap runs fn and returns how many bytes it allocated in all.
func limHeap(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// zerosDeflate returns a raw deflate stream of n MiB of zeros (n >= 2),
// built from two compressed MiB: the first, and a second that only copies
// earlier zeros, repeated. A 10 GiB stream takes about 10 MB, built in
// milliseconds.
func zerosDeflate(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	mib := make([]byte, 1<<20)
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	w.Flush() // byte-aligned, not final
	first := buf.Len()
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	out := slices.Clone(buf.Bytes())
	copyChunk := slices.Clone(out[first:])
	out = slices.Grow(out, (n-2)*len(copyChunk)+5)
	for range n - 2 {
		out = append(out, copyChunk...)
	}
	// A final empty stored block.
	return append(out, 0x01, 0x00, 0x00, 0xff, 0xff)
}

// TestZerosDeflate checks the bomb builder: the stream inflates to exactly
// the zeros it claims.
func TestZerosDeflate(t *testing.T) {
	d := zerosDeflate(t, 5)
	n, err := io.Copy(io.Discard, flate.NewReader(bytes.NewReader(d)))
	if err != nil || n != 5<<20 {
		t.Fatalf("inflates to %d bytes: %v", n, err)
	}
}

// zeroPickleDeflate returns a raw deflate stream of a pickle whose first
// opcode is a BINBYTES8 of n MiB of zeros (n >= 2): the pickle analyzer
// must read through the zeros to reach what follows them.
func zeroPickleDeflate(t testing.TB, n int) []byte {
	t.Helper()
	head := binary.LittleEndian.AppendUint64([]byte("\x80\x04\x8e"), uint64(n)<<20)
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	mib := make([]byte, 1<<20)
	if _, err := w.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	first := buf.Len()
	if _, err := w.Write(mib); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	out := slices.Clone(buf.Bytes())
	copyChunk := slices.Clone(out[first:])
	out = slices.Grow(out, (n-2)*len(copyChunk)+5)
	for range n - 2 {
		out = append(out, copyChunk...)
	}
	return append(out, 0x01, 0x00, 0x00, 0xff, 0xff)
}

// TestLimitZipBomb: a zip member that inflates to 10 GiB from about 10 MB.
// Zeros are never inflated past the head (no analyzer reads on); a pickle
// that must be read through them stops at the compression ratio limit.
func TestLimitZipBomb(t *testing.T) {
	gib := 10
	if testing.Short() {
		gib = 1
	}
	bomb := func(name string, d []byte) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		f, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate,
			CompressedSize64: uint64(len(d)), UncompressedSize64: uint64(gib) << 30})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(d); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return b.Bytes()
	}
	zeros := bomb("model/data.bin", zerosDeflate(t, gib<<10))
	t.Logf("%d GiB of zeros in a zip of %d bytes", gib, len(zeros))
	var r *report.Report
	heap := limHeap(func() { r = limScan(t, analyzer.DefaultLimits(), "zeros.zip", zeros) })
	if f := r.Files[0]; f.Skipped || r.ExitCode(finding.High) != report.ExitPass {
		t.Errorf("zeros: skipped %v, exit %d:\n%s", f.Skipped, r.ExitCode(finding.High), limDescribe(r))
	}
	if heap > 64<<20 {
		t.Errorf("the scan of zeros allocated %d MiB", heap>>20)
	}

	pkl := bomb("model/data.pkl", zeroPickleDeflate(t, gib<<10))
	heap = limHeap(func() { r = limScan(t, analyzer.DefaultLimits(), "bomb.zip", pkl) })
	lf := limExpect(t, r, finding.LimitRatio, report.ExitFindings)
	if !slices.Equal(lf.Location.Member, []string{"model/data.pkl"}) {
		t.Errorf("reported at %s", lf.Location)
	}
	if heap > 256<<20 {
		t.Errorf("the scan allocated %d MiB", heap>>20)
	}
}

// gzipOfDeflate wraps a raw deflate stream in a gzip member (with a CRC
// that is not checked: the scan stops long before the end).
func gzipOfDeflate(d []byte) []byte {
	out := append([]byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff}, d...)
	return append(out, 0, 0, 0, 0, 0, 0, 0, 0)
}

// TestLimitGzipBomb: a gzip file of a pickle of 1 GiB of zeros stops at
// the ratio limit; with a lower total budget, at the size limit.
func TestLimitGzipBomb(t *testing.T) {
	gz := gzipOfDeflate(zeroPickleDeflate(t, 1<<10))
	r := limScan(t, analyzer.DefaultLimits(), "zeros.pkl.gz", gz)
	limExpect(t, r, finding.LimitRatio, report.ExitFindings)

	limits := analyzer.DefaultLimits()
	limits.MaxTotalBytes = 32 << 20
	limits.MaxRatio = 1e9
	r = limScan(t, limits, "zeros.pkl.gz", gz)
	lf := limExpect(t, r, finding.LimitSize, report.ExitFindings)
	if !slices.Equal(lf.Location.Member, []string{"zeros.pkl"}) {
		t.Errorf("reported at %s", lf.Location)
	}
	if limFinding(r, finding.LimitRatio) != nil {
		t.Errorf("ratio reported too:\n%s", limDescribe(r))
	}
}

// limZip returns a zip archive holding one stored member.
func limZip(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLimitDepth: zips nested deeper than MaxDepth stop at the limit; the
// payload at the largest depth allowed is still found.
func TestLimitDepth(t *testing.T) {
	limits := analyzer.DefaultLimits()
	nest := func(levels int) []byte {
		data := []byte(limPayload)
		name := "data.pkl"
		for i := range levels {
			data = limZip(t, name, data)
			name = "level" + string(rune('a'+i)) + ".zip"
		}
		return data
	}
	r := limScan(t, limits, "deep.zip", nest(limits.MaxDepth))
	if f := limFinding(r, finding.PickleProcess); f == nil || len(f.Location.Member) != limits.MaxDepth {
		t.Fatalf("payload %d zips deep not found:\n%s", limits.MaxDepth, limDescribe(r))
	}
	if limFinding(r, finding.LimitDepth) != nil {
		t.Errorf("depth limit reported at the largest depth allowed")
	}

	r = limScan(t, limits, "deeper.zip", nest(limits.MaxDepth+4))
	lf := limExpect(t, r, finding.LimitDepth, report.ExitIncomplete)
	if len(lf.Location.Member) != limits.MaxDepth+1 {
		t.Errorf("reported at %s, %d members deep", lf.Location, len(lf.Location.Member))
	}
}

// millionMemberZip writes a zip whose central directory lists members
// entries. Only the first local entries have a local header (and one byte
// of data each); the records after them are nameless and point nowhere:
// no reader gets that far without reading a hundred thousand members
// first. It stays about 50 MB for a million entries.
func millionMemberZip(t testing.TB, path string, members, local int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	name := func(i int) []byte { // base 36: no two names differ only in case
		const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
		return []byte{digits[i/36/36/36%36], digits[i/36/36%36], digits[i/36%36], digits[i%36]}
	}
	crc := crc32.ChecksumIEEE([]byte{'x'})
	var h [46]byte
	offsets := make([]uint32, local)
	off := uint32(0)
	for i := range local {
		offsets[i] = off
		b := h[:30]
		clear(b)
		binary.LittleEndian.PutUint32(b[0:], 0x04034b50)
		binary.LittleEndian.PutUint16(b[4:], 20)
		binary.LittleEndian.PutUint32(b[14:], crc)
		binary.LittleEndian.PutUint32(b[18:], 1)
		binary.LittleEndian.PutUint32(b[22:], 1)
		binary.LittleEndian.PutUint16(b[26:], 4)
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(name(i)); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteByte('x'); err != nil {
			t.Fatal(err)
		}
		off += 30 + 4 + 1
	}
	cdStart := uint64(off)
	cdSize := uint64(0)
	for i := range members {
		b := h[:46]
		clear(b)
		binary.LittleEndian.PutUint32(b[0:], 0x02014b50)
		binary.LittleEndian.PutUint16(b[4:], 20)
		binary.LittleEndian.PutUint16(b[6:], 20)
		var n []byte
		if i < local {
			n = name(i)
			binary.LittleEndian.PutUint32(b[16:], crc)
			binary.LittleEndian.PutUint32(b[20:], 1)
			binary.LittleEndian.PutUint32(b[24:], 1)
			binary.LittleEndian.PutUint32(b[42:], offsets[i])
		}
		binary.LittleEndian.PutUint16(b[28:], uint16(len(n)))
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(n); err != nil {
			t.Fatal(err)
		}
		cdSize += uint64(46 + len(n))
	}
	// ZIP64 end record and locator: a million entries do not fit in 16 bits.
	z := make([]byte, 56)
	binary.LittleEndian.PutUint32(z[0:], 0x06064b50)
	binary.LittleEndian.PutUint64(z[4:], 44)
	binary.LittleEndian.PutUint16(z[12:], 45)
	binary.LittleEndian.PutUint16(z[14:], 45)
	binary.LittleEndian.PutUint64(z[24:], uint64(members))
	binary.LittleEndian.PutUint64(z[32:], uint64(members))
	binary.LittleEndian.PutUint64(z[40:], cdSize)
	binary.LittleEndian.PutUint64(z[48:], cdStart)
	if _, err := w.Write(z); err != nil {
		t.Fatal(err)
	}
	loc := make([]byte, 20)
	binary.LittleEndian.PutUint32(loc[0:], 0x07064b50)
	binary.LittleEndian.PutUint64(loc[8:], cdStart+cdSize)
	binary.LittleEndian.PutUint32(loc[16:], 1)
	if _, err := w.Write(loc); err != nil {
		t.Fatal(err)
	}
	end := make([]byte, 22)
	binary.LittleEndian.PutUint32(end[0:], 0x06054b50)
	binary.LittleEndian.PutUint16(end[8:], 0xffff)
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	binary.LittleEndian.PutUint32(end[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(end[16:], 0xffffffff)
	if _, err := w.Write(end); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestLimitMembers: a zip of a million members stops at MaxMembers.
func TestLimitMembers(t *testing.T) {
	limits := analyzer.DefaultLimits()
	members := 1_000_000
	if testing.Short() {
		members = 200_000
	}
	path := filepath.Join(t.TempDir(), "many.zip")
	millionMemberZip(t, path, members, limits.MaxMembers+10)
	if info, err := os.Stat(path); err == nil {
		t.Logf("%d members in %d MB", members, info.Size()>>20)
	}
	var r *report.Report
	heap := limHeap(func() { r = limScanPath(t, limits, path) })
	limExpect(t, r, finding.LimitMembers, report.ExitIncomplete)
	if n := r.Summary.Findings["medium"]; n > 100 {
		t.Errorf("%d medium findings: the limit must stop the flood", n)
	}
	t.Logf("allocated %d MiB", heap>>20)
	if heap > 2<<30 {
		t.Errorf("the scan allocated %d MiB", heap>>20)
	}

	// The engine's own count stops a container that lists fewer entries
	// than the limit of its reader, across nested containers.
	limits.MaxMembers = 50
	inner := limZip(t, "data.pkl", []byte(limPayload))
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for i := range 60 {
		f, _ := w.CreateHeader(&zip.FileHeader{Name: "m" + string(rune('A'+i)) + ".zip", Method: zip.Store})
		if _, err := f.Write(inner); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	r = limScan(t, limits, "nested.zip", b.Bytes())
	limExpect(t, r, finding.LimitMembers, report.ExitFindings)
}

// TestLimitBillionLaughs: memo references that double a list a hundred
// times describe 2^100 items in a few hundred bytes. Nothing may copy or
// walk the expansion: the scan finishes at once, in little memory, and the
// evidence of the call that receives it stays short.
func TestLimitBillionLaughs(t *testing.T) {
	for _, tc := range []struct {
		name string
		open string // starts the level-0 container
		make string // builds a level from two references to the one below
	}{
		{"lists", "]", "(h\x00h\x00l"},
		{"tuples", ")", "h\x00h\x00\x86"},
		{"dicts", "}", "(K\x01h\x00K\x02h\x00d"},
		{"frozensets", ")", "(h\x00h\x00\x91"},
		{"appended lists", "]", "](h\x00h\x00e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			b.WriteString("\x80\x04")
			b.WriteString(tc.open)
			b.WriteString("q\x00")
			for range 100 {
				b.WriteString(tc.make)
				b.WriteString("q\x00") // the new level replaces the old one in the memo
			}
			// Pass it to a call, then use it as a dict key and a set item
			// (a list or a dict is not hashable: the stream ends there).
			b.WriteString("cposix\nsystem\nh\x00\x85R0")
			b.WriteString("}h\x00Ns\x8f(h\x00\x90.")
			if b.Len() > 2000 {
				t.Fatalf("pickle of %d bytes", b.Len())
			}
			var r *report.Report
			heap := limHeap(func() { r = limScan(t, analyzer.DefaultLimits(), "laughs.pkl", b.Bytes()) })
			f := limFinding(r, finding.PickleProcess)
			if f == nil {
				t.Fatalf("call not reported:\n%s", limDescribe(r))
			}
			if len(f.Evidence) > 1000 {
				t.Errorf("evidence of %d bytes", len(f.Evidence))
			}
			if heap > 64<<20 {
				t.Errorf("the scan allocated %d MiB", heap>>20)
			}
		})
	}
}

// TestLimitPickleStack: millions of MARKs, or a stack deeper than
// MaxPickleStack, stop at the limit with PICKLE-LIMIT.
func TestLimitPickleStack(t *testing.T) {
	limits := analyzer.DefaultLimits()
	n := 2 * limits.MaxPickleStack // two million
	for _, tc := range []struct {
		name string
		op   byte
	}{{"marks", '('}, {"stack", 'N'}, {"memo", 0x94}} {
		t.Run(tc.name, func(t *testing.T) {
			data := append([]byte("\x80\x04N"), bytes.Repeat([]byte{tc.op}, n)...)
			if tc.op == 0x94 {
				// MEMOIZE past the memo limit.
				data = append([]byte("\x80\x04N"), bytes.Repeat([]byte{tc.op}, limits.MaxPickleMemo+1000)...)
			}
			data = append(data, "0cposix\nsystem\n."...)
			var r *report.Report
			heap := limHeap(func() { r = limScan(t, limits, "deep.pkl", data) })
			lf := limExpect(t, r, finding.PickleLimit, report.ExitIncomplete)
			if lf.Location.Offset <= 0 || lf.Location.Offset >= int64(len(data)) {
				t.Errorf("limit reported at %d", lf.Location.Offset)
			}
			t.Logf("%d bytes, allocated %d MiB", len(data), heap>>20)
			if heap > 1<<30 {
				t.Errorf("the scan allocated %d MiB", heap>>20)
			}
		})
	}
}

// TestLimitTime: a pickle cannot loop, but a long one outlives a short
// budget: the scan stops with LIMIT-TIME.
func TestLimitTime(t *testing.T) {
	limits := analyzer.DefaultLimits()
	limits.Timeout = time.Millisecond
	data := append([]byte("\x80\x04"), bytes.Repeat([]byte("N0"), 10<<20)...)
	data = append(data, "N."...)
	r := limScan(t, limits, "long.pkl", data)
	limExpect(t, r, finding.LimitTime, report.ExitIncomplete)

	// Inside a container too.
	r = limScan(t, limits, "long.zip", limZip(t, "data.pkl", data))
	limExpect(t, r, finding.LimitTime, report.ExitIncomplete)
}

// TestLimitTimeBetweenMembers: a budget that runs out between two members
// of a container is reported like one that runs out inside an analyzer.
func TestLimitTimeBetweenMembers(t *testing.T) {
	limits := analyzer.DefaultLimits()
	limits.Timeout = time.Millisecond
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for i := range 20_000 {
		f, _ := w.CreateHeader(&zip.FileHeader{Name: "m/" + strconv.Itoa(i), Method: zip.Store})
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	r := limScan(t, limits, "many.zip", b.Bytes())
	limExpect(t, r, finding.LimitTime, report.ExitIncomplete)

	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for i := range 20_000 {
		if err := tw.WriteHeader(&tar.Header{Name: "m/" + strconv.Itoa(i), Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	r = limScan(t, limits, "many.tar", tb.Bytes())
	limExpect(t, r, finding.LimitTime, report.ExitIncomplete)
}

// TestHugeLZMADictionary: a .lzma header that states a 1 GiB dictionary
// (for a stream of unknown size) does not make the scan allocate it.
func TestHugeLZMADictionary(t *testing.T) {
	data := []byte{0x5d, 0, 0, 0, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	data = append(data, make([]byte, 64)...)
	var r *report.Report
	heap := limHeap(func() { r = limScan(t, analyzer.DefaultLimits(), "big.lzma", data) })
	if heap > 256<<20 {
		t.Errorf("the scan allocated %d MiB for a %d-byte file", heap>>20, len(data))
	}
	if f := r.Files[0]; !f.Skipped && !f.Incomplete && len(f.Findings) > 0 {
		t.Errorf("findings:\n%s", limDescribe(r))
	}
}

// TestEncryptedMember: an encrypted member cannot be analyzed: the report
// is incomplete and the exit code 2.
func TestEncryptedMember(t *testing.T) {
	cipher := append(bytes.Repeat([]byte{0x5a}, 12), "\x9c\x01\x93\xf2 ciphertext"...)
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateRaw(&zip.FileHeader{Name: "data.pkl", Method: zip.Store, Flags: 1,
		CRC32: crc32.ChecksumIEEE([]byte(limPayload)), CompressedSize64: uint64(len(cipher)), UncompressedSize64: uint64(len(cipher) - 12)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(cipher); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r := limScan(t, analyzer.DefaultLimits(), "secret.zip", b.Bytes())
	limExpect(t, r, finding.ArchiveEncrypted, report.ExitIncomplete)
	if r.Summary.Incomplete != 1 {
		t.Errorf("summary counts %d incomplete files", r.Summary.Incomplete)
	}
}

// TestTruncatedGzip: a gzip stream cut short is unreadable, not a short
// member.
func TestTruncatedGzip(t *testing.T) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	if _, err := w.Write([]byte(limPayload)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	gz := gzipOfDeflate(b.Bytes())
	r := limScan(t, analyzer.DefaultLimits(), "data.pkl.gz", gz[:len(gz)-12])
	limExpect(t, r, finding.ArchiveUnreadable, report.ExitIncomplete)
}

// TestExitCodeContract: incomplete alone exits 2; a critical finding wins
// over an incomplete one and exits 1.
func TestExitCodeContract(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	incomplete := write("incomplete.npy", []byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'"))
	r := limScanPath(t, analyzer.DefaultLimits(), incomplete)
	if got := r.ExitCode(finding.High); got != report.ExitIncomplete || !r.Files[0].Incomplete {
		t.Errorf("only an incomplete finding: exit %d; findings:\n%s", got, limDescribe(r))
	}

	// A critical payload and an encrypted member in one archive.
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, _ := w.CreateRaw(&zip.FileHeader{Name: "secret.pkl", Method: zip.Store, Flags: 1,
		CRC32: 1, CompressedSize64: 20, UncompressedSize64: 8})
	if _, err := f.Write(bytes.Repeat([]byte{0x77}, 20)); err != nil {
		t.Fatal(err)
	}
	f, _ = w.Create("data.pkl")
	if _, err := f.Write([]byte(limPayload)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	both := write("both.zip", b.Bytes())
	r = limScanPath(t, analyzer.DefaultLimits(), both)
	if limFinding(r, finding.PickleProcess) == nil || limFinding(r, finding.ArchiveEncrypted) == nil {
		t.Fatalf("findings:\n%s", limDescribe(r))
	}
	if got := r.ExitCode(finding.High); got != report.ExitFindings || !r.Files[0].Incomplete {
		t.Errorf("critical and incomplete: exit %d, incomplete %v", got, r.Files[0].Incomplete)
	}

	// Both files in one scan: the critical one decides.
	r, err := Scan(context.Background(), []string{incomplete, both}, Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ExitCode(finding.High); got != report.ExitFindings || r.Summary.Incomplete != 2 {
		t.Errorf("two files: exit %d, %d incomplete", got, r.Summary.Incomplete)
	}
	// Above the threshold of the critical finding, incomplete decides.
	if got := r.ExitCode(finding.Severity(100)); got != report.ExitIncomplete {
		t.Errorf("nothing at the threshold: exit %d", got)
	}
}

// gnuSparseTar returns a tar archive of one GNU sparse file called name,
// of logical size size, whose only data are head at its start and tail at
// its end: a few hundred bytes that read as size bytes.
func gnuSparseTar(name string, size int64, head, tail []byte) []byte {
	h := make([]byte, 512)
	octal := func(field []byte, v int64) {
		s := strconv.FormatInt(v, 8)
		copy(field, strings.Repeat("0", len(field)-1-len(s))+s)
	}
	copy(h, name)
	octal(h[100:108], 0o644)
	octal(h[108:116], 0)
	octal(h[116:124], 0)
	octal(h[124:136], int64(len(head)+len(tail))) // the data stored
	octal(h[136:148], 0)
	h[156] = 'S'
	copy(h[257:], "ustar  \x00")
	octal(h[386:398], 0)
	octal(h[398:410], int64(len(head)))
	octal(h[410:422], size-int64(len(tail)))
	octal(h[422:434], int64(len(tail)))
	octal(h[483:495], size)
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], strconv.FormatInt(int64(sum), 8)+"\x00")
	data := append(append(slices.Clone(head), tail...), make([]byte, 512-len(head)-len(tail))...)
	return append(append(h, data...), make([]byte, 1024)...)
}

// TestLimitSparseTar: a sparse member of a tar file reads as 8 GiB of
// zeros from a few bytes of data (no compression ratio to check: the holes
// cost nothing to read); a pickle read through them stops at the total
// size limit.
func TestLimitSparseTar(t *testing.T) {
	const size = 8<<30 - 1
	head := binary.LittleEndian.AppendUint64([]byte("\x80\x04\x8e"), size-11-1)
	data := gnuSparseTar("data.pkl", size, head, []byte("."))
	limits := analyzer.DefaultLimits()
	limits.MaxTotalBytes = 1 << 30
	var r *report.Report
	heap := limHeap(func() { r = limScan(t, limits, "sparse.tar", data) })
	lf := limExpect(t, r, finding.LimitSize, report.ExitFindings)
	if !slices.Equal(lf.Location.Member, []string{"data.pkl"}) {
		t.Errorf("reported at %s", lf.Location)
	}
	if heap > 64<<20 {
		t.Errorf("the scan allocated %d MiB", heap>>20)
	}
}
