package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns the path of rel inside ../shared, the folder beside
// the checkout that holds the corpus and the specifications. When it is
// missing, the test is skipped, or fails under CI (CI=true), where it must
// be there.
func SharedDir(t testing.TB, rel ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	shared := filepath.Join(append([]string{filepath.Dir(dir), "shared"}, rel...)...)
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("../shared is missing: %v", err)
		}
		t.Skipf("../shared is missing: %v", err)
	}
	return shared
}
