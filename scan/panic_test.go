package scan

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
)

// crasher is an analyzer made to panic: in Sniff on inputs named
// sniff-boom*, in Analyze on inputs named boom*.
type crasher struct{}

func (crasher) Name() string    { return "crasher" }
func (crasher) Version() string { return "1" }
func (crasher) Sniff(in *analyzer.Input) bool {
	if strings.HasPrefix(in.Name, "sniff-boom") {
		var s []byte
		_ = s[len(in.Name)] // an index out of range: a runtime panic
	}
	return strings.HasPrefix(in.Name, "boom")
}
func (crasher) Analyze(context.Context, *analyzer.Input, analyzer.Output) error {
	panic("made to crash")
}

// TestAnalyzerPanic checks that an analyzer's panic, in Sniff or Analyze,
// on a file or on a member of a zip, becomes a finding that names the
// analyzer and marks the file incomplete (exit 2), and that the other
// analyzers and the other files of the scan go on.
func TestAnalyzerPanic(t *testing.T) {
	dir := t.TempDir()
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	files := map[string][]byte{
		"boom.pkl":       payload, // the pickle analyzer still reports it
		"sniff-boom.bin": []byte("x"),
		"other.pkl":      payload,
		"nested.zip":     zipOf(t, "boom.txt", []byte("x")),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := defaultOptions()
	opts.Analyzers = append([]analyzer.Analyzer{crasher{}}, Analyzers(pickle.DefaultPolicy())...)
	r, err := Scan(context.Background(), []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]finding.Finding{}
	for _, f := range r.Files {
		byFile[filepath.Base(f.Path)] = f.Findings
	}
	for _, name := range []string{"boom.pkl", "sniff-boom.bin", "nested.zip"} {
		crashed := false
		for _, f := range byFile[name] {
			crashed = crashed || f.Rule == finding.ScanError && strings.Contains(f.Message, "crasher") && f.Incomplete
		}
		if !crashed {
			t.Errorf("%s: no finding names the crash: %v", name, byFile[name])
		}
	}
	if !hasRule(byFile["boom.pkl"], finding.PickleProcess) || !hasRule(byFile["other.pkl"], finding.PickleProcess) {
		t.Errorf("the other analyzers or files did not go on: %v", r.Files)
	}
	if got := r.ExitCode(finding.Critical + 1); got != report.ExitIncomplete {
		t.Errorf("exit %d with nothing at the threshold, want %d", got, report.ExitIncomplete)
	}
}

// zipOf returns a zip holding one stored member.
func zipOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
