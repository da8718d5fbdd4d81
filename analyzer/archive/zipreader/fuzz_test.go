package zipreader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds are built archives that exercise each path of the reader.
func fuzzSeeds(t testing.TB) [][]byte {
	entries := []zEntry{
		{name: "archive/data.pkl", data: pickle},
		{name: "archive/data/0", data: data(300, 1), method: Deflate, descriptor: true},
		{name: "z", data: data(200, 2), method: Zstd},
		{name: "l", data: data(200, 3), method: LZMA},
		{name: "b", data: []byte("hello, bzip2\n"), method: BZIP2, raw: bzip2Hello},
	}
	hidden := (&zipBuilder{noCentral: true, entries: []zEntry{{name: "evil.pkl", data: pickle}}}).build(t)
	return [][]byte{
		(&zipBuilder{entries: entries}).build(t),
		(&zipBuilder{entries: entries, zip64: true, comment: "c"}).build(t),
		(&zipBuilder{entries: entries, noCentral: true}).build(t),
		(&zipBuilder{entries: entries, prefix: []byte("prefix"), relative: true}).build(t),
		(&zipBuilder{entries: []zEntry{{name: "e", data: pickle, flags: FlagEncrypted, method: Deflate},
			{name: "h", data: pickle, hidden: true}, {name: "d", data: pickle, descriptor: true, method: Deflate}}}).build(t),
		(&zipBuilder{entries: entries[:2], zip64: true,
			z64: func(z []byte) { binary.LittleEndian.PutUint64(z[32:], 1) },
			end: func(e *eocd) { e.entries, e.entriesDisk, e.cdSize = 2, 2, 100 }}).build(t),
		(&zipBuilder{entries: []zEntry{{name: "a", data: []byte("0123"), after: hidden,
			central: func(h *hdr) { h.csize += uint32(len(hidden)); h.usize = h.csize }}, {name: "s", data: []byte("x"), flags: FlagEncrypted}}}).build(t),
		twoCentralDirectories(t),
	}
}

// FuzzOpen opens arbitrary bytes, lists the entries and reads each of them
// with a cap on the bytes read.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	if wd, err := os.Getwd(); err == nil {
		dir := filepath.Join(wd, "..", "..", "..", "testdata", "corpus", "picklescan")
		files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
		for _, p := range files {
			if !strings.HasSuffix(p, ".zip") && !strings.HasSuffix(p, ".npz") && !strings.HasSuffix(p, ".bin") {
				continue
			}
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The walk is linear and reads are capped: an input that takes
		// seconds is a bug. Crash the worker so that the fuzzer keeps it.
		wd := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("zipreader: input took over 10s: %q", b)) })
		defer wd.Stop()
		a, err := Open(bytes.NewReader(b), int64(len(b)), Options{MaxEntries: 1000})
		if err != nil {
			return
		}
		if len(a.Entries) > 1000 {
			t.Fatalf("%d entries over the limit", len(a.Entries))
		}
		const maxRead = 4 << 20
		for _, e := range a.Entries {
			if e.InLocal && (e.DataOffset < 0 || e.DataOffset > int64(len(b))) {
				t.Fatalf("%q: data offset %d outside the input", e.Name, e.DataOffset)
			}
			if ra, ok := a.ReaderAt(e); ok {
				var head [64]byte
				_, _ = ra.ReadAt(head[:], 0) // hostile input: a read error is expected, only a panic or a hang is a failure
			}
			if r, ok := a.RawReader(e); ok {
				_, _ = io.Copy(io.Discard, r) // hostile input: a read error is expected, only a panic or a hang is a failure
			}
			rc, err := a.Open(e)
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(rc, maxRead)) // hostile input: a read error is expected, only a panic or a hang is a failure
			rc.Close()
		}
	})
}

// TestFuzzSeedsAreWellFormed keeps the built seeds honest: each opens with
// entries.
func TestFuzzSeedsAreWellFormed(t *testing.T) {
	for i, s := range fuzzSeeds(t) {
		a, err := Open(bytes.NewReader(s), int64(len(s)), Options{})
		if err != nil || len(a.Entries) == 0 {
			t.Errorf("seed %d: %v, %d entries", i, err, len(a.Entries))
		}
	}
}
