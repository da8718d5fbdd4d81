package scan

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// tarHeaderNamed returns a valid tar header block whose name field holds
// name: a pickle there makes a file that is both a tar archive and a pickle.
func tarHeaderNamed(name []byte) []byte {
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], "00000000000\x00")
	copy(h[136:], "00000000000\x00")
	h[156] = '0'
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return append(h, make([]byte, 1024)...)
}

// TestPolyglots: a file that two loaders read differently is scanned both
// ways.
func TestPolyglots(t *testing.T) {
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("archive/data.pkl")
	if _, err := w.Write(tu.NewPickle(2).EmptyTuple().Stop().Bytes()); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"tar-and-pickle.tar": tarHeaderNamed(payload),
		"pickle-then-zip.pt": append(append([]byte(nil), payload...), zipped.Bytes()...),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r := scanOne(t, path)
		found := false
		for _, f := range r.AllFindings() {
			found = found || f.Rule == finding.PickleProcess
		}
		if !found || len(r.Files[0].Formats) < 2 {
			t.Errorf("%s: formats %v, findings %v", name, r.Files[0].Formats, r.AllFindings())
		}
	}
}
