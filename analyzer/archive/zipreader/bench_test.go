package zipreader

import (
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// writeBigZip writes an archive of n stored entries of size bytes each, as
// PyTorch writes them (data descriptors, sizes in the central directory), and
// returns its path.
func writeBigZip(b *testing.B, n, size int) string {
	path := filepath.Join(b.TempDir(), "big.zip")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	crc := crc32.ChecksumIEEE(payload)
	var central []byte
	var off uint32
	for i := range n {
		name := "archive/data/" + strconv.Itoa(i)
		var h []byte
		h = binary.LittleEndian.AppendUint32(h, sigLocal)
		h = append(h, 20, 0, 8, 8, 0, 0, 0, 0, 0, 0)
		h = append(h, make([]byte, 12)...)
		h = binary.LittleEndian.AppendUint16(h, uint16(len(name)))
		h = binary.LittleEndian.AppendUint16(h, 0)
		h = append(h, name...)
		if _, err := w.Write(h); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(payload); err != nil {
			b.Fatal(err)
		}
		var d []byte
		d = binary.LittleEndian.AppendUint32(d, sigDescriptor)
		d = binary.LittleEndian.AppendUint32(d, crc)
		d = binary.LittleEndian.AppendUint32(d, uint32(size))
		d = binary.LittleEndian.AppendUint32(d, uint32(size))
		if _, err := w.Write(d); err != nil {
			b.Fatal(err)
		}
		central = binary.LittleEndian.AppendUint32(central, sigCentral)
		central = append(central, 20, 3, 20, 0, 8, 8, 0, 0, 0, 0, 0, 0)
		central = binary.LittleEndian.AppendUint32(central, crc)
		central = binary.LittleEndian.AppendUint32(central, uint32(size))
		central = binary.LittleEndian.AppendUint32(central, uint32(size))
		central = binary.LittleEndian.AppendUint16(central, uint16(len(name)))
		central = append(central, make([]byte, 12)...)
		central = binary.LittleEndian.AppendUint32(central, off)
		central = append(central, name...)
		off += uint32(len(h) + size + len(d))
	}
	if _, err := w.Write(central); err != nil {
		b.Fatal(err)
	}
	var e []byte
	e = binary.LittleEndian.AppendUint32(e, sigEOCD)
	e = append(e, 0, 0, 0, 0)
	e = binary.LittleEndian.AppendUint16(e, uint16(n))
	e = binary.LittleEndian.AppendUint16(e, uint16(n))
	e = binary.LittleEndian.AppendUint32(e, uint32(len(central)))
	e = binary.LittleEndian.AppendUint32(e, off)
	e = append(e, 0, 0)
	if _, err := w.Write(e); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

// BenchmarkOpenAndReadHeads opens an archive of 1,000 stored entries of
// 1 MiB each and reads the first 4 KiB of every entry.
func BenchmarkOpenAndReadHeads(b *testing.B) {
	path := writeBigZip(b, 1000, 1<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	head := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a, err := Open(f, st.Size(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(a.Entries) != 1000 || len(a.Anomalies) != 0 {
			b.Fatalf("%d entries, %v", len(a.Entries), a.Anomalies)
		}
		for _, e := range a.Entries {
			ra, ok := a.ReaderAt(e)
			if !ok {
				b.Fatal("no ReaderAt")
			}
			if _, err := ra.ReadAt(head, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkOpenAndStreamHeads is the same through Archive.Open, the path of
// compressed entries.
func BenchmarkOpenAndStreamHeads(b *testing.B) {
	path := writeBigZip(b, 1000, 1<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	head := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a, err := Open(f, st.Size(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range a.Entries {
			rc, err := a.Open(e)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(rc, head); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	}
}
