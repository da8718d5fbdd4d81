package deps

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestOSVNoPyPI: a database without a single PyPI record is an error,
// not an empty database that passes every package.
func TestOSVNoPyPI(t *testing.T) {
	npm := `{"id":"GHSA-aaaa-bbbb-cccc","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["1.0.0"]}]}`
	emptyDir := t.TempDir()
	notesDir := writeFiles(t, map[string]string{"README.md": "# advisories\n", "sub/notes.txt": "x"})
	for _, tc := range []struct {
		name, path, want string
	}{
		{"an empty zip", tu.ZipFile(t, nil), "no OSV record in it"},
		{"a zip of another ecosystem", tu.ZipFile(t, map[string]string{"GHSA-aaaa-bbbb-cccc.json": npm}), "not a PyPI database"},
		{"a zip without JSON records", tu.ZipFile(t, map[string]string{"README.txt": "hello", "docs/": ""}), "no OSV record in it"},
		{"a zip of JSON that is not OSV", tu.ZipFile(t, map[string]string{"package.json": `{"name":"x","version":"1.0.0"}`}), "bad OSV record"},
		{"an empty folder", emptyDir, "no OSV record in it"},
		{"a folder without records", notesDir, "no OSV record in it"},
		{"a folder of another ecosystem", writeFiles(t, map[string]string{"a.json": npm}), "ecosystems npm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenDB(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenDB: %v, want %q", err, tc.want)
			}
			o := &OfflineDB{Path: tc.path}
			if _, err := Check(context.Background(), nil, o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check with no package: %v, want %q", err, tc.want)
			}
		})
	}
	// A withdrawn PyPI record still makes a PyPI database.
	db, err := OpenDB(tu.ZipFile(t, map[string]string{"a.json": string(rec("PYSEC-1-1", `{"package":{"ecosystem":"PyPI","name":"x"},"versions":["1"]}`, `"withdrawn":"2024-01-01T00:00:00Z",`))}))
	if err != nil || db.PyPIRecords() != 1 || db.Packages() != 0 {
		t.Errorf("withdrawn: %v %+v", err, db)
	}
}

