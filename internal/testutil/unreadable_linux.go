package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// UnreadableDir makes a folder under dir that cannot be listed and returns
// its path. As an ordinary user it is dir/locked, holding the files given,
// with mode 000 (restored when the test ends). As root (CI), whom
// permissions do not stop, it is a chain of folders whose path is longer
// than PATH_MAX (4096 bytes): listing it fails with ENAMETOOLONG, and the
// files are not written.
func UnreadableDir(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		p := filepath.Join(dir, "locked")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(p, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Error(err)
			}
		})
		return p
	}
	fd, err := syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, name := dir, strings.Repeat("d", 250)
	for len(p) <= 4096 {
		if err := syscall.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := syscall.Openat(fd, name, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
		syscall.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, p = next, filepath.Join(p, name)
	}
	syscall.Close(fd)
	return p
}
