package zipreader

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
)

// ---- a zip builder that can corrupt every field ----

// hdr holds the fields of a local or central header before they are written.
type hdr struct {
	version, flags, method, mtime, mdate uint16
	crc                                  uint32
	csize, usize                         uint32
	name                                 string
	extra                                []byte
	comment                              string
	offset                               uint32 // central only
	madeBy                               uint16 // central only
}

// zEntry describes one member to build.
type zEntry struct {
	name       string
	data       []byte // uncompressed data
	method     uint16
	flags      uint16
	raw        []byte // data as stored, instead of compressing data
	descriptor bool   // bit 3: zero sizes in the local header, a signed descriptor after the data
	descSize   *[3]uint32
	hidden     bool // no central directory record
	noLocal    bool // no local header or data (the central record points at garbage)
	local      func(*hdr)
	central    func(*hdr)
	after      []byte // bytes written after the entry (a gap)
}

// eocd holds the end record fields before they are written.
type eocd struct {
	disk, cdDisk, entriesDisk, entries uint16
	cdSize, cdOff                      uint32
	comment                            string
	commentLen                         *uint16
}

type zipBuilder struct {
	prefix    []byte
	entries   []zEntry
	relative  bool // offsets relative to the end of the prefix (Python's concat)
	noCentral bool // no central directory and no end record
	zip64     bool // write a ZIP64 end record and locator
	z64       func(b []byte)
	end       func(*eocd)
	comment   string
	trailing  []byte
}