// TestOSVFiltered: OpenDBFor and OfflineDB keep the records of the named
// packages only, and answer for them as OpenDB does.
func TestOSVFiltered(t *testing.T) {
	all, err := OpenDB(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	some, err := OpenDBFor(buildZip(t, nil), []string{"Torch", "ultra_lytics", "numpy"})
	if err != nil {
		t.Fatal(err)
	}
	if some.Records() != 6 || some.PyPIRecords() != 6 || some.Packages() != 1 || some.KeptBytes() >= all.KeptBytes() {
		t.Errorf("filtered: %d records, %d PyPI, %d packages, %d bytes (all: %d)", some.Records(), some.PyPIRecords(), some.Packages(), some.KeptBytes(), all.KeptBytes())
	}
	if ids(some.Query("torch", "2.5.1")) != "GHSA-53q9-r3pm-6pq6" || len(some.Query("langchain", "0.0.131")) != 0 {
		t.Errorf("filtered queries")
	}
	o := &OfflineDB{Path: osvTestdata}
	if _, err := o.QueryContext(context.Background(), "torch", "2.5.1"); err == nil {
		t.Error("query before Prepare")
	}
	m := &Manifest{Path: "requirements.txt", Packages: []Package{
		{Name: "langchain", NormalizedName: "langchain", Version: "0.0.131", Source: SourceIndex, Ecosystem: EcosystemPyPI},
		{Name: "torchtriton", NormalizedName: "torchtriton", Source: SourceIndex, Ecosystem: EcosystemPyPI},
	}}
	r, err := Check(context.Background(), []*Manifest{m}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 5 || o.DB().Packages() != 2 { // 2 vulnerable, malicious, unpinned, no hash
		t.Errorf("findings %v, %d packages kept", r.Findings, o.DB().Packages())
	}
}

// TestOSVLimits: breaking a limit of the database is an error.
func TestOSVLimits(t *testing.T) {
	zipPath := buildZip(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		lim  osvLimits
		want string
	}{
		{"records", osvLimits{records: 5, recordSize: MaxOSVRecordSize, total: MaxOSVTotalSize, keptBytes: MaxOSVKeptSize}, "more than 5"},
		{"record size", osvLimits{records: 10, recordSize: 512, total: MaxOSVTotalSize, keptBytes: MaxOSVKeptSize}, "exceeds 512"},
		{"total", osvLimits{records: 10, recordSize: MaxOSVRecordSize, total: 4000, keptBytes: MaxOSVKeptSize}, "more than 4000 uncompressed bytes"},
		{"kept", osvLimits{records: 10, recordSize: MaxOSVRecordSize, total: MaxOSVTotalSize, keptBytes: 3000}, "more than 3000 bytes of PyPI records"},
	} {
		for _, p := range []string{osvTestdata, zipPath} {
			if _, err := openDB(ctx, p, nil, tc.lim); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s, %s: %v, want %q", tc.name, p, err, tc.want)
			}
		}
	}
	// Filtered, the same records fit the kept limit.
	if _, err := openDB(ctx, zipPath, wantNames([]string{"torch"}), osvLimits{records: 10, recordSize: MaxOSVRecordSize, total: MaxOSVTotalSize, keptBytes: 3000}); err != nil {
		t.Errorf("filtered: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	big := map[string]string{}
	for i := range 2048 {
		big[fmt.Sprintf("PYSEC-%d.json", i)] = string(rec(fmt.Sprintf("PYSEC-2024-%d", i), `{"package":{"ecosystem":"PyPI","name":"x"},"versions":["1"]}`, ""))
	}
	if _, err := openDB(cancelled, tu.ZipFile(t, big), nil, defaultOSVLimits); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

// zipEntries lists the names and contents eachZipEntry reads.
func zipEntries(t *testing.T, data []byte) ([]string, error) {
	t.Helper()
	var out []string
	var buf bytes.Buffer
	err := eachZipEntry(bytes.NewReader(data), int64(len(data)), 1<<20, func(e *zipEntry) error {
		buf.Reset()
		if err := e.read(&buf, 1<<20); err != nil {
			return err
		}
		out = append(out, e.name+"="+buf.String())
		return nil
	})
	return out, err
}

// TestZipReader reads what archive/zip writes (stored, deflated, with
// data descriptors, zip64 with more than 65535 entries, a prefix) and
// rejects damaged archives.
func TestZipReader(t *testing.T) {
	build := func(n int, method uint16, prefix string) []byte {
		var buf bytes.Buffer
		buf.WriteString(prefix)
		zw := zip.NewWriter(&buf)
		zw.SetOffset(int64(len(prefix)))
		for i := range n {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("r%d.json", i), Method: method})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(w, `{"n":%d,"pad":"%s"}`, i, strings.Repeat("ab", i%50))
		}
		if err := zw.SetComment("OSV export"); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"deflated", build(30, zip.Deflate, "")},
		{"stored", build(30, zip.Store, "")},
		{"after a prefix", build(3, zip.Deflate, "#!/bin/sh\nexit 0\n")},
		{"zip64, 70000 entries", build(70000, zip.Store, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := zipEntries(t, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(zr.File) {
				t.Fatalf("%d entries, archive/zip %d", len(got), len(zr.File))
			}
			for i, f := range zr.File {
				rc, _ := f.Open()
				data, _ := io.ReadAll(rc)
				if got[i] != f.Name+"="+string(data) {
					t.Fatalf("entry %d: %q, archive/zip %q", i, got[i], f.Name+"="+string(data))
				}
			}
		})
	}
	if err := eachZipEntry(bytes.NewReader(build(70000, zip.Store, "")), int64(len(build(70000, zip.Store, ""))), 1000, func(*zipEntry) error { return nil }); err == nil || !strings.Contains(err.Error(), "more than 1000") {
		t.Errorf("entry limit (zip64): %v", err)
	}
	if err := eachZipEntry(bytes.NewReader(build(30, zip.Store, "")), int64(len(build(30, zip.Store, ""))), 10, func(*zipEntry) error { return nil }); err == nil || !strings.Contains(err.Error(), "more than 10") {
		t.Errorf("entry limit: %v", err)
	}

	good := build(2, zip.Store, "")
	zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	data0, _ := zr.File[0].DataOffset()
	central := bytes.Index(good, []byte(zipCentralSig))
	end := bytes.LastIndex(good, []byte(zipEndSig))
	damage := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not a zip", []byte("PK not a zip at all, just text that is long enough"), "no end of central directory"},
		{"too short", []byte("PK"), "too short"},
		{"truncated", good[:len(good)/2], "no end of central directory"},
		{"a changed byte of data", damage(func(b []byte) []byte { b[data0] ^= 1; return b }), "checksum"},
		{"a bad central header", damage(func(b []byte) []byte { b[central] = 'X'; return b }), "bad header"},
		{"a bad local header", damage(func(b []byte) []byte { b[0] = 'X'; return b }), "bad local header"},
		{"a directory out of the file", damage(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[end+16:], 1<<30); return b }), "out of the file"},
		{"a wrong entry count", damage(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[end+10:], 3); return b }), "end record says 3"},
		{"an unknown method", damage(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[central+10:], 99); return b }), "method 99"},
		{"encrypted", damage(func(b []byte) []byte { b[central+8] |= 1; return b }), "encrypted"},
		{"a size that lies", damage(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[central+24:], 3); return b }), "size or checksum"},
		{"data out of the file", damage(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[central+20:], 1<<30); return b }), "out of the file"},
	} {
		if _, err := zipEntries(t, tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// The record size limit holds whatever the header says.
	var buf bytes.Buffer
	err := eachZipEntry(bytes.NewReader(good), int64(len(good)), 10, func(e *zipEntry) error { return e.read(&buf, 5) })
	if err == nil || !strings.Contains(err.Error(), "exceeds 5 bytes") {
		t.Errorf("record limit: %v", err)
	}
}

func FuzzZipReader(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 3 {
		w, _ := zw.Create(fmt.Sprintf("a%d.json", i))
		if _, err := w.Write([]byte(`{"id":"PYSEC-1-1"}`)); err != nil {
			f.Fatal(err)
		}
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		var out bytes.Buffer
		// Hostile input: an error is expected, only a panic, a hang or an
		// entry read unchecked is a failure.
		_ = eachZipEntry(bytes.NewReader(data), int64(len(data)), 100, func(e *zipEntry) error {
			if n++; n > 100 {
				t.Fatalf("more than the limit of entries")
			}
			out.Reset()
			if err := e.read(&out, 1<<16); err == nil {
				if uint64(out.Len()) != e.size || crc32.ChecksumIEEE(out.Bytes()) != e.crc {
					t.Fatalf("entry read without its size and checksum")
				}
			}
			return nil
		})
	})
}

