package scan

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// fuzzLimits are small, so that every limit is within the fuzzer's reach.
var fuzzLimits = analyzer.Limits{
	MaxDepth:       4,
	MaxTotalBytes:  8 << 20,
	MaxRatio:       50,
	RatioFloor:     1 << 20,
	MaxMembers:     64,
	Timeout:        10 * time.Second,
	MaxPickleStack: 1 << 12,
	MaxPickleMemo:  1 << 12,
	MaxPickleOps:   1 << 18,
}

// fuzzScanSeeds returns small files of the shared corpus and of
// testdata/models, and a few built containers.
func fuzzScanSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, root := range []string{
		filepath.Join("..", "testdata", "corpus", "picklescan"),
		filepath.Join("..", "testdata", "models"),
	} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".tsv") {
				return nil
			}
			if info, err := d.Info(); err == nil && info.Size() <= 128<<10 {
				if b, err := os.ReadFile(path); err == nil {
					out = append(out, b)
				}
			}
			return nil
		})
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write([]byte(limPayload)); err != nil {
		tb.Fatal(err)
	}
	w.Close()
	inner := limZip(tb, "data.pkl", []byte(limPayload))
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for _, name := range []string{"a/inner.zip", "b/data.pkl.gz"} {
		f, _ := zw.Create(name)
		if strings.HasSuffix(name, ".zip") {
			if _, err := f.Write(inner); err != nil {
				tb.Fatal(err)
			}
		} else {
			if _, err := f.Write(gz.Bytes()); err != nil {
				tb.Fatal(err)
			}
		}
	}
	zw.Close()
	return append(out, []byte(limPayload), gz.Bytes(), inner, z.Bytes())
}

// FuzzScanBytes scans arbitrary bytes as a file, with every analyzer and
// small limits: no panic, no error, a report that holds together (a file
// is skipped exactly when nothing was found in it, incomplete exactly when
// a finding says so), only catalogued rules, an exit code of 0, 1 or 2,
// and no temporary file left behind.
func FuzzScanBytes(f *testing.F) {
	for _, b := range fuzzScanSeeds(f) {
		f.Add(b)
	}
	tmp := f.TempDir()
	f.Setenv("TMPDIR", tmp) // where the engine spools members
	path := filepath.Join(tmp, "input")
	opts := Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: fuzzLimits, Workers: 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var r *report.Report
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			r, err = Scan(context.Background(), []string{path}, opts)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the scan did not finish in 30s")
		}
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if len(r.Files) != 1 {
			t.Fatalf("%d files in the report", len(r.Files))
		}
		file := r.Files[0]
		if nothing := len(file.Findings) == 0 && len(file.Formats) == 0; file.Skipped != nothing {
			t.Fatalf("skipped %v with %d findings and formats %v", file.Skipped, len(file.Findings), file.Formats)
		}
		incomplete := false
		for _, x := range file.Findings {
			rule, ok := finding.Lookup(x.Rule)
			if !ok {
				t.Fatalf("finding of rule %q", x.Rule)
			}
			incomplete = incomplete || rule.Incomplete
			if x.Location.Path != path {
				t.Fatalf("finding %s at %s", x.Rule, x.Location)
			}
			if len(x.Location.Member) > fuzzLimits.MaxDepth {
				t.Fatalf("finding %s at %s, deeper than the depth limit", x.Rule, x.Location)
			}
			if x.Location.Offset < -1 {
				t.Fatalf("finding %s at offset %d", x.Rule, x.Location.Offset)
			}
		}
		if incomplete != file.Incomplete {
			t.Fatalf("incomplete %v, but the findings say %v", file.Incomplete, incomplete)
		}
		if code := r.ExitCode(finding.High); code != report.ExitPass && code != report.ExitFindings && code != report.ExitIncomplete {
			t.Fatalf("exit code %d", code)
		}
		if code := r.ExitCode(finding.High); code == report.ExitPass && file.Incomplete {
			t.Fatal("an incomplete file passes")
		}
		left, _ := filepath.Glob(filepath.Join(tmp, "violet-member-*"))
		if len(left) > 0 {
			t.Fatalf("temporary files left behind: %v", left)
		}
	})
}
