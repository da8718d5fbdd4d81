package discover

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The git reader's parsers get forged input: deltas, trees and commits,
// and packfile entries. None may panic, loop or exceed its bounds.

func FuzzGitDelta(f *testing.F) {
	f.Add([]byte("hello world"), []byte{11, 5, 0x90, 5, 0x90, 0}) // copy 5, then a bad copy
	f.Add([]byte("abc"), []byte{3, 4, 0x80 | 0x01 | 0x10, 0, 3, 1, 'd'})
	f.Add([]byte{}, []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		s := &gitStore{}
		out, err := s.applyDelta(base, delta)
		if err != nil {
			return
		}
		_, rest, _ := uvarint(delta)
		if want, _, _ := uvarint(rest); uint64(len(out)) != want || len(out) > maxGitObject {
			t.Fatalf("%d bytes out, declared %d", len(out), want)
		}
	})
}

// memStore is a store with no packs over an empty folder: objects come
// from its cache only.
func memStore(t testing.TB) *gitStore {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return &gitStore{root: root, hashLen: 20, cache: objCache{max: gitCacheBytes}, maxEntries: 100_000, check: func() error { return nil }}
}

func FuzzGitTreeAndCommit(f *testing.F) {
	self := string(bytes.Repeat([]byte{0x11}, 20))
	f.Add([]byte("40000 a\x00"+self+"100644 b\x00"+self), []byte("tree "+oid(self).String()+"\nparent "+oid(self).String()+"\nauthor A <a@b> 1 +0000\ncommitter C <c> 2 +0000\n\nm"))
	f.Add([]byte("40000 a\x00"+self+"40000 b\x00"+self), []byte("tree x\n"))
	f.Add([]byte("160000 m\x00"+self+"120000 l\x00"+self), []byte("author \x1b[31m<\n"))
	f.Fuzz(func(t *testing.T, tree, commit []byte) {
		s := memStore(t)
		id := oid(self)
		s.cache.put(string(id), objTree, tree)
		if c, err := s.parseCommit(id, commit); err == nil && c.tree == "" {
			t.Fatal("a commit without a tree")
		}
		n := 0
		_ = s.diff("", id, "", 0, func(string) error { n++; return nil }) // hostile input: an error is expected, only a panic or a hang is a failure
		if int64(n) > s.maxEntries {
			t.Fatalf("%d paths listed, bound %d", n, s.maxEntries)
		}
		_, _ = s.subtree(id, []string{"a", "a", "b"}) // hostile input: an error is expected, only a panic or a hang is a failure
	})
}

// packStore writes a pack of body (after the 12-byte header) whose index
// lists one object, id 0x22..., at 12+at, and opens a store on it.
func packStore(t *testing.T, body []byte, at uint16) (*gitStore, oid) {
	dir := t.TempDir()
	id := bytes.Repeat([]byte{0x22}, 20)
	off := 12 + int(at)%(len(body)+1)
	pack := append([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01"), body...)
	pack = append(pack, make([]byte, 20)...)
	idx := []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}
	for i := range 256 {
		n := uint32(0)
		if i >= 0x22 {
			n = 1
		}
		idx = binary.BigEndian.AppendUint32(idx, n)
	}
	idx = append(idx, id...)
	idx = binary.BigEndian.AppendUint32(idx, 0) // crc
	idx = binary.BigEndian.AppendUint32(idx, uint32(off))
	idx = append(idx, make([]byte, 40)...)
	packDir := filepath.Join(dir, "objects", "pack")
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"pack-x.pack": pack, "pack-x.idx": idx} {
		if err := os.WriteFile(filepath.Join(packDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := openGitStore(dir, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	s.hashLen = 20
	if err := s.loadPacks(); err != nil {
		t.Fatal(err)
	}
	return s, oid(id)
}

// packEntry is a pack entry: type and size header, then extra (a delta's
// base), then data compressed.
func packEntry(kind int, size int, extra, data []byte) []byte {
	c := byte(kind<<4) | byte(size&15)
	size >>= 4
	var out []byte
	for size > 0 {
		out = append(out, c|0x80)
		c, size = byte(size&0x7f), size>>7
	}
	out = append(out, c)
	out = append(out, extra...)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(data) // into a bytes.Buffer: cannot fail
	zw.Close()
	return append(out, z.Bytes()...)
}

func FuzzGitPack(f *testing.F) {
	tree := []byte("100644 a\x00" + string(bytes.Repeat([]byte{0x33}, 20)))
	base := packEntry(objTree, len(tree), nil, tree)
	delta := []byte{byte(len(tree)), byte(len(tree)), 0x90, byte(len(tree))}
	f.Add(base, uint16(0))
	f.Add(append(append([]byte{}, base...), packEntry(objOfsDelta, len(delta), []byte{byte(len(base))}, delta)...), uint16(len(base)))
	f.Add(packEntry(objRefDelta, len(delta), bytes.Repeat([]byte{0x22}, 20), delta), uint16(0)) // its own base
	f.Add(packEntry(objOfsDelta, len(delta), []byte{0}, delta), uint16(0))
	f.Add(packEntry(objTree, 1<<40, nil, nil), uint16(0))
	f.Fuzz(func(t *testing.T, body []byte, at uint16) {
		s, id := packStore(t, body, at)
		_, _ = s.tree(id)         // hostile input: an error is expected, only a panic or a hang is a failure
		_, _ = s.commit(id, true) // hostile input: an error is expected, only a panic or a hang is a failure
		if s.inflated > maxGitInflate {
			t.Fatalf("%d bytes inflated", s.inflated)
		}
	})
}

// TestGitPackEntries: a tree, a delta on it, a delta on itself, and an
// entry that declares a terabyte, read from a pack.
func TestGitPackEntries(t *testing.T) {
	tree := []byte("100644 a\x00" + string(bytes.Repeat([]byte{0x33}, 20)))
	base := packEntry(objTree, len(tree), nil, tree)
	delta := []byte{byte(len(tree)), byte(len(tree)), 0x90, byte(len(tree))}
	ofs := append(append([]byte{}, base...), packEntry(objOfsDelta, len(delta), []byte{byte(len(base))}, delta)...)
	for _, c := range []struct {
		name string
		body []byte
		at   int
		err  string
	}{
		{"tree", base, 0, ""},
		{"offset delta", ofs, len(base), ""},
		{"ref delta on itself", packEntry(objRefDelta, len(delta), bytes.Repeat([]byte{0x22}, 20), delta), 0, "delta chain longer"},
		{"huge", packEntry(objTree, 1<<40, nil, nil), 0, "object of 1099511627776 bytes"},
		{"offset delta on itself", packEntry(objOfsDelta, len(delta), []byte{0}, delta), 0, "bad delta base offset"},
	} {
		s, id := packStore(t, c.body, uint16(c.at))
		ents, err := s.tree(id)
		switch {
		case c.err == "" && (err != nil || len(ents) != 1 || ents[0].name != "a"):
			t.Errorf("%s: %v, %v", c.name, ents, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}
