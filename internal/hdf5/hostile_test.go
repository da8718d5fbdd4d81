package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A builder assembles a small synthetic file: a version 0 superblock (8-byte
// offsets and lengths) at 0, then whatever the test appends.
type builder struct{ b []byte }

func newBuilder() *builder {
	w := &builder{b: make([]byte, 96)}
	copy(w.b, superblockSig)
	w.b[13], w.b[14] = 8, 8
	binary.LittleEndian.PutUint16(w.b[16:], 4)
	binary.LittleEndian.PutUint16(w.b[18:], 16)
	for _, off := range []int{32, 48} { // free space, driver info: undefined
		binary.LittleEndian.PutUint64(w.b[off:], undefAddr)
	}
	w.setRoot(96)
	return w
}

func (w *builder) setRoot(addr uint64) { binary.LittleEndian.PutUint64(w.b[64:], addr) }

// put appends p and returns its address.
func (w *builder) put(p ...[]byte) uint64 {
	at := uint64(len(w.b))
	for _, x := range p {
		w.b = append(w.b, x...)
	}
	binary.LittleEndian.PutUint64(w.b[40:], uint64(len(w.b))) // end of file
	return at
}

// patch overwrites the bytes at addr.
func (w *builder) patch(addr uint64, p []byte) { copy(w.b[addr:], p) }

func (w *builder) open(t *testing.T, lim Limits) (*File, error) {
	t.Helper()
	return Open(bytes.NewReader(w.b), int64(len(w.b)), lim)
}

func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case []byte:
			b = append(b, v...)
		case string:
			b = append(b, v...)
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.LittleEndian.AppendUint16(b, v)
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case uint64:
			b = binary.LittleEndian.AppendUint64(b, v)
		case int:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		default:
			panic("cat: bad type")
		}
	}
	return b
}

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// msg is a version 1 header message.
func msg(typ uint16, data []byte) []byte {
	data = pad8(data)
	return cat(typ, uint16(len(data)), uint32(0), data)
}

// v1Header is a version 1 object header holding msgs.
func v1Header(msgs ...[]byte) []byte {
	body := cat()
	for _, m := range msgs {
		body = append(body, m...)
	}
	return cat(uint8(1), uint8(0), uint16(len(msgs)), uint32(1), uint32(len(body)), uint32(0), body)
}

func attrV1(name string, dt, ds, data []byte) []byte {
	return msg(msgAttribute, cat(uint8(1), uint8(0), uint16(len(name)+1), uint16(len(dt)), uint16(len(ds)),
		pad8(cat(name, uint8(0))), pad8(dt), pad8(ds), data))
}

var (
	dtInt64  = cat(uint8(0x10), []byte{0x08, 0, 0}, uint32(8), uint16(0), uint16(64))
	dsScalar = cat(uint8(2), uint8(0), uint8(0), uint8(0))
)

func dtString(size uint32) []byte { return cat(uint8(0x13), []byte{0, 0, 0}, size) }
func dtVlenString() []byte {
	return cat(uint8(0x19), []byte{1, 0, 0}, uint32(16), dtString(1))
}
func dsSimple(dims ...uint64) []byte {
	b := cat(uint8(1), uint8(len(dims)), uint8(0), uint8(0), uint32(0))
	for _, d := range dims {
		b = cat(b, d)
	}
	return b
}

func linkMsg(name string, addr uint64) []byte {
	return msg(msgLink, cat(uint8(1), uint8(0), uint8(len(name)), name, addr))
}

// expectErr runs fn and checks that it fails with target promptly, without
// a large allocation.
func expectErr(t *testing.T, target error, fn func() error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := fn()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil || !errors.Is(err, target) {
		t.Errorf("error %v, want %v", err, target)
	} else {
		t.Logf("got expected error: %v", err)
	}
	if d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
}

func rootAttrs(w *builder, t *testing.T, lim Limits) error {
	f, err := w.open(t, lim)
	if err != nil {
		return err
	}
	root, err := f.Root()
	if err != nil {
		return err
	}
	_, err = root.Attributes()
	return err
}

func walkAll(w *builder, t *testing.T, lim Limits) error {
	f, err := w.open(t, lim)
	if err != nil {
		return err
	}
	return f.Walk(func(o *Object, depth int) error {
		_, err := o.Attributes()
		return err
	})
}