func deflateBytes(t testing.TB, p []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

func zstdBytes(t testing.TB, p []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(p, nil)
}

// lzmaBytes returns zip LZMA data: version, properties size, properties and
// the raw stream.
func lzmaBytes(t testing.TB, p []byte) []byte {
	var buf bytes.Buffer
	w, err := lzma.WriterConfig{SizeInHeader: true, Size: int64(len(p))}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b := buf.Bytes() // props(1) dict(4) size(8) stream
	out := []byte{9, 20, 5, 0}
	out = append(out, b[:5]...)
	return append(out, b[13:]...)
}

func le16b(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func (b *zipBuilder) build(t testing.TB) []byte {
	var buf []byte
	buf = append(buf, b.prefix...)
	base := 0
	if b.relative {
		base = len(b.prefix)
	}
	var central []hdr
	for _, e := range b.entries {
		payload := e.raw
		if payload == nil {
			switch e.method {
			case Deflate:
				payload = deflateBytes(t, e.data)
			case Zstd:
				payload = zstdBytes(t, e.data)
			case LZMA:
				payload = lzmaBytes(t, e.data)
			default:
				payload = e.data
			}
		}
		crc := crc32.ChecksumIEEE(e.data)
		h := hdr{version: 20, flags: e.flags, method: e.method, mtime: 0x6000, mdate: 0x5a21,
			crc: crc, csize: uint32(len(payload)), usize: uint32(len(e.data)), name: e.name,
			offset: uint32(len(buf) - base), madeBy: 0x0314}
		if e.descriptor {
			h.flags |= FlagDataDescriptor
		}
		c := h
		l := h
		if e.descriptor {
			l.crc, l.csize, l.usize = 0, 0, 0
		}
		if e.local != nil {
			e.local(&l)
		}
		if !e.noLocal {
			buf = binary.LittleEndian.AppendUint32(buf, sigLocal)
			buf = append(buf, le16b(l.version)...)
			buf = append(buf, le16b(l.flags)...)
			buf = append(buf, le16b(l.method)...)
			buf = append(buf, le16b(l.mtime)...)
			buf = append(buf, le16b(l.mdate)...)
			buf = binary.LittleEndian.AppendUint32(buf, l.crc)
			buf = binary.LittleEndian.AppendUint32(buf, l.csize)
			buf = binary.LittleEndian.AppendUint32(buf, l.usize)
			buf = append(buf, le16b(uint16(len(l.name)))...)
			buf = append(buf, le16b(uint16(len(l.extra)))...)
			buf = append(buf, l.name...)
			buf = append(buf, l.extra...)
			buf = append(buf, payload...)
			if e.descriptor {
				d := [3]uint32{crc, uint32(len(payload)), uint32(len(e.data))}
				if e.descSize != nil {
					d = *e.descSize
				}
				buf = binary.LittleEndian.AppendUint32(buf, sigDescriptor)
				for _, v := range d {
					buf = binary.LittleEndian.AppendUint32(buf, v)
				}
			}
		}
		buf = append(buf, e.after...)
		if e.central != nil {
			e.central(&c)
		}
		if !e.hidden {
			central = append(central, c)
		}
	}
	if b.noCentral {
		return append(buf, b.trailing...)
	}
	cdStart := len(buf)
	for _, c := range central {
		buf = binary.LittleEndian.AppendUint32(buf, sigCentral)
		buf = append(buf, le16b(c.madeBy)...)
		buf = append(buf, le16b(c.version)...)
		buf = append(buf, le16b(c.flags)...)
		buf = append(buf, le16b(c.method)...)
		buf = append(buf, le16b(c.mtime)...)
		buf = append(buf, le16b(c.mdate)...)
		buf = binary.LittleEndian.AppendUint32(buf, c.crc)
		buf = binary.LittleEndian.AppendUint32(buf, c.csize)
		buf = binary.LittleEndian.AppendUint32(buf, c.usize)
		buf = append(buf, le16b(uint16(len(c.name)))...)
		buf = append(buf, le16b(uint16(len(c.extra)))...)
		buf = append(buf, le16b(uint16(len(c.comment)))...)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // disk, internal, external attributes
		buf = binary.LittleEndian.AppendUint32(buf, c.offset)
		buf = append(buf, c.name...)
		buf = append(buf, c.extra...)
		buf = append(buf, c.comment...)
	}
	cdEnd := len(buf)
	end := eocd{entriesDisk: uint16(len(central)), entries: uint16(len(central)),
		cdSize: uint32(cdEnd - cdStart), cdOff: uint32(cdStart - base), comment: b.comment}
	if b.zip64 {
		z := make([]byte, lenEOCD64)
		binary.LittleEndian.PutUint32(z, sigEOCD64)
		binary.LittleEndian.PutUint64(z[4:], lenEOCD64-12)
		binary.LittleEndian.PutUint16(z[12:], 45)
		binary.LittleEndian.PutUint16(z[14:], 45)
		binary.LittleEndian.PutUint64(z[24:], uint64(len(central)))
		binary.LittleEndian.PutUint64(z[32:], uint64(len(central)))
		binary.LittleEndian.PutUint64(z[40:], uint64(cdEnd-cdStart))
		binary.LittleEndian.PutUint64(z[48:], uint64(cdStart-base))
		if b.z64 != nil {
			b.z64(z)
		}
		z64Pos := len(buf)
		buf = append(buf, z...)
		buf = binary.LittleEndian.AppendUint32(buf, sigLocator64)
		buf = binary.LittleEndian.AppendUint32(buf, 0)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(z64Pos))
		buf = binary.LittleEndian.AppendUint32(buf, 1)
		end.entries, end.entriesDisk, end.cdSize, end.cdOff = 0xffff, 0xffff, 0xffffffff, 0xffffffff
	}
	if b.end != nil {
		b.end(&end)
	}
	buf = binary.LittleEndian.AppendUint32(buf, sigEOCD)
	buf = append(buf, le16b(end.disk)...)
	buf = append(buf, le16b(end.cdDisk)...)
	buf = append(buf, le16b(end.entriesDisk)...)
	buf = append(buf, le16b(end.entries)...)
	buf = binary.LittleEndian.AppendUint32(buf, end.cdSize)
	buf = binary.LittleEndian.AppendUint32(buf, end.cdOff)
	cl := uint16(len(end.comment))
	if end.commentLen != nil {
		cl = *end.commentLen
	}
	buf = append(buf, le16b(cl)...)
	buf = append(buf, end.comment...)
	return append(buf, b.trailing...)
}

// ---- helpers ----

var pickle = []byte("\x80\x04\x95\x28\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x0cprint('456')\x94\x85\x94R\x94.")

func mustOpen(t testing.TB, b []byte, opts Options) *Archive {
	t.Helper()
	a, err := Open(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

func kinds(as []Anomaly) []string {
	var k []string
	for _, a := range as {
		k = append(k, a.Kind)
	}
	slices.Sort(k)
	return slices.Compact(k)
}

func hasKind(as []Anomaly, kind, entry string) bool {
	for _, a := range as {
		if a.Kind == kind && (entry == "*" || a.Entry == entry) {
			return true
		}
	}
	return false
}

func wantKinds(t *testing.T, a *Archive, want ...string) {
	t.Helper()
	got := kinds(a.Anomalies)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("anomaly kinds = %v, want %v", got, want)
		for _, an := range a.Anomalies {
			t.Logf("  %s %q: %s", an.Kind, an.Entry, an.Detail)
		}
	}
}

func entry(t *testing.T, a *Archive, name string) *Entry {
	t.Helper()
	for _, e := range a.Entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %q among %d", name, len(a.Entries))
	return nil
}

// readEntry reads e fully and returns its bytes and the read anomalies.
func readEntry(t *testing.T, a *Archive, e *Entry) ([]byte, []Anomaly) {
	t.Helper()
	rc, err := a.Open(e)
	if err != nil {
		t.Fatalf("Open(%q): %v", e.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", e.Name, err)
	}
	return b, rc.(*EntryReader).Anomalies()
}

func data(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.Intn(4))
	}
	return b
}

// ---- tests of built archives ----

func TestCleanArchive(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{
		{name: "archive/data.pkl", data: pickle},
		{name: "archive/data/0", data: data(5000, 1), method: Deflate},
		{name: "archive/version", data: []byte("3\n"), descriptor: true},
		{name: "empty", data: nil},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a)
	if len(a.Entries) != 4 || a.Truncated {
		t.Fatalf("entries = %d, truncated %v", len(a.Entries), a.Truncated)
	}
	for i, want := range [][]byte{pickle, data(5000, 1), []byte("3\n"), nil} {
		e := a.Entries[i]
		if !e.InCentral || !e.InLocal || e.Encrypted {
			t.Errorf("%q: central %v local %v encrypted %v", e.Name, e.InCentral, e.InLocal, e.Encrypted)
		}
		got, an := readEntry(t, a, e)
		if !bytes.Equal(got, want) || len(an) != 0 {
			t.Errorf("%q: read %d bytes (want %d), anomalies %v", e.Name, len(got), len(want), an)
		}
	}
	e := a.Entries[0]
	if e.Modified.Year() != 2025 || e.HeaderOffset != 0 || e.DataOffset != lenLocal+int64(len(e.Name)) {
		t.Errorf("entry fields: %+v", e)
	}
}

func TestMethods(t *testing.T) {
	d := data(20000, 2)
	b := (&zipBuilder{entries: []zEntry{
		{name: "zstd", data: d, method: Zstd},
		{name: "lzma", data: d, method: LZMA},
		{name: "deflate-dd", data: d, method: Deflate, descriptor: true},
		{name: "bzip2", data: []byte("hello, bzip2\n"), method: BZIP2, raw: bzip2Hello},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a)
	for _, e := range a.Entries {
		got, an := readEntry(t, a, e)
		want := d
		if e.Name == "bzip2" {
			want = []byte("hello, bzip2\n")
		}
		if !bytes.Equal(got, want) || len(an) != 0 {
			t.Errorf("%q: read %d bytes, anomalies %v", e.Name, len(got), an)
		}
	}
}

// bzip2Hello is bz2.compress(b"hello, bzip2\n") from Python.
var bzip2Hello, _ = hex.DecodeString("425a6839314159265359b123de4300000359800010400410001264c0102000310340d02001a69103ab6c8284f8bb9229c28485891ef218")

func TestUnsupportedMethod(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{{name: "d64", data: []byte("xx"), method: Deflate64, raw: []byte{1, 2, 3}}}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a, KindUnsupportedMethod)
	if _, err := a.Open(a.Entries[0]); !errors.Is(err, ErrUnsupportedMethod) {
		t.Errorf("Open: %v, want ErrUnsupportedMethod", err)
	}
	if r, ok := a.RawReader(a.Entries[0]); !ok || r.Size() != 3 {
		t.Errorf("RawReader: %v %v", r, ok)
	}
}

func TestHeaderMismatches(t *testing.T) {
	cases := []struct {
		name  string
		e     zEntry
		kinds []string
	}{
		{"name", zEntry{local: func(h *hdr) { h.name = "datap.kl" }}, []string{KindNameMismatch}},
		{"flags", zEntry{local: func(h *hdr) { h.flags = FlagUTF8 }}, []string{KindFlagsMismatch}},
		{"method", zEntry{local: func(h *hdr) { h.method = 8 }}, []string{KindMethodMismatch}},
		{"crc", zEntry{local: func(h *hdr) { h.crc ^= 1 }}, []string{KindCRCMismatch}},
		{"local-size", zEntry{local: func(h *hdr) { h.usize++ }}, []string{KindSizeMismatch}},
		{"descriptor-size", zEntry{descriptor: true, descSize: &[3]uint32{crc32.ChecksumIEEE(pickle), uint32(len(pickle)), 7}}, []string{KindSizeMismatch}},
		{"stored-sizes", zEntry{central: func(h *hdr) { h.usize += 10 }, local: func(h *hdr) { h.usize += 10 }}, []string{KindSizeMismatch}},
		{"patched", zEntry{flags: FlagPatched}, []string{KindUnusualFlags}},
		{"strong", zEntry{flags: FlagStrongEncryption}, []string{KindUnusualFlags}},
		{"zip64-missing", zEntry{central: func(h *hdr) { h.csize = 0xffffffff }}, []string{KindZip64, KindSizeMismatch, KindBeyondEnd, KindOverlap}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.e
			e.name, e.data = "data.pkl", pickle
			b := (&zipBuilder{entries: []zEntry{e, {name: "next", data: []byte("x")}}}).build(t)
			a := mustOpen(t, b, Options{})
			wantKinds(t, a, c.kinds...)
			rc, err := a.Open(entry(t, a, "data.pkl"))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			if !bytes.HasPrefix(got, pickle) {
				t.Errorf("read %x", got)
			}
		})
	}
}

func TestBadCRC(t *testing.T) {
	bad := func(h *hdr) { h.crc = 0x12345678 }
	for _, m := range []uint16{Store, Deflate} {
		b := (&zipBuilder{entries: []zEntry{{name: "data.pkl", data: pickle, method: m, local: bad, central: bad}}}).build(t)
		var seen []Anomaly
		a := mustOpen(t, b, Options{OnAnomaly: func(an Anomaly) { seen = append(seen, an) }})
		wantKinds(t, a)
		got, an := readEntry(t, a, a.Entries[0])
		if !bytes.Equal(got, pickle) {
			t.Errorf("method %d: read %x", m, got)
		}
		if !hasKind(an, KindBadCRC, "data.pkl") || !hasKind(seen, KindBadCRC, "data.pkl") {
			t.Errorf("method %d: reader anomalies %v, callback %v", m, an, seen)
		}
	}
}

func TestHiddenLocalEntry(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{
		{name: "archive/data.pkl", data: []byte("benign")},
		{name: "archive/evil.pkl", data: pickle, hidden: true},
		{name: "archive/version", data: []byte("3\n")},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a, KindLocalOnly)
	e := entry(t, a, "archive/evil.pkl")
	if e.InCentral || !e.InLocal || a.Entries[len(a.Entries)-1] != e {
		t.Errorf("hidden entry: %+v", e)
	}
	if got, _ := readEntry(t, a, e); !bytes.Equal(got, pickle) {
		t.Errorf("read %x", got)
	}
}

func TestHiddenInsideEntry(t *testing.T) {
	// The central directory says the first entry covers the second local
	// header; the local header of the first entry says it does not.
	var hidden []byte
	{
		inner := (&zipBuilder{noCentral: true, entries: []zEntry{{name: "evil.pkl", data: pickle}}}).build(t)
		hidden = inner
	}
	grow := func(h *hdr) { h.csize += uint32(len(hidden)); h.usize += uint32(len(hidden)) }
	b := (&zipBuilder{entries: []zEntry{
		{name: "a.bin", data: []byte("0123456789"), after: hidden, central: grow},
		{name: "b.bin", data: []byte("b")},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a, KindSizeMismatch, KindLocalOnly, KindOverlap)
	if got, _ := readEntry(t, a, entry(t, a, "evil.pkl")); !bytes.Equal(got, pickle) {
		t.Errorf("read %x", got)
	}
}

func TestCentralOnly(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{
		{name: "ghost", data: []byte("boo"), noLocal: true, central: func(h *hdr) { h.offset = 1 }},
		{name: "real", data: []byte("x")},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a, KindCentralOnly)
	e := entry(t, a, "ghost")
	if e.InLocal || e.DataOffset != -1 {
		t.Errorf("ghost: %+v", e)
	}
	if _, err := a.Open(e); !errors.Is(err, ErrNoLocalHeader) {
		t.Errorf("Open: %v", err)
	}
	// Beyond the end.
	b = (&zipBuilder{entries: []zEntry{{name: "far", data: []byte("x"), central: func(h *hdr) { h.offset = 1 << 30 }}}}).build(t)
	a = mustOpen(t, b, Options{})
	if !hasKind(a.Anomalies, KindCentralOnly, "far") || !hasKind(a.Anomalies, KindLocalOnly, "far") {
		t.Errorf("anomalies %v", kinds(a.Anomalies))
	}
}

func TestOverlapSharedHeader(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{
		{name: "a.pkl", data: pickle},
		{name: "b.pkl", data: []byte("x"), noLocal: true, central: func(h *hdr) {
			h.offset, h.crc, h.csize, h.usize = 0, crc32.ChecksumIEEE(pickle), uint32(len(pickle)), uint32(len(pickle))
		}},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a, KindOverlap, KindNameMismatch)
	got, _ := readEntry(t, a, entry(t, a, "b.pkl"))
	if !bytes.Equal(got, pickle) {
		t.Errorf("read %x", got)
	}
}

func TestBeyondEnd(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{{name: "big", data: []byte("abc"),
		central: func(h *hdr) { h.csize, h.usize = 1<<20, 1<<20 }}}}).build(t)
	a := mustOpen(t, b, Options{})
	if !hasKind(a.Anomalies, KindBeyondEnd, "big") || !hasKind(a.Anomalies, KindOverlap, "big") {
		t.Errorf("anomalies %v", kinds(a.Anomalies))
	}
	rc, err := a.Open(a.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.HasPrefix(got, []byte("abc")) || int64(len(got)) != int64(len(b))-a.Entries[0].DataOffset {
		t.Errorf("read %d bytes, %v", len(got), err)
	}
}

func TestNames(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{
		{name: "archive/data.pkl", data: []byte("1")},
		{name: "archive/data.pkl", data: []byte("2")},
		{name: "Archive/Data.PKL", data: []byte("3")},
		{name: "x.pkl\x00.txt", data: []byte("4")},
		{name: "X.PKL", data: []byte("5")},
		{name: "../escape", data: []byte("6")},
		{name: "/abs", data: []byte("7")},
		{name: "dir\\file", data: []byte("8")},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a, KindDuplicateName, KindSuspiciousName)
	n := 0
	for _, an := range a.Anomalies {
		if an.Kind == KindDuplicateName {
			n++
		}
	}
	if n != 3 { // exact duplicate, case-folded group, NUL-cut group
		t.Errorf("%d duplicate-name anomalies", n)
	}
}

func TestEncryptedFlagOnPlainData(t *testing.T) {
	for _, m := range []uint16{Store, Deflate, Zstd} {
		b := (&zipBuilder{entries: []zEntry{{name: "model/config.pkl", data: pickle, method: m, flags: FlagEncrypted}}}).build(t)
		a := mustOpen(t, b, Options{})
		wantKinds(t, a, KindEncryptedFlagOnPlain)
		e := a.Entries[0]
		if e.Encrypted {
			t.Fatalf("method %d: plain data taken as encrypted", m)
		}
		if got, _ := readEntry(t, a, e); !bytes.Equal(got, pickle) {
			t.Errorf("method %d: read %x", m, got)
		}
	}
	// Plain stored data with a wrong CRC and no room for an encryption
	// header: what PyTorch would read.
	bad := func(h *hdr) { h.crc = 1 }
	b := (&zipBuilder{entries: []zEntry{{name: "p", data: pickle, flags: FlagEncrypted, local: bad, central: bad}}}).build(t)
	if a := mustOpen(t, b, Options{}); a.Entries[0].Encrypted {
		t.Errorf("stored, bad CRC, equal sizes: taken as encrypted")
	}
}

func TestReallyEncrypted(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	noise := func(n int) []byte {
		b := make([]byte, n)
		r.Read(b)
		return b
	}
	plain := []byte("secret data....")
	stored := zEntry{name: "s.txt", data: plain, flags: FlagEncrypted, raw: noise(len(plain) + 12)}
	stored.central = func(h *hdr) { h.csize = uint32(len(plain) + 12) }
	stored.local = stored.central
	deflated := zEntry{name: "d.txt", data: data(3000, 3), method: Deflate, flags: FlagEncrypted, raw: noise(900)}
	b := (&zipBuilder{entries: []zEntry{stored, deflated}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a)
	for _, e := range a.Entries {
		if !e.Encrypted {
			t.Errorf("%q: not taken as encrypted", e.Name)
		}
		if _, err := a.Open(e); !errors.Is(err, ErrEncrypted) {
			t.Errorf("%q: Open: %v", e.Name, err)
		}
		if _, ok := a.ReaderAt(e); ok {
			t.Errorf("%q: ReaderAt on encrypted data", e.Name)
		}
	}
}

func TestZip64(t *testing.T) {
	entries := []zEntry{{name: "a", data: []byte("aaa")}, {name: "b", data: pickle}}
	a := mustOpen(t, (&zipBuilder{entries: entries, zip64: true}).build(t), Options{})
	wantKinds(t, a)
	if len(a.Entries) != 2 {
		t.Fatalf("%d entries", len(a.Entries))
	}
	// The ZIP64 record hides one entry from a reader of the 32-bit record.
	b := (&zipBuilder{entries: entries, zip64: true,
		z64: func(z []byte) { binary.LittleEndian.PutUint64(z[24:], 1); binary.LittleEndian.PutUint64(z[32:], 1) },
		end: func(e *eocd) { e.entries, e.entriesDisk = 2, 2 }}).build(t)
	a = mustOpen(t, b, Options{})
	if !hasKind(a.Anomalies, KindZip64, "") || len(a.Entries) != 2 {
		t.Errorf("anomalies %v, %d entries", kinds(a.Anomalies), len(a.Entries))
	}
	// A locator that points nowhere, with a saturated end record.
	b = (&zipBuilder{entries: entries, zip64: true, z64: func(z []byte) { z[0] = 'X' }}).build(t)
	a = mustOpen(t, b, Options{})
	if !hasKind(a.Anomalies, KindZip64, "") || len(a.Entries) != 2 {
		t.Errorf("anomalies %v, %d entries", kinds(a.Anomalies), len(a.Entries))
	}
	// A central record with saturated sizes and a valid ZIP64 extra field.
	z := binary.LittleEndian.AppendUint16(nil, zip64ExtraID)
	z = binary.LittleEndian.AppendUint16(z, 16)
	z = binary.LittleEndian.AppendUint64(z, uint64(len(pickle)))
	z = binary.LittleEndian.AppendUint64(z, uint64(len(pickle)))
	b = (&zipBuilder{entries: []zEntry{{name: "p", data: pickle, central: func(h *hdr) {
		h.csize, h.usize, h.extra = 0xffffffff, 0xffffffff, z
	}, local: func(h *hdr) { h.csize, h.usize, h.extra = 0xffffffff, 0xffffffff, z }}}}).build(t)
	a = mustOpen(t, b, Options{})
	wantKinds(t, a)
	if got, _ := readEntry(t, a, a.Entries[0]); !bytes.Equal(got, pickle) {
		t.Errorf("read %x", got)
	}
}

func TestPyTorchZip64LocalExtra(t *testing.T) {
	// miniz writes big entries with zero local sizes, a data descriptor,
	// and a local ZIP64 field holding the sizes and the offset.
	z := binary.LittleEndian.AppendUint16(nil, zip64ExtraID)
	z = binary.LittleEndian.AppendUint16(z, 24)
	z = binary.LittleEndian.AppendUint64(z, 5<<30)
	z = binary.LittleEndian.AppendUint64(z, 5<<30)
	z = binary.LittleEndian.AppendUint64(z, 6<<30)
	b := (&zipBuilder{zip64: true, entries: []zEntry{
		{name: "archive/data.pkl", data: pickle, descriptor: true, flags: FlagUTF8},
		{name: "archive/data/0", data: data(100, 1), descriptor: true, flags: FlagUTF8, local: func(h *hdr) { h.extra = z }},
	}}).build(t)
	a := mustOpen(t, b, Options{})
	wantKinds(t, a)
}

func TestCommentPrefixTrailing(t *testing.T) {
	entries := []zEntry{{name: "a", data: []byte("aaa")}, {name: "b", data: pickle}}
	a := mustOpen(t, (&zipBuilder{entries: entries, comment: "hello"}).build(t), Options{})
	wantKinds(t, a, KindComment)
	if a.Comment != "hello" {
		t.Errorf("comment %q", a.Comment)
	}
	// A self-extracting archive: absolute offsets after a prefix.
	a = mustOpen(t, (&zipBuilder{entries: entries, prefix: []byte("#!/bin/sh\nexit 0\n")}).build(t), Options{})
	wantKinds(t, a, KindPrependedData)
	// Offsets relative to the prefix (Python's zipfile adjusts them).
	a = mustOpen(t, (&zipBuilder{entries: entries, prefix: bytes.Repeat([]byte{0}, 100), relative: true}).build(t), Options{})
	wantKinds(t, a, KindPrependedData)
	if e := entry(t, a, "b"); e.HeaderOffset <= 100 {
		t.Errorf("offset not adjusted: %d", e.HeaderOffset)
	} else if got, _ := readEntry(t, a, e); !bytes.Equal(got, pickle) {
		t.Errorf("read %x", got)
	}
	// Trailing bytes, and a comment longer than the bytes left.
	a = mustOpen(t, (&zipBuilder{entries: entries, trailing: []byte("tail")}).build(t), Options{})
	wantKinds(t, a, KindTrailingData)
	cl := uint16(40)
	a = mustOpen(t, (&zipBuilder{entries: entries, end: func(e *eocd) { e.commentLen = &cl }, comment: "short"}).build(t), Options{})
	wantKinds(t, a, KindComment)
	// A gap between entries.
	a = mustOpen(t, (&zipBuilder{entries: []zEntry{{name: "a", data: []byte("aaa"), after: []byte("hidden bytes")}, {name: "b", data: pickle}}}).build(t), Options{})
	wantKinds(t, a, KindGap)
}

func TestNoOrBadCentralDirectory(t *testing.T) {
	entries := []zEntry{
		{name: "a.npy", data: []byte("aaa")},
		{name: "b.pkl", data: pickle, method: Deflate, descriptor: true},
		{name: "c.pkl", data: pickle, descriptor: true},
		{name: "d", data: []byte("d")},
	}
	check := func(t *testing.T, a *Archive, central bool) {
		t.Helper()
		if len(a.Entries) != 4 {
			t.Fatalf("%d entries", len(a.Entries))
		}
		for _, e := range a.Entries {
			if e.InCentral != central || !e.InLocal {
				t.Errorf("%q: central %v local %v", e.Name, e.InCentral, e.InLocal)
			}
		}
		for _, n := range []string{"b.pkl", "c.pkl"} {
			e := entry(t, a, n)
			got, an := readEntry(t, a, e)
			if !bytes.Equal(got, pickle) || len(an) != 0 {
				t.Errorf("%s: read %x, %v", n, got, an)
			}
		}
	}
	t.Run("missing", func(t *testing.T) {
		a := mustOpen(t, (&zipBuilder{entries: entries, noCentral: true}).build(t), Options{})
		wantKinds(t, a, KindNoCentralDirectory)
		check(t, a, false)
	})
	t.Run("bad-offset", func(t *testing.T) {
		// The central directory is found where the end record implies it
		// is, but its offsets are absolute.
		a := mustOpen(t, (&zipBuilder{entries: entries, end: func(e *eocd) { e.cdOff = 3 }}).build(t), Options{})
		wantKinds(t, a, KindBadCentralDirectory)
		check(t, a, true)
		// No central directory where the end record says, nor before it.
		a = mustOpen(t, (&zipBuilder{entries: entries, end: func(e *eocd) { e.cdOff, e.cdSize = 3, 7 }}).build(t), Options{})
		if !hasKind(a.Anomalies, KindBadCentralDirectory, "") {
			t.Errorf("anomalies %v", kinds(a.Anomalies))
		}
		check(t, a, false)
	})
	t.Run("count", func(t *testing.T) {
		a := mustOpen(t, (&zipBuilder{entries: entries, end: func(e *eocd) { e.entries, e.entriesDisk = 2, 2 }}).build(t), Options{})
		wantKinds(t, a, KindBadCentralDirectory)
		if len(a.Entries) != 4 {
			t.Errorf("%d entries", len(a.Entries))
		}
	})
}

// twoCentralDirectories builds an archive where miniz and Python's zipfile
// read different central directories.
func twoCentralDirectories(t testing.TB) []byte {
	benign := (&zipBuilder{noCentral: true, entries: []zEntry{{name: "x.pkl", data: []byte("benign")}}}).build(t)
	evil := (&zipBuilder{noCentral: true, entries: []zEntry{{name: "y.pkl", data: pickle}}}).build(t)
	cd := func(name string, d []byte, stored []byte, off uint32) []byte {
		var b []byte
		b = binary.LittleEndian.AppendUint32(b, sigCentral)
		b = append(b, 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(d))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(stored)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(d)))
		b = append(b, le16b(uint16(len(name)))...)
		b = append(b, make([]byte, 12)...)
		b = binary.LittleEndian.AppendUint32(b, off)
		return append(b, name...)
	}
	var f []byte
	f = append(f, benign...)
	f = append(f, make([]byte, 200)...) // room for the relative offset of y.pkl
	cdA := len(f)
	f = append(f, cd("x.pkl", []byte("benign"), []byte("benign"), 0)...)
	evilOff := len(f)
	f = append(f, evil...)
	cdBStart := len(f)
	concat := cdBStart - cdA
	f = append(f, cd("y.pkl", pickle, pickle, uint32(evilOff-concat))...)
	size := len(f) - cdBStart
	f = binary.LittleEndian.AppendUint32(f, sigEOCD)
	f = append(f, 0, 0, 0, 0, 1, 0, 1, 0)
	f = binary.LittleEndian.AppendUint32(f, uint32(size))
	f = binary.LittleEndian.AppendUint32(f, uint32(cdA))
	f = append(f, 0, 0)
	return f
}

func TestTwoCentralDirectories(t *testing.T) {
	// Central directory A (read by miniz at the stated offset) lists a benign
	// entry; central directory B (where Python's zipfile looks, after the
	// stated offset plus the prefix length) lists the pickle. Both have the
	// same size.
	f := twoCentralDirectories(t)
	a := mustOpen(t, f, Options{})
	if !hasKind(a.Anomalies, KindBadCentralDirectory, "") {
		t.Errorf("anomalies %v", kinds(a.Anomalies))
	}
	for _, n := range []string{"x.pkl", "y.pkl"} {
		if e := entry(t, a, n); !e.InCentral {
			t.Errorf("%s not in a central directory", n)
		}
	}
	if got, _ := readEntry(t, a, entry(t, a, "y.pkl")); !bytes.Equal(got, pickle) {
		t.Errorf("read %x", got)
	}
}

func TestTrailingCompressedBytes(t *testing.T) {
	raw := append(deflateBytes(t, pickle), "HIDDEN"...)
	b := (&zipBuilder{entries: []zEntry{{name: "p", data: pickle, method: Deflate, raw: raw}}}).build(t)
	a := mustOpen(t, b, Options{})
	_, an := readEntry(t, a, a.Entries[0])
	if !hasKind(an, KindTrailingCompressed, "p") {
		t.Errorf("read anomalies %v", an)
	}
}

func TestNotZipAndEmpty(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("PK"), []byte("\x80\x04K\x01."), bytes.Repeat([]byte("PK\x03\x04"), 3)} {
		if _, err := Open(bytes.NewReader(b), int64(len(b)), Options{}); !errors.Is(err, ErrFormat) {
			t.Errorf("Open(%q): %v, want ErrFormat", b, err)
		}
	}
	b := (&zipBuilder{}).build(t)
	a := mustOpen(t, b, Options{})
	if len(a.Entries) != 0 || len(a.Anomalies) != 0 {
		t.Errorf("empty archive: %d entries, %v", len(a.Entries), a.Anomalies)
	}
	// An end record that promises entries that are nowhere.
	b = (&zipBuilder{end: func(e *eocd) { e.entries, e.cdSize = 3, 100 }}).build(t)
	if _, err := Open(bytes.NewReader(b), int64(len(b)), Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("promised entries: %v", err)
	}
}

