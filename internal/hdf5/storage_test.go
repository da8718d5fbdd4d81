package hdf5

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// threats holds the files of docs/threats.md written by h5py
// (testdata/gen/gen_threats.py): datasets and links that read other files.
var threats = filepath.Join("..", "..", "testdata", "threats", "hdf5")

// external is what one object of a file names outside it.
type external struct {
	links   []Link
	files   []ExternalFile
	sources []VirtualSource
}

// externals walks the file b and returns, by object path, what each
// object that names something outside the file names.
func externals(t *testing.T, b []byte) map[string]external {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]external{}
	err = f.Walk(func(o *Object, _ int) error {
		var e external
		links, err := o.Children()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.External {
				e.links = append(e.links, l)
			}
		}
		if e.files, err = o.ExternalFiles(); err != nil {
			return err
		}
		if e.sources, err = o.VirtualSources(); err != nil {
			return err
		}
		if e.links != nil || e.files != nil || e.sources != nil {
			out[o.Path] = e
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExternalFixtures(t *testing.T) {
	const other = "/srv/models/private.weights.h5"
	link := external{links: []Link{{Name: "dense_1", Target: other + "\x00/layers/dense/vars", External: true}}}
	for name, want := range map[string]map[string]external{
		"external-storage.weights.h5": {"/layers/dense/vars/0": {files: []ExternalFile{{"/etc/passwd", 0, 128}}}},
		"external-storage-latest.weights.h5": {"/layers/dense/vars/0": {files: []ExternalFile{
			{"../../.ssh/id_rsa", 0, 64}, {"/etc/shadow", 16, 64}}}},
		"external-link.weights.h5":        {"/layers": link},
		"external-link-latest.weights.h5": {"/layers": link},
		"virtual-dataset.weights.h5": {"/layers/dense/vars/0": {sources: []VirtualSource{
			{other, "/layers/dense/vars/0"}}}},
		// Hyperslab selections, and a mapping from the file itself.
		"virtual-dataset-latest.weights.h5": {"/layers/dense/vars/0": {sources: []VirtualSource{
			{other, "/layers/dense/vars/0"}, {"../../.keras/models/cached.h5", "/w"}, {".", "/layers/dense/vars/1"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(threats, name))
			if err != nil {
				t.Fatal(err)
			}
			got := externals(t, b)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if e := got["/layers"]; len(e.links) == 1 {
				if file, obj := e.links[0].ExternalTarget(); file != other || obj != "/layers/dense/vars" {
					t.Errorf("ExternalTarget = %q, %q", file, obj)
				}
			}
		})
	}
	// The weights of a real Keras layout name nothing outside.
	b, err := os.ReadFile(filepath.Join("testdata", "keras_latest.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if got := externals(t, b); len(got) != 0 {
		t.Errorf("keras_latest.h5: %+v", got)
	}
}

// Synthetic files: a root group (a version 1 header) with a link "d" to a
// dataset whose header holds the messages under test.

// efl is an External Data Files message.
func efl(alloc, used uint16, heap uint64, slots ...uint64) []byte {
	b := cat(uint8(1), []byte{0, 0, 0}, alloc, used, heap)
	for _, s := range slots {
		b = cat(b, s)
	}
	return msg(msgExternalFiles, b)
}

// localHeapAt returns a local heap (header then data) to be put at addr,
// whose data segment holds names; offsets has the offset of each.
func localHeapAt(addr uint64, names ...string) (heap []byte, offsets []uint64) {
	data := []byte{0}
	for _, n := range names {
		offsets = append(offsets, uint64(len(data)))
		data = append(data, n...)
		data = append(data, 0)
	}
	data = pad8(data)
	return cat("HEAP", uint8(0), []byte{0, 0, 0}, uint64(len(data)), undefAddr, addr+32, data), offsets
}

// layoutV4Virtual is a version 4 virtual data layout message.
func layoutV4Virtual(gcol uint64, index uint32) []byte {
	return msg(msgLayout, cat(uint8(4), uint8(layoutVirtual), gcol, index))
}

// gcolWith is a global heap collection whose object 1 is obj.
func gcolWith(obj []byte) []byte {
	body := cat(uint16(1), uint16(1), uint32(0), uint64(len(obj)), pad8(bytes.Clone(obj)))
	size := 16 + len(body)
	if size < 4096 { // the library's minimum collection size
		body = append(body, make([]byte, 4096-size)...)
		size = 4096
	}
	return cat("GCOL", uint8(1), []byte{0, 0, 0}, uint64(size), body)
}

// mappings encodes a virtual dataset's mappings (encoding version,
// count, entries) and appends their checksum.
func mappings(version uint8, count uint64, entries ...[]byte) []byte {
	b := cat(version, count)
	for _, e := range entries {
		b = append(b, e...)
	}
	return binary.LittleEndian.AppendUint32(b, lookup3(b))
}

func mapping(file, dset string, src, virt []byte) []byte {
	return cat(file, uint8(0), dset, uint8(0), src, virt)
}

// Serialized selections.
var (
	selAllV1 = cat(uint32(selAll), uint32(1), uint64(0))
	// A rank-2 regular hyperslab, version 2 (8-byte values) and 3 (4-byte).
	hyperV2 = cat(uint32(selHyperslabs), uint32(2), uint8(hyperRegular), uint32(4+64), uint32(2), make([]byte, 64))
	hyperV3 = cat(uint32(selHyperslabs), uint32(3), uint8(hyperRegular), uint8(4), uint32(2), make([]byte, 32))
	// Two rank-2 blocks, version 1 (4-byte values) and 3 (2-byte values).
	blocksV1 = cat(uint32(selHyperslabs), uint32(1), uint32(0), uint32(8+32), uint32(2), uint32(2), make([]byte, 32))
	blocksV3 = cat(uint32(selHyperslabs), uint32(3), uint8(0), uint8(2), uint32(2), uint16(2), make([]byte, 16))
	// Three rank-1 points, versions 1 and 2 (8-byte values).
	pointsV1 = cat(uint32(selPoints), uint32(1), uint32(0), uint32(8+12), uint32(1), uint32(3), make([]byte, 12))
	pointsV2 = cat(uint32(selPoints), uint32(2), uint8(8), uint32(1), uint64(3), make([]byte, 24))
)

// datasetFile returns a file whose root links "d" to a dataset holding
// msgs, followed by extra (placed at the returned address).
func datasetFile(extra func(at uint64) []byte, msgs ...[]byte) *builder {
	w := newBuilder()
	root := v1Header(linkMsg("d", 0))
	dataset := v1Header(msgs...)
	w.put(root)
	d := w.put(dataset)
	w.patch(96+16+8+3+1, cat(d)) // the link's address
	if extra != nil {
		at := uint64(len(w.b))
		w.put(extra(at))
	}
	return w
}

// dataset opens w and returns its object "/d".
func dataset(t *testing.T, w *builder, lim Limits) (*Object, error) {
	f, err := w.open(t, lim)
	if err != nil {
		return nil, err
	}
	root, err := f.Root()
	if err != nil {
		return nil, err
	}
	links, err := root.Children()
	if err != nil {
		return nil, err
	}
	if len(links) != 1 {
		t.Fatalf("root links %+v", links)
	}
	return f.Object(links[0].Addr, "/d")
}

// heapAfter is where the extra part of a datasetFile with msgs starts.
func heapAfter(msgs ...[]byte) uint64 {
	return uint64(96 + len(v1Header(linkMsg("d", 0))) + len(v1Header(msgs...)))
}

func TestExternalFilesSynthetic(t *testing.T) {
	probe := efl(2, 2, 0, 0, 0, 0, 0, 0, 0)
	at := heapAfter(probe)
	heap, off := localHeapAt(at, "/etc/passwd", "data.bin")
	w := datasetFile(func(uint64) []byte { return heap }, efl(2, 2, at, off[0], 0, 1024, off[1], 4096, ^uint64(0)))
	d, err := dataset(t, w, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	files, err := d.ExternalFiles()
	want := []ExternalFile{{"/etc/passwd", 0, 1024}, {"data.bin", 4096, ^uint64(0)}}
	if err != nil || !reflect.DeepEqual(files, want) {
		t.Errorf("ExternalFiles = %+v, %v", files, err)
	}
	if srcs, err := d.VirtualSources(); srcs != nil || err != nil {
		t.Errorf("VirtualSources = %+v, %v", srcs, err)
	}

	// No slot used: nothing read, no heap needed.
	w = datasetFile(nil, efl(1, 0, undefAddr))
	if d, err = dataset(t, w, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	if files, err := d.ExternalFiles(); files != nil || err != nil {
		t.Errorf("empty list: %+v, %v", files, err)
	}
}

func TestVirtualSourcesSynthetic(t *testing.T) {
	for name, c := range map[string]struct {
		entries [][]byte
		want    []VirtualSource
	}{
		"all":           {[][]byte{mapping("/etc/x.h5", "/w", selAllV1, selAllV1)}, []VirtualSource{{"/etc/x.h5", "/w"}}},
		"same file":     {[][]byte{mapping(".", "/a", selAllV1, selAllV1)}, []VirtualSource{{".", "/a"}}},
		"regular v2 v3": {[][]byte{mapping("a.h5", "/x", hyperV2, hyperV3), mapping("b.h5", "/y", hyperV3, hyperV2)}, []VirtualSource{{"a.h5", "/x"}, {"b.h5", "/y"}}},
		"blocks":        {[][]byte{mapping("a.h5", "/x", blocksV1, blocksV3), mapping("", "", blocksV3, blocksV1)}, []VirtualSource{{"a.h5", "/x"}, {"", ""}}},
		"points":        {[][]byte{mapping("p.h5", "/p", pointsV1, pointsV2)}, []VirtualSource{{"p.h5", "/p"}}},
	} {
		t.Run(name, func(t *testing.T) {
			layout := layoutV4Virtual(0, 1)
			at := heapAfter(layout)
			w := datasetFile(func(uint64) []byte {
				return gcolWith(mappings(0, uint64(len(c.entries)), c.entries...))
			}, layoutV4Virtual(at, 1))
			d, err := dataset(t, w, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			srcs, err := d.VirtualSources()
			if err != nil || !reflect.DeepEqual(srcs, c.want) {
				t.Errorf("VirtualSources = %+v, %v", srcs, err)
			}
		})
	}
	// Other layouts, and a virtual layout without mappings.
	for _, layout := range [][]byte{
		msg(msgLayout, cat(uint8(3), uint8(1), uint64(0), uint64(16))), // contiguous
		msg(msgLayout, cat(uint8(1), uint8(2), uint8(2), make([]byte, 5), uint64(0), uint32(4), uint32(4))),
		layoutV4Virtual(undefAddr, 0),
	} {
		d, err := dataset(t, datasetFile(nil, layout), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if srcs, err := d.VirtualSources(); srcs != nil || err != nil {
			t.Errorf("VirtualSources = %+v, %v", srcs, err)
		}
	}
}

// externalAll opens w and reads what every object names outside the file.
func externalAll(w *builder, t *testing.T, lim Limits) error {
	f, err := w.open(t, lim)
	if err != nil {
		return err
	}
	return f.Walk(func(o *Object, depth int) error {
		if _, err := o.ExternalFiles(); err != nil {
			return err
		}
		_, err := o.VirtualSources()
		return err
	})
}

// TestHostileStorage: crafted external file lists, layouts and mappings
// fail promptly with the right error, without a large allocation.
func TestHostileStorage(t *testing.T) {
	withHeap := func(names ...string) func(m func(at uint64, off []uint64) []byte) *builder {
		return func(m func(at uint64, off []uint64) []byte) *builder {
			probe := m(0, make([]uint64, len(names)))
			at := heapAfter(probe)
			heap, off := localHeapAt(at, names...)
			return datasetFile(func(uint64) []byte { return heap }, m(at, off))
		}
	}
	vds := func(obj []byte) *builder {
		at := heapAfter(layoutV4Virtual(0, 1))
		return datasetFile(func(uint64) []byte { return gcolWith(obj) }, layoutV4Virtual(at, 1))
	}
	entry := mapping("/etc/x.h5", "/w", selAllV1, selAllV1)
	badChecksum := mappings(0, 1, entry)
	badChecksum[len(badChecksum)-1] ^= 1
	unterminated := cat(uint8(0), uint64(1), bytes.Repeat([]byte("a"), 40))
	unterminated = binary.LittleEndian.AppendUint32(unterminated, lookup3(unterminated))
	sel := func(b []byte) []byte { return mappings(0, 1, mapping("f", "d", b, selAllV1)) }
	cases := map[string]struct {
		w    *builder
		lim  Limits
		want error
	}{
		"efl version": {datasetFile(nil, msg(msgExternalFiles, cat(uint8(2), []byte{0, 0, 0}, uint16(1), uint16(1), uint64(0), make([]byte, 24)))), Limits{}, ErrMalformed},
		"efl used > alloc": {withHeap("x")(func(at uint64, off []uint64) []byte {
			return efl(1, 2, at, off[0], 0, 1, off[0], 0, 1)
		}), Limits{}, ErrMalformed},
		"efl slots past the message": {datasetFile(nil, efl(0xFFFF, 0xFFFF, 0)), Limits{}, ErrMalformed},
		"efl name past the heap": {withHeap("x")(func(at uint64, off []uint64) []byte {
			return efl(1, 1, at, 1<<40, 0, 1)
		}), Limits{}, ErrMalformed},
		"efl heap address":   {datasetFile(nil, efl(1, 1, 1<<50, 0, 0, 1)), Limits{}, ErrMalformed},
		"efl shared":         {datasetFile(nil, cat(uint16(msgExternalFiles), uint16(8), uint8(2), []byte{0, 0, 0}, make([]byte, 8))), Limits{}, ErrUnsupported},
		"layout v1 class 3":  {datasetFile(nil, msg(msgLayout, cat(uint8(1), uint8(2), uint8(3), make([]byte, 13)))), Limits{}, ErrMalformed},
		"layout v3 virtual":  {datasetFile(nil, msg(msgLayout, cat(uint8(3), uint8(3), uint64(0), uint32(1)))), Limits{}, ErrMalformed},
		"layout class 9":     {datasetFile(nil, msg(msgLayout, cat(uint8(4), uint8(9)))), Limits{}, ErrMalformed},
		"layout version 0":   {datasetFile(nil, msg(msgLayout, cat(uint8(0), uint8(1)))), Limits{}, ErrMalformed},
		"layout version 9":   {datasetFile(nil, msg(msgLayout, cat(uint8(9), uint8(1)))), Limits{}, ErrUnsupported},
		"layout truncated":   {datasetFile(nil, msg(msgLayout, cat(uint8(4), uint8(3), uint32(7)))), Limits{}, ErrMalformed},
		"no heap object":     {datasetFile(nil, layoutV4Virtual(96, 1)), Limits{}, ErrMalformed},
		"huge count":         {vds(mappings(0, 1<<60, entry)), Limits{}, ErrMalformed},
		"count over limit":   {vds(mappings(0, 3, entry, entry, entry)), Limits{MaxObjects: 2}, ErrLimit},
		"count short":        {vds(mappings(0, 2, entry)), Limits{}, ErrMalformed},
		"bytes left over":    {vds(mappings(0, 1, entry, []byte{0})), Limits{}, ErrMalformed},
		"bad checksum":       {vds(badChecksum), Limits{}, ErrMalformed},
		"too short":          {vds([]byte{0, 1}), Limits{}, ErrMalformed},
		"encoding v1":        {vds(mappings(1, 1, entry)), Limits{}, ErrUnsupported},
		"unterminated":       {vds(unterminated), Limits{}, ErrMalformed},
		"selection type":     {vds(sel(cat(uint32(7), uint32(1), uint64(0)))), Limits{}, ErrMalformed},
		"all version 2":      {vds(sel(cat(uint32(selAll), uint32(2), uint64(0)))), Limits{}, ErrMalformed},
		"hyperslab v4":       {vds(sel(cat(uint32(selHyperslabs), uint32(4), uint8(0), uint8(4), uint32(1), uint32(0)))), Limits{}, ErrMalformed},
		"value size 3":       {vds(sel(cat(uint32(selHyperslabs), uint32(3), uint8(0), uint8(3), uint32(1), []byte{0, 0, 0}))), Limits{}, ErrMalformed},
		"flags":              {vds(sel(cat(uint32(selHyperslabs), uint32(3), uint8(0x80), uint8(4), uint32(1), uint32(0)))), Limits{}, ErrMalformed},
		"rank 0":             {vds(sel(cat(uint32(selHyperslabs), uint32(3), uint8(1), uint8(4), uint32(0)))), Limits{}, ErrMalformed},
		"rank 33":            {vds(sel(cat(uint32(selHyperslabs), uint32(3), uint8(1), uint8(4), uint32(33), make([]byte, 33*16)))), Limits{}, ErrMalformed},
		"blocks past end":    {vds(sel(cat(uint32(selHyperslabs), uint32(3), uint8(0), uint8(8), uint32(32), uint64(1<<62)))), Limits{}, ErrMalformed},
		"points past end":    {vds(sel(cat(uint32(selPoints), uint32(2), uint8(8), uint32(32), ^uint64(0)))), Limits{}, ErrMalformed},
		"points v1 past end": {vds(sel(cat(uint32(selPoints), uint32(1), uint64(0), uint32(32), ^uint32(0)))), Limits{}, ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			expectErr(t, c.want, func() error { return externalAll(c.w, t, c.lim) })
		})
	}
}

// TestSharedMappingsBudget: datasets that share one large mappings object
// each pay for its decoding, so that MaxReadBytes bounds the walk.
func TestSharedMappingsBudget(t *testing.T) {
	const n = 50
	build := func() *builder {
		links := make([][]byte, n)
		for i := range links {
			links[i] = linkMsg(string(rune('A'+i)), 0)
		}
		root := v1Header(links...)
		ds := uint64(len(v1Header(layoutV4Virtual(0, 1))))
		gcol := 96 + uint64(len(root)) + n*ds
		for i := range links {
			links[i] = linkMsg(string(rune('A'+i)), 96+uint64(len(root))+uint64(i)*ds)
		}
		w := newBuilder()
		w.put(v1Header(links...))
		for range n {
			w.put(v1Header(layoutV4Virtual(gcol, 1)))
		}
		entries := make([][]byte, 2000)
		for i := range entries {
			entries[i] = mapping("/x.h5", "/w", selAllV1, selAllV1)
		}
		w.put(gcolWith(mappings(0, uint64(len(entries)), entries...)))
		return w
	}
	w := build()
	visited := 0
	f, err := w.open(t, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	err = f.Walk(func(o *Object, _ int) error {
		srcs, err := o.VirtualSources()
		if len(srcs) == 2000 {
			visited++
		}
		return err
	})
	if err != nil || visited != n {
		t.Fatalf("walk: %v, %d datasets with their mappings", err, visited)
	}
	lim := DefaultLimits()
	lim.MaxReadBytes = 1 << 20 // the mappings are 90 KB; 50 times that is not
	expectErr(t, ErrLimit, func() error { return externalAll(w, t, lim) })
}