func TestSynthetic(t *testing.T) {
	w := newBuilder()
	w.put(v1Header(attrV1("n", dtInt64, dsSimple(2), cat(uint64(5), uint64(1<<63))), attrV1("s", dtVlenString(), dsScalar, cat(uint32(0), uint64(0), uint32(0)))))
	f, err := w.open(t, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := root.Attributes()
	if err != nil || len(attrs) != 2 {
		t.Fatalf("attrs %+v, %v", attrs, err)
	}
	if a := attrs[0]; a.Name != "n" || len(a.Ints) != 2 || a.Ints[0] != 5 || a.Ints[1] != -1<<63 {
		t.Errorf("n = %+v", a)
	}
	if a := attrs[1]; a.Name != "s" || a.Class != "string" || len(a.Strings) != 1 || a.Strings[0] != "" {
		t.Errorf("s = %+v", a)
	}
}

func TestSuperblockV1(t *testing.T) {
	w := newBuilder()
	// Version 1 inserts 4 bytes (indexed storage K, reserved) before the base address.
	sb := cat(w.b[:24], uint16(32), uint16(0), w.b[24:96])
	w.b = sb
	w.b[8] = 1
	binary.LittleEndian.PutUint64(w.b[68:], 104) // root object header address
	w.b = append(w.b, make([]byte, 4)...)        // align to 104
	w.put(v1Header(attrV1("keras_version", dtString(5), dsScalar, []byte("1.2.2"))))
	f, err := Open(bytes.NewReader(w.b), int64(len(w.b)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if f.Superblock != 1 {
		t.Errorf("superblock version %d", f.Superblock)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	if a, ok, err := root.Attribute("keras_version"); !ok || err != nil || a.Text() != "1.2.2" {
		t.Errorf("keras_version = %+v, %v, %v", a, ok, err)
	}
}

func TestNotHDF5(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("short"), bytes.Repeat([]byte("x"), 5000), []byte(superblockSig)} {
		expectErr(t, ErrMalformed, func() error {
			_, err := Open(bytes.NewReader(b), int64(len(b)), DefaultLimits())
			return err
		})
	}
	w := newBuilder()
	w.b[8] = 7
	expectErr(t, ErrUnsupported, func() error { _, err := w.open(t, DefaultLimits()); return err })
}

func TestContinuationCycle(t *testing.T) {
	// The root header continues at X; X continues at X.
	w := newBuilder()
	x := uint64(96 + 16 + 24)
	w.put(v1Header(msg(msgContinuation, cat(x, uint64(24)))))
	if got := w.put(msg(msgContinuation, cat(x, uint64(24)))); got != x {
		t.Fatalf("block at %d, want %d", got, x)
	}
	expectErr(t, ErrMalformed, func() error { return rootAttrs(w, t, DefaultLimits()) })

	// The root header continues at its own first message.
	w = newBuilder()
	w.put(v1Header(msg(msgContinuation, cat(uint64(96+16), uint64(24)))))
	expectErr(t, ErrMalformed, func() error { return rootAttrs(w, t, DefaultLimits()) })
}

// symbolTableFile returns a file whose root group is an old-style group with
// a B-tree at the returned address, which the caller fills in.
func symbolTableFile() (*builder, uint64) {
	w := newBuilder()
	root := w.put(v1Header(msg(msgSymbolTable, cat(uint64(0), uint64(0)))))
	heapData := w.put(pad8(cat(uint8(0), "self", uint8(0))))
	heap := w.put(cat("HEAP", uint8(0), []byte{0, 0, 0}, uint64(16), undefAddr, heapData))
	w.patch(root+16+8, cat(uint64(len(w.b)), heap)) // B-tree goes next
	return w, uint64(len(w.b))
}

func TestSelfReferencingGroup(t *testing.T) {
	// A B-tree node whose child is itself.
	w, bt := symbolTableFile()
	w.put(cat("TREE", uint8(0), uint8(1), uint16(1), undefAddr, undefAddr, uint64(0), bt, uint64(8)))
	expectErr(t, ErrMalformed, func() error { return walkAll(w, t, DefaultLimits()) })

	// A symbol table node whose only entry is the root group itself.
	w, bt = symbolTableFile()
	snod := bt + 8 + 16 + 8 + 8 + 8
	w.put(cat("TREE", uint8(0), uint8(0), uint16(1), undefAddr, undefAddr, uint64(0), snod, uint64(8)))
	if got := w.put(cat("SNOD", uint8(1), uint8(0), uint16(1), uint64(1), uint64(96), uint32(0), uint32(0), make([]byte, 16))); got != snod {
		t.Fatalf("SNOD at %d, want %d", got, snod)
	}
	f, err := w.open(t, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	if err := f.Walk(func(o *Object, _ int) error { paths = append(paths, o.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 {
		t.Errorf("paths %q", paths)
	}
	root, _ := f.Root()
	if links, err := root.Children(); err != nil || len(links) != 1 || links[0].Name != "self" || links[0].Addr != 96 {
		t.Errorf("links %+v, %v", links, err)
	}
}

func TestHugeSizes(t *testing.T) {
	cases := map[string]struct {
		header []byte
		want   error
	}{
		"elements":       {v1Header(attrV1("a", dtInt64, dsSimple(1<<40), nil)), ErrLimit},
		"overflow":       {v1Header(attrV1("a", dtInt64, dsSimple(1<<40, 1<<40, 1<<40), nil)), ErrLimit},
		"string size":    {v1Header(attrV1("a", dtString(0xFFFFFFFF), dsScalar, nil)), ErrLimit},
		"truncated data": {v1Header(attrV1("a", dtString(1000), dsScalar, []byte("abc"))), ErrMalformed},
		"zero size":      {v1Header(attrV1("a", dtString(0), dsSimple(3), nil)), ErrMalformed},
		"header size":    {cat(uint8(1), uint8(0), uint16(1), uint32(1), uint32(0xFFFFFFF0), uint32(0)), ErrMalformed},
		// A global heap collection (after the header) claiming 2^60 bytes.
		"vlen collection": {cat(
			v1Header(attrV1("a", dtVlenString(), dsScalar, cat(uint32(5), uint64(96+80), uint32(1)))),
			"GCOL", uint8(1), []byte{0, 0, 0}, uint64(1<<60)), ErrMalformed},
		"rank":       {v1Header(attrV1("a", dtInt64, cat(uint8(1), uint8(200), uint8(0), uint8(0), uint32(0)), nil)), ErrMalformed},
		"name":       {v1Header(msg(msgAttribute, cat(uint8(1), uint8(0), uint16(0xFFFF), uint16(8), uint16(8)))), ErrMalformed},
		"link name":  {v1Header(msg(msgLink, cat(uint8(1), uint8(3), uint64(1<<62)))), ErrMalformed},
		"cont. size": {v1Header(msg(msgContinuation, cat(uint64(0), uint64(1<<62)))), ErrMalformed},
		"cont. addr": {v1Header(msg(msgContinuation, cat(uint64(1<<62), uint64(64)))), ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := newBuilder()
			w.put(c.header)
			expectErr(t, c.want, func() error {
				if err := rootAttrs(w, t, DefaultLimits()); err != nil {
					return err
				}
				return walkAll(w, t, DefaultLimits())
			})
		})
	}
}

func TestDeepNesting(t *testing.T) {
	// A chain of 200 groups, each a link to the next.
	w := newBuilder()
	const n = 200
	size := uint64(len(v1Header(linkMsg("g", 0))))
	for i := uint64(0); i < n; i++ {
		w.put(v1Header(linkMsg("g", 96+(i+1)*size)))
	}
	w.put(v1Header())
	expectErr(t, ErrLimit, func() error { return walkAll(w, t, DefaultLimits()) })

	lim := DefaultLimits()
	lim.MaxDepth = n + 1
	f, err := w.open(t, lim)
	if err != nil {
		t.Fatal(err)
	}
	deepest := ""
	if err := f.Walk(func(o *Object, _ int) error { deepest = o.Path; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("/g", n); deepest != want {
		t.Errorf("deepest %q", deepest)
	}

	lim = DefaultLimits()
	lim.MaxObjects = 50
	lim.MaxDepth = n + 1
	expectErr(t, ErrLimit, func() error { return walkAll(w, t, lim) })
}

func TestLimits(t *testing.T) {
	for _, c := range []struct {
		file string
		lim  Limits
	}{
		{"dense_many.h5", Limits{MaxAttributes: 100}},
		{"keras_earliest.h5", Limits{MaxAttributes: 11}},
		{"keras_earliest.h5", Limits{MaxHeaderMessages: 5}},
		{"dense_many.h5", Limits{MaxReadBytes: 10000}},
		{"big_attr.h5", Limits{MaxAttributeBytes: 60000}},
	} {
		b, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		lim := c.lim
		expectErr(t, ErrLimit, func() error {
			f, err := Open(bytes.NewReader(b), int64(len(b)), lim)
			if err != nil {
				return err
			}
			root, err := f.Root()
			if err != nil {
				return err
			}
			_, err = root.Attributes()
			return err
		})
	}
}

// TestTruncated opens every fixture (and the external data files of
// testdata/threats/hdf5) cut short at many lengths, and with bytes flipped:
// each must fail or succeed promptly, never panic.
func TestTruncated(t *testing.T) {
	names, _ := filepath.Glob("testdata/*.h5")
	threatFiles, _ := filepath.Glob(filepath.Join(threats, "*.h5"))
	names = append(names, threatFiles...)
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(b)/300)
		start := time.Now()
		for n := 0; n < len(b); n += step {
			exercise(b[:n], Limits{})
		}
		for i := 0; i < len(b); i += step {
			c := bytes.Clone(b)
			c[i] ^= 0xFF
			exercise(c, Limits{})
			exercise(c, Limits{IgnoreChecksums: true})
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: %v", name, d)
		}
	}
}

// exercise opens b, reads every object's attributes, members, external
// files and virtual sources, and returns the number of objects seen.
func exercise(b []byte, lim Limits) int {
	if lim.MaxDepth == 0 {
		lim.MaxDepth = 16
	}
	f, err := Open(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		return 0
	}
	n := 0
	f.Walk(func(o *Object, depth int) error {
		n++
		o.Attributes()
		o.ExternalFiles()
		o.VirtualSources()
		return nil
	})
	return n
}