func TestMaxEntries(t *testing.T) {
	var es []zEntry
	for i := range 10 {
		es = append(es, zEntry{name: strings.Repeat("n", i+1), data: []byte{byte(i)}})
	}
	b := (&zipBuilder{entries: es}).build(t)
	a := mustOpen(t, b, Options{MaxEntries: 4})
	if !a.Truncated || len(a.Entries) != 4 || !hasKind(a.Anomalies, KindTooManyEntries, "") {
		t.Errorf("truncated %v, %d entries, %v", a.Truncated, len(a.Entries), kinds(a.Anomalies))
	}
	// Local headers only.
	b = (&zipBuilder{entries: es, noCentral: true}).build(t)
	a = mustOpen(t, b, Options{MaxEntries: 4})
	if !a.Truncated || len(a.Entries) != 4 {
		t.Errorf("truncated %v, %d entries", a.Truncated, len(a.Entries))
	}
}

func TestReaderAt(t *testing.T) {
	d := data(10000, 4)
	b := (&zipBuilder{entries: []zEntry{{name: "s", data: d}, {name: "d", data: d, method: Deflate}}}).build(t)
	a := mustOpen(t, b, Options{})
	ra, ok := a.ReaderAt(entry(t, a, "s"))
	if !ok {
		t.Fatal("no ReaderAt for a stored entry")
	}
	got := make([]byte, 100)
	if _, err := ra.ReadAt(got, 5000); err != nil || !bytes.Equal(got, d[5000:5100]) {
		t.Errorf("ReadAt: %v", err)
	}
	if _, err := ra.ReadAt(got, 9950); err != io.EOF {
		t.Errorf("ReadAt past the end: %v", err)
	}
	if _, ok := a.ReaderAt(entry(t, a, "d")); ok {
		t.Error("ReaderAt for a deflated entry")
	}
}

