package scan

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// extractCensus unpacks testdata/census/NAME.tar.gz into a temporary folder
// and returns it with the manifest's rows of files written.
func extractCensus(t *testing.T, name string) (string, [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "census", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		clean := path.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || strings.HasPrefix(clean, "..") || path.IsAbs(clean) {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(io.LimitReader(tr, 16<<20))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var written [][]string
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		cols := strings.Split(line, "\t")
		if i > 0 && len(cols) >= 5 && cols[4] == "ok" && cols[2] != "" {
			written = append(written, cols)
		}
	}
	return dir, written
}

// checkCensus scans every file of a census and requires each to pass at the
// default threshold.
func checkCensus(t *testing.T, name string, minFiles int, families ...string) {
	dir, rows := extractCensus(t, name)
	if len(rows) < minFiles {
		t.Fatalf("%s census lists %d files, want at least %d", name, len(rows), minFiles)
	}
	seen := map[string]int{}
	for _, row := range rows {
		seen[row[0]]++
	}
	for _, fam := range families {
		if seen[fam] == 0 {
			t.Errorf("%s census has no file of %s", name, fam)
		}
	}
	r := scanOne(t, dir)
	byPath := map[string][]finding.Finding{}
	for _, f := range r.AllFindings() {
		rel, _ := filepath.Rel(dir, f.Location.Path)
		byPath[filepath.ToSlash(rel)] = append(byPath[filepath.ToSlash(rel)], f)
	}
	for _, row := range rows {
		file := row[2]
		for _, f := range byPath[file] {
			if f.Severity >= finding.High || f.Incomplete {
				t.Errorf("%s (%s %s): %s %s %s", file, row[0], row[1], f.Severity, f.Rule, f.Evidence)
			}
		}
	}
	files := map[string]bool{}
	for _, row := range rows {
		files[row[2]] = true
	}
	if r.Summary.Files < len(files) {
		t.Errorf("scanned %d files, the manifest lists %d", r.Summary.Files, len(files))
	}
}

func hasRule(fs []finding.Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// TestCensusDebian scans a file of every public estimator, class and dtype
// that the Debian releases of the ML libraries write (testdata/gen/census):
// all of them must pass.
func TestCensusDebian(t *testing.T) {
	checkCensus(t, "debian", 850, "numpy", "pandas", "scipy", "sklearn", "torch", "joblib", "xgboost", "omegaconf")
}

// TestCensusModern does the same for files written by current releases
// (torch 2.11, transformers 5, scikit-learn 1.9, numpy 2, pandas 3, scipy
// 1.18, torchvision, timm, torch_geometric, Lightning, jax and more).
func TestCensusModern(t *testing.T) {
	checkCensus(t, "modern", 2500, "numpy", "pandas", "pyarrow", "scipy", "sklearn", "torch", "torchvision", "timm",
		"torch_geometric", "transformers", "peft", "lightning", "accelerate", "jax", "torchaudio", "torchmetrics", "sentence_transformers")
}

// TestModernCorpus runs testdata/corpus/modern: files of current releases
// and payloads placed in their real layouts.
func TestModernCorpus(t *testing.T) {
	root := tu.SharedDir(t, "corpus", "modern")
	rows := labels(t, filepath.Join(root, "expected.tsv"))
	if len(rows) < 50 {
		t.Fatalf("expected.tsv lists %d files", len(rows))
	}
	checkLabelled(t, root, rows)
}
