//go:build linux

package deps

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	tu "github.com/violet-mlsecops/violet/internal/testutil"

	"github.com/violet-mlsecops/violet/finding"
)

// TestCheckPathUnreadableFolder: a folder that cannot be read is a
// DEPS-MALFORMED finding at its path (incomplete), and every other file
// is still checked.
func TestCheckPathUnreadableFolder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a/requirements.txt": "torchtriton==3.0.0\n",
		"z/pyproject.toml":   "[project]\ndependencies = [\"transfromers==4.46.3\"]\n",
	})
	locked := tu.UnreadableDir(t, filepath.Join(dir, "a"), map[string]string{"requirements.txt": "torchtriton\n"})
	files, unreadable, err := FindFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || len(unreadable) != 1 || unreadable[0].File != locked {
		t.Fatalf("files %q, unreadable %v", files, unreadable)
	}
	db, err := OpenDB(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	r, err := CheckPath(context.Background(), dir, db)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for _, f := range r.Findings {
		rules[f.Rule] = f.Location.Path
	}
	if rules[finding.DepsMalformed] != locked || rules[finding.DepsMalicious] == "" || rules[finding.DepsTyposquat] == "" {
		t.Errorf("findings %v", r.Findings)
	}
	rep := r.Report("test", time.Now(), finding.High)
	if rep.Summary.Incomplete != 1 {
		t.Errorf("incomplete %d", rep.Summary.Incomplete)
	}
	// The root itself unreadable is an error.
	if _, err := CheckPath(context.Background(), locked, db); err == nil {
		t.Error("unreadable root accepted")
	}
}