// TestSourceBounds checks that no read leaves [0, size), even when the
// ReaderAt holds more bytes.
func TestSourceBounds(t *testing.T) {
	b := (&zipBuilder{entries: []zEntry{{name: "s", data: []byte("abc"),
		central: func(h *hdr) { h.csize, h.usize = 1000, 1000 }}}}).build(t)
	r := &strictReader{data: append(slices.Clone(b), bytes.Repeat([]byte("X"), 5000)...), size: int64(len(b)), t: t}
	a, err := Open(r, int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := a.Open(a.Entries[0])
	got, _ := io.ReadAll(rc)
	if bytes.Contains(got, []byte("X")) {
		t.Error("read beyond size")
	}
}

type strictReader struct {
	data []byte
	size int64
	t    *testing.T
}

func (s *strictReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > s.size {
		s.t.Errorf("ReadAt(%d bytes at %d) outside [0,%d)", len(p), off, s.size)
	}
	return bytes.NewReader(s.data).ReadAt(p, off)
}

// ---- the corpus ----

func corpusDir(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(wd, "..", "..", "..", "testdata", "corpus", "picklescan")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("corpus not found: %v", err)
	}
	return dir
}

func openFile(t *testing.T, path string) *Archive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	a, err := Open(f, st.Size(), Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

func TestCorpusMaliciousZips(t *testing.T) {
	dir := corpusDir(t)
	cases := []struct {
		file  string
		name  string
		kinds []string // anomalies of Open
		read  []string // anomalies of reading
	}{
		{"data/malicious1.zip", "data.pkl", nil, nil},
		{"data/malicious1_0x1.zip", "model/config.pkl", []string{KindEncryptedFlagOnPlain}, nil},
		{"data/malicious1_0x20.zip", "model/config.pkl", []string{KindUnusualFlags}, nil},
		{"data/malicious1_0x40.zip", "model/config.pkl", []string{KindUnusualFlags}, nil},
		{"data/malicious1_central_directory.zip", "data.pkl", []string{KindNameMismatch}, nil},
		{"data/malicious1_wrong_ext.zip", "data.txt", nil, nil},
		{"data2/malicious1_crc.zip", "data.pkl", nil, []string{KindBadCRC}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			a := openFile(t, filepath.Join(dir, c.file))
			wantKinds(t, a, c.kinds...)
			e := entry(t, a, c.name)
			if e.Encrypted {
				t.Fatal("taken as encrypted")
			}
			got, an := readEntry(t, a, e)
			if len(got) == 0 || got[0] != 0x80 || got[len(got)-1] != '.' {
				t.Errorf("member does not hold a pickle: %x", got)
			}
			if k := kinds(an); !slices.Equal(k, c.read) {
				t.Errorf("read anomalies %v, want %v", k, c.read)
			}
			if ra, ok := a.ReaderAt(e); !ok {
				t.Error("no ReaderAt")
			} else if h := make([]byte, 2); func() bool { _, err := ra.ReadAt(h, 0); return err != nil }() || h[0] != 0x80 {
				t.Errorf("ReaderAt head %x", h)
			}
		})
	}
}

