package perf

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The checkpoint is a zip archive that the standard library reads, with
// the CRCs of its members right, and takes little disk space.
func TestWriteCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.pt")
	ts := Checkpoint20MB()
	size, err := WriteCheckpoint(path, ts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Size() != size {
		t.Fatalf("size %d, stat %v %v", size, info, err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if n := len(z.File); n != len(ts)+6 {
		t.Fatalf("%d members", n)
	}
	var total int64
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r) // checks the CRC at the end
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if off, _ := f.DataOffset(); off%64 != 0 {
			t.Errorf("%s: data at %d, not aligned on 64 bytes", f.Name, off)
		}
		if f.Name == "archive/data.pkl" && !bytes.Equal(data, StateDict(ts).Data) {
			t.Errorf("data.pkl differs")
		}
		total += int64(len(data))
	}
	if want := Bytes(ts); total < want {
		t.Errorf("%d bytes in members, %d of tensors", total, want)
	}
}

// The pickle of a large byte string holds the string where its opcode
// says, and ends with STOP.
func TestWriteBigBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blob.pkl")
	const n = 1 << 20
	size, err := WriteBigBytes(path, n)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) != size {
		t.Fatalf("%d bytes, %v", len(data), err)
	}
	i := bytes.IndexByte(data, 0x8e) // BINBYTES8
	if i < 0 || !bytes.Equal(data[len(data)-3:], []byte{0x94, 's', '.'}) || int64(len(data)-i-9-3) != n {
		t.Fatalf("layout: BINBYTES8 at %d of %d bytes", i, len(data))
	}
}