// largeOSVZip writes an OSV export of n records, stored (to write it
// fast): record i is about package pkg<i%packages>, and torch has one
// record among them.
func largeOSVZip(t testing.TB, n int) string {
	p := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	var rec bytes.Buffer
	for i := range n {
		rec.Reset()
		name := "pkg" + strconv.Itoa(i%50000)
		if i == n/2 {
			name = "torch"
		}
		fmt.Fprintf(&rec, `{"schema_version":"1.6.0","id":"PYSEC-2024-%d","modified":"2024-06-01T00:00:00Z","published":"2024-06-01T00:00:00Z",`+
			`"aliases":["CVE-2024-%d"],"summary":"Code execution in %s","details":"A crafted input makes %s run arbitrary code when it is loaded. Upgrade to the fixed version.",`+
			`"affected":[{"package":{"ecosystem":"PyPI","name":"%s","purl":"pkg:pypi/%s"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.%d.0"}]}],"versions":["1.0","1.1","2.0"]}],`+
			`"references":[{"type":"WEB","url":"https://example.com/advisories/%d"}],"database_specific":{"severity":"HIGH"}}`,
			i, i, name, name, name, name, 6+i%3, i)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("PYSEC-2024-%d.json", i), Method: zip.Store,
			CRC32: crc32.ChecksumIEEE(rec.Bytes()), CompressedSize64: uint64(rec.Len()), UncompressedSize64: uint64(rec.Len())})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(rec.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// osvMemoryRecords is the size of the export TestOSVLargeDBMemory reads;
// VIOLET_OSV_RECORDS sets another (1000000 for the figures of
// docs/performance.md).
func osvMemoryRecords() int {
	if n, err := strconv.Atoi(os.Getenv("VIOLET_OSV_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// TestOSVLargeDBMemory reads a generated export of 200,000 records in a
// child process (so that the figures are its own) the way violet deps
// does (OfflineDB, the records of the packages checked), and checks the
// memory the process obtained from the system: under 128 MiB, where
// keeping every record took about 2.3 KB each (460 MB here, 2.3 GB for a
// million).
func TestOSVLargeDBMemory(t *testing.T) {
	if os.Getenv("VIOLET_OSV_CHILD") != "" {
		t.Skip("the child runs TestOSVLargeDBMemoryChild")
	}
	n := osvMemoryRecords()
	path := largeOSVZip(t, n)
	cmd := exec.Command(os.Args[0], "-test.run=^TestOSVLargeDBMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), "VIOLET_OSV_CHILD="+path, "VIOLET_OSV_RECORDS="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var sys, heap, alloc, kept uint64
	for _, l := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "osv-memory sys=%d heap=%d alloc=%d kept=%d", &sys, &heap, &alloc, &kept); err == nil {
			break
		}
	}
	if sys == 0 {
		t.Fatalf("no figures from the child:\n%s", out)
	}
	t.Logf("%d records: %d MiB obtained from the system, %d MiB heap in use at the end, %d MiB allocated in all, %d bytes of records kept",
		n, sys>>20, heap>>20, alloc>>20, kept)
	if sys > 128<<20 {
		t.Errorf("%d MiB obtained from the system for %d records, want under 128 MiB", sys>>20, n)
	}
}

// TestOSVLargeDBMemoryChild is the child of TestOSVLargeDBMemory.
func TestOSVLargeDBMemoryChild(t *testing.T) {
	path := os.Getenv("VIOLET_OSV_CHILD")
	if path == "" {
		t.Skip("run by TestOSVLargeDBMemory")
	}
	o := &OfflineDB{Path: path}
	m := &Manifest{Path: "requirements.txt", Packages: []Package{
		{Name: "torch", NormalizedName: "torch", Version: "2.5.1", Source: SourceIndex, Ecosystem: EcosystemPyPI},
		{Name: "numpy", NormalizedName: "numpy", Version: "2.1.0", Source: SourceIndex, Ecosystem: EcosystemPyPI},
	}}
	r, err := Check(context.Background(), []*Manifest{m}, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := osvMemoryRecords(); o.DB().Records() != n || len(r.Findings) != 3 { // torch: vulnerable; both: no hash
		t.Fatalf("%d records, findings %v", o.DB().Records(), r.Findings)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("osv-memory sys=%d heap=%d alloc=%d kept=%d\n", ms.Sys, ms.HeapInuse, ms.TotalAlloc, o.DB().KeptBytes())
}

// BenchmarkOpenDBFor reads an export of 200,000 records keeping one
// package's (-benchmem: the bytes allocated per read, most of them
// garbage of the records decoded and dropped).
func BenchmarkOpenDBFor(b *testing.B) {
	path := largeOSVZip(b, osvMemoryRecords())
	b.ResetTimer()
	for b.Loop() {
		if _, err := OpenDBFor(path, []string{"torch"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOSVDamagedEntry: an entry whose bytes do not match its checksum
// fails the database, naming the entry once.
func TestOSVDamagedEntry(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "PYSEC-1-1.json", Method: zip.Store})
	if _, err := w.Write(rec("PYSEC-1-1", `{"package":{"ecosystem":"PyPI","name":"torch"},"versions":["2.5.1"]}`, "")); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	data := buf.Bytes()
	i := bytes.Index(data, []byte(`"torch"`))
	data[i+1] = 'T' // "Torch": still a valid record, not the one archived
	p := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDB(p)
	if err == nil || !strings.Contains(err.Error(), "all.zip: PYSEC-1-1.json: size or checksum does not match") || strings.Count(err.Error(), "osv database") != 1 {
		t.Errorf("damaged entry: %v", err)
	}
	if strings.Count(err.Error(), "PYSEC-1-1.json") != 1 {
		t.Errorf("entry named more than once: %v", err)
	}
}