func TestCorpusPasswordProtected(t *testing.T) {
	a := openFile(t, filepath.Join(corpusDir(t), "data", "benign_password_protected.zip"))
	wantKinds(t, a)
	e := entry(t, a, "test.txt")
	if !e.Encrypted {
		t.Fatal("not taken as encrypted")
	}
	if _, err := a.Open(e); !errors.Is(err, ErrEncrypted) {
		t.Errorf("Open: %v, want ErrEncrypted", err)
	}
}

func TestCorpusNPZAndPyTorch(t *testing.T) {
	dir := corpusDir(t)
	for _, f := range []string{"data2/int_arrays.npz", "data2/int_arrays_compressed.npz", "data2/object_arrays.npz",
		"data2/object_arrays_compressed.npz", "data/new_pytorch_model.bin"} {
		t.Run(f, func(t *testing.T) {
			a := openFile(t, filepath.Join(dir, f))
			wantKinds(t, a)
			if len(a.Entries) < 2 {
				t.Fatalf("%d entries", len(a.Entries))
			}
			for _, e := range a.Entries {
				got, an := readEntry(t, a, e)
				if int64(len(got)) != e.UncompressedSize || len(an) != 0 {
					t.Errorf("%q: %d bytes, %v", e.Name, len(got), an)
				}
				if strings.HasSuffix(e.Name, ".npy") && !bytes.HasPrefix(got, []byte("\x93NUMPY")) {
					t.Errorf("%q: head %x", e.Name, got[:min(8, len(got))])
				}
			}
		})
	}
}

