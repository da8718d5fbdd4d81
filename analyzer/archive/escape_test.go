package archive_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"io/fs"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer/archive"
	"github.com/violet-mlsecops/violet/finding"
)

func TestNameEscapes(t *testing.T) {
	nameEscapes := archive.NameEscapes
	for name, want := range map[string]bool{
		"model/data.pkl": false, "a/../b": false, "./x": false, "..data": false, "a..b/c": false,
		"../x": true, "a/../../x": true, "/etc/passwd": true, `..\x`: true, `a\..\..\x`: true,
		`C:\Windows\x`: true, "c:x": true, `\\server\share\x`: true, "//server/x": true, "..": true,
	} {
		if _, got := nameEscapes(name); got != want {
			t.Errorf("nameEscapes(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestArchiveEscapes checks that members and links leaving the
// extraction folder are reported high in tar, zip and 7z, and that
// ordinary names and links inside it are not.
func TestArchiveEscapes(t *testing.T) {
	tarOf := func(hdrs ...*tar.Header) []byte {
		var b bytes.Buffer
		w := tar.NewWriter(&b)
		for _, h := range hdrs {
			if h.Typeflag == 0 {
				h.Typeflag, h.Size, h.Mode = tar.TypeReg, 1, 0o644
			}
			if err := w.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				if _, err := w.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
			}
		}
		w.Close()
		return b.Bytes()
	}
	zipOfNames := func(names ...string) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		for _, n := range names {
			f, err := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		return b.Bytes()
	}
	zipLink := func(name, target string) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		h := &zip.FileHeader{Name: name, Method: zip.Store}
		h.SetMode(fs.ModeSymlink | 0o777)
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(target)); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		want int // ARCHIVE-PATH-ESCAPE findings
	}{
		{"tar.tar", tarOf(&tar.Header{Name: "model/a.pkl"}, &tar.Header{Name: "model/link", Typeflag: tar.TypeSymlink, Linkname: "a.pkl"}), 0},
		{"tar-dotdot.tar", tarOf(&tar.Header{Name: "../../home/user/.bashrc"}), 1},
		{"tar-abs.tar", tarOf(&tar.Header{Name: "/etc/cron.d/x"}), 1},
		{"tar-symlink-abs.tar", tarOf(&tar.Header{Name: "model/ssh", Typeflag: tar.TypeSymlink, Linkname: "/root/.ssh"}), 1},
		{"tar-symlink-up.tar", tarOf(&tar.Header{Name: "model/up", Typeflag: tar.TypeSymlink, Linkname: "../../x"}), 1},
		{"tar-hardlink.tar", tarOf(&tar.Header{Name: "model/h", Typeflag: tar.TypeLink, Linkname: "../outside"}), 1},
		{"zip.zip", zipOfNames("model/data.pkl"), 0},
		{"zip-dotdot.zip", zipOfNames("../../evil.py", `..\..\evil.py`), 2},
		{"zip-symlink-up.zip", zipLink("model/up", "../../etc/passwd"), 1},
		{"zip-symlink-abs.zip", zipLink("model/ssh", "/root/.ssh/id_rsa"), 1},
		{"zip-symlink-inside.zip", zipLink("model/link", "data.pkl"), 0},
		{"7z-dotdot.7z", sevenZipOf("../evil.py", []byte("x")), 1},
		{"7z.7z", sevenZipOf("model/x.bin", []byte("x")), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := scanFile(t, c.name, c.data)
			all := r.AllFindings()
			n := 0
			for _, f := range all {
				if f.Rule == finding.ArchivePathEscape {
					n++
					if f.Severity != finding.High || !strings.Contains(f.Message, "outside") {
						t.Errorf("%s %s", f.Severity, f.Message)
					}
				}
			}
			if n != c.want {
				t.Errorf("%d ARCHIVE-PATH-ESCAPE findings, want %d: %v", n, c.want, all)
			}
		})
	}
}

// TestSevenZipEncryptedContent checks that a 7z whose header is plain but
// whose content folder is AES-encrypted is not reported clean: the library
// decrypts with an empty password, so what it yields is noise.
func TestSevenZipEncryptedContent(t *testing.T) {
	packed := bytes.Repeat([]byte{0x5a}, 32) // AES blocks
	// AES-256 + SHA-256 properties: 2^19 cycles, a 16-byte IV.
	props := append([]byte{0x53, 0x0f}, bytes.Repeat([]byte{1}, 16)...)
	data := sevenZipCoded("model/data.pkl", packed, 32, []byte{0x06, 0xf1, 0x07, 0x01}, props, 0)
	r, _ := scanFile(t, "model.7z", data)
	found := false
	for _, f := range r.AllFindings() {
		found = found || f.Rule == finding.ArchiveEncrypted && f.Incomplete
	}
	if !found || r.ExitCode(finding.High) != 2 {
		t.Errorf("encrypted 7z content: exit %d, %v", r.ExitCode(finding.High), r.AllFindings())
	}
	plain, _ := scanFile(t, "plain.7z", sevenZipOf("model/x.bin", []byte("x")))
	for _, f := range plain.AllFindings() {
		if f.Rule == finding.ArchiveEncrypted {
			t.Errorf("a plain 7z is reported encrypted: %v", f)
		}
	}
}
