package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns the path of rel inside the repository's testdata
// folder, which holds the public corpus (testdata/corpus) and the
// specifications and reference data (testdata/specs) that tests read. It
// fails the test when the path is missing: a clone holds everything the
// tests need, so a missing file is a bug, never a reason to skip.
func SharedDir(t testing.TB, rel ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "testdata"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data missing from the repository: %v", err)
	}
	return p
}

// RepoRoot returns the repository's top folder (the one holding go.mod),
// found from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}