func TestCorpusNotZip(t *testing.T) {
	dir := corpusDir(t)
	for _, f := range []string{"data/malicious0.pkl", "data/pytorch_model.bin", "data/bad_pytorch.pt"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(bytes.NewReader(b), int64(len(b)), Options{}); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// ---- cost on adversarial inputs ----

// countingReader counts the bytes read through it.
type countingReader struct {
	r     io.ReaderAt
	bytes int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.bytes += int64(n)
	return n, err
}

// openCost opens b and returns the archive and the bytes read per byte of
// input.
func openCost(t *testing.T, b []byte) (*Archive, float64) {
	t.Helper()
	cr := &countingReader{r: bytes.NewReader(b)}
	a, err := Open(cr, int64(len(b)), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a, float64(cr.bytes) / float64(len(b))
}

func appendCentral(f []byte, name string, flags, method uint16, crc uint32, csize, usize, off uint32) []byte {
	f = binary.LittleEndian.AppendUint32(f, sigCentral)
	f = append(f, 20, 3, 20, 0)
	f = append(f, le16b(flags)...)
	f = append(f, le16b(method)...)
	f = append(f, 0, 0, 0, 0)
	f = binary.LittleEndian.AppendUint32(f, crc)
	f = binary.LittleEndian.AppendUint32(f, csize)
	f = binary.LittleEndian.AppendUint32(f, usize)
	f = append(f, le16b(uint16(len(name)))...)
	f = append(f, make([]byte, 12)...)
	f = binary.LittleEndian.AppendUint32(f, off)
	return append(f, name...)
}

func appendEnd(f []byte, n int, cdStart int) []byte {
	size := len(f) - cdStart
	f = binary.LittleEndian.AppendUint32(f, sigEOCD)
	f = append(f, 0, 0, 0, 0)
	f = append(f, le16b(uint16(n))...)
	f = append(f, le16b(uint16(n))...)
	f = binary.LittleEndian.AppendUint32(f, uint32(size))
	f = binary.LittleEndian.AppendUint32(f, uint32(cdStart))
	return append(f, 0, 0)
}

func TestCostOverlappingLongNames(t *testing.T) {
	// Local headers every 4 bytes, each declaring a 65535-byte name and
	// extra field that cover all the others, and one central record for
	// each.
	const n = 4000
	f := make([]byte, n*32+30+2*65535)
	for i := range n {
		binary.LittleEndian.PutUint32(f[i*32:], sigLocal)
		binary.LittleEndian.PutUint16(f[i*32+26:], 0xffff)
		binary.LittleEndian.PutUint16(f[i*32+28:], 0xffff)
	}
	cd := len(f)
	for i := range n {
		f = appendCentral(f, "x", 0, 0, 0, 0, 0, uint32(i*32))
	}
	f = appendEnd(f, n, cd)
	a, cost := openCost(t, f)
	t.Logf("%d entries, %.1f bytes read per byte", len(a.Entries), cost)
	if cost > 16 || len(a.Entries) != n {
		t.Errorf("%d entries, Open read %.1f bytes per byte of input", len(a.Entries), cost)
	}
}

func TestCostSharedEncryptedData(t *testing.T) {
	// Thousands of central records point at one flagged deflate entry of
	// 4 MiB. Records that differ only in CRC-32 and uncompressed size share
	// one check; records that differ in compressed size run into the
	// budget.
	d := deflateBytes(t, bytes.Repeat([]byte("x"), 4<<20))
	for _, distinct := range []bool{false, true} {
		var f []byte
		f = append(f, (&zipBuilder{noCentral: true, entries: []zEntry{{name: "e", method: Deflate, flags: FlagEncrypted, raw: d, data: []byte("?")}}}).build(t)...)
		f = append(f, make([]byte, 4000)...)
		cd := len(f)
		const n = 3000
		for i := range n {
			csize := uint32(len(d))
			if distinct {
				csize += uint32(i)
			}
			f = appendCentral(f, "e"+strconv.Itoa(i), FlagEncrypted, Deflate, uint32(i), csize, 4<<20, 0)
		}
		f = appendEnd(f, n, cd)
		start := time.Now()
		a, cost := openCost(t, f)
		el := time.Since(start)
		enc := 0
		for _, e := range a.Entries {
			if e.Encrypted {
				enc++
			}
		}
		t.Logf("distinct %v: %d entries, %d taken as encrypted, %.1f bytes read per byte, %v", distinct, len(a.Entries), enc, cost, el)
		if cost > 16 || len(a.Entries) != n {
			t.Errorf("%d entries, Open read %.1f bytes per byte of input", len(a.Entries), cost)
		}
		if !distinct && enc != 0 || distinct && enc == 0 {
			t.Errorf("distinct %v: %d entries taken as encrypted", distinct, enc)
		}
	}
}

func TestCostSignatureFloods(t *testing.T) {
	for _, sig := range []string{"PK\x07\x08", "PK\x03\x04", "PK\x01\x02", "PKPK"} {
		t.Run(strings.ReplaceAll(hex.EncodeToString([]byte(sig)), "504b", "PK"), func(t *testing.T) {
			head := (&zipBuilder{noCentral: true, entries: []zEntry{{name: "d", descriptor: true, method: Deflate, raw: []byte{}}}}).build(t)
			f := append(head[:len(head)-16], bytes.Repeat([]byte(sig), 1<<20)...)
			cr := &countingReader{r: bytes.NewReader(f)}
			_, err := Open(cr, int64(len(f)), Options{})
			cost := float64(cr.bytes) / float64(len(f))
			t.Logf("err %v, %.1f bytes read per byte", err, cost)
			if cost > 8 {
				t.Errorf("Open read %.1f bytes per byte of input", cost)
			}
		})
	}
}

func TestCostCaseVariants(t *testing.T) {
	// 2^14 names that fold to one.
	var es []zEntry
	for i := range 1 << 14 {
		name := []byte("abcdefghijklmn")
		for j := range name {
			if i&(1<<j) != 0 {
				name[j] -= 'a' - 'A'
			}
		}
		es = append(es, zEntry{name: string(name), data: nil})
	}
	b := (&zipBuilder{entries: es}).build(t)
	a, cost := openCost(t, b)
	n := 0
	for _, an := range a.Anomalies {
		if an.Kind == KindDuplicateName {
			n++
		}
	}
	if n != 1 || cost > 8 {
		t.Errorf("%d duplicate-name anomalies, %.1f bytes read per byte", n, cost)
	}
}
