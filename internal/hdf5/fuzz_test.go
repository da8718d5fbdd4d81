package hdf5

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzOpen opens arbitrary bytes, reads the attributes of the root group and
// walks its members to a bounded depth, reading their attributes, external
// file lists and virtual dataset mappings too. It must never panic, and
// must finish promptly.
func FuzzOpen(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.h5")
	threatFiles, _ := filepath.Glob(filepath.Join(threats, "*.h5"))
	names = append(names, threatFiles...)
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		// Larger fixtures make mutation and minimization slow; the unit
		// tests cover them (TestTruncated mutates them all).
		if len(b) <= 16<<10 {
			f.Add(b)
		}
	}
	// Small synthetic files, cheaper to mutate than the fixtures.
	w := newBuilder()
	w.put(v1Header(attrV1("n", dtInt64, dsSimple(2), cat(uint64(5), uint64(7))), linkMsg("self", 96),
		attrV1("s", dtVlenString(), dsScalar, cat(uint32(3), uint64(272), uint32(1)))))
	w.put(cat("GCOL", uint8(1), []byte{0, 0, 0}, uint64(40), uint16(1), uint16(1), uint32(0), uint64(3), "abc", make([]byte, 5)))
	f.Add(w.b)
	w, bt := symbolTableFile()
	snod := bt + 8 + 16 + 8 + 8 + 8
	w.put(cat("TREE", uint8(0), uint8(0), uint16(1), undefAddr, undefAddr, uint64(0), snod, uint64(8)))
	w.put(cat("SNOD", uint8(1), uint8(0), uint16(1), uint64(1), uint64(96), uint32(0), uint32(0), make([]byte, 16)))
	f.Add(w.b)
	// A dataset with an external file list, and a virtual dataset.
	at := heapAfter(efl(1, 1, 0, 0, 0, 0))
	heap, off := localHeapAt(at, "/etc/passwd")
	f.Add(datasetFile(func(uint64) []byte { return heap }, efl(1, 1, at, off[0], 0, 64)).b)
	at = heapAfter(layoutV4Virtual(0, 1))
	f.Add(datasetFile(func(uint64) []byte {
		return gcolWith(mappings(0, 2, mapping("/x.h5", "/w", hyperV3, blocksV1), mapping(".", "/v", pointsV2, selAllV1)))
	}, layoutV4Virtual(at, 1)).b)
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{
			MaxDepth:          8,
			MaxAttributes:     1000,
			MaxAttributeBytes: 1 << 20,
			MaxObjects:        500,
			MaxHeaderMessages: 1000,
			MaxReadBytes:      32 << 20,
			// Most mutations of version 2 structures break their
			// checksums; skip the verification for half the inputs to
			// reach the code behind it.
			IgnoreChecksums: len(b)%2 == 0,
		}
		start := time.Now()
		exercise(b, lim)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// FuzzMappings decodes arbitrary bytes as the global heap object that lists
// a virtual dataset's mappings (names and serialized selections), with
// 8-, 4- and 2-byte lengths and without the checksum check that most
// mutations break. It must never panic, and every source it returns must
// come from the input.
func FuzzMappings(f *testing.F) {
	for _, entries := range [][][]byte{
		{mapping("/etc/x.h5", "/w", selAllV1, selAllV1)},
		{mapping("a.h5", "/x", hyperV2, hyperV3), mapping(".", "/y", blocksV1, blocksV3)},
		{mapping("p.h5", "/p", pointsV1, pointsV2)},
	} {
		f.Add(mappings(0, uint64(len(entries)), entries...), uint8(8))
	}
	f.Fuzz(func(t *testing.T, b []byte, sizeLengths uint8) {
		lim := DefaultLimits()
		lim.IgnoreChecksums = true
		file := &File{sizeOffsets: 8, sizeLengths: []int{2, 4, 8}[sizeLengths%3], lim: lim}
		srcs, err := file.parseMappings(b, 0)
		if err != nil {
			return
		}
		for _, s := range srcs {
			if !bytes.Contains(b, []byte(s.File+"\x00"+s.Dataset+"\x00")) {
				t.Fatalf("source %+v is not in the input", s)
			}
		}
	})
}
