package kerash5_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/kerash5"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

// formats is the folder of labelled fixtures (testdata/gen/gen_keras_h5.py).
var formats = filepath.Join("..", "..", "testdata", "formats")

func read(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// analyze runs the analyzer on data as the engine would on a file.
func analyze(t testing.TB, name string, data []byte) *testutil.Output {
	t.Helper()
	in := analyzer.NewBytesInput(name, data)
	a := kerash5.Analyzer{}
	if !a.Sniff(in) {
		t.Fatalf("%s: not sniffed", name)
	}
	out := &testutil.Output{}
	if err := a.Analyze(context.Background(), in, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func rules(fs []finding.Finding) []string {
	var r []string
	for _, f := range fs {
		r = append(r, f.Rule)
	}
	return r
}

func TestFixtures(t *testing.T) {
	for _, tc := range []struct {
		path, format string
		rules        []string
		evidence     string
	}{
		{"benign/keras-h5/dense.h5", "keras-h5", nil, ""},
		{"benign/keras-h5/dense_str_latest.h5", "keras-h5", nil, ""},
		{"benign/keras-h5/dense_many_attrs.h5", "keras-h5", nil, ""},
		{"benign/keras-h5/dense.weights.h5", "hdf5", nil, ""},
		{"malicious/keras-h5/lambda.h5", "keras-h5", []string{finding.KerasLambda}, "names __import__, system; strings 'os', 'id'"},
		{"malicious/keras-h5/lambda_dense_attrs.h5", "keras-h5", []string{finding.KerasLambda}, "names __import__, system; strings 'os', 'id'"},
		{"malicious/keras-h5/os_module.h5", "keras-h5", []string{finding.KerasUnsafeModule}, "builtins.exec"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			out := analyze(t, tc.path, read(t, filepath.Join(formats, tc.path)))
			if !slices.Equal(out.Formats, []string{tc.format}) || !slices.Equal(rules(out.Findings), tc.rules) {
				t.Fatalf("formats %v, findings %+v", out.Formats, out.Findings)
			}
			if tc.evidence != "" && !strings.Contains(out.Findings[0].Evidence, tc.evidence) {
				t.Errorf("evidence %q", out.Findings[0].Evidence)
			}
		})
	}
}

// TestConfigsKerasCannotRead: a model_config that is not one JSON string
// is reported, never passed as clean.
func TestConfigsKerasCannotRead(t *testing.T) {
	for name, want := range map[string]string{
		"int_config.h5":  "is not one string",
		"two_strings.h5": "is not one string",
		"bad_json.h5":    "is not valid JSON",
	} {
		out := analyze(t, name, read(t, filepath.Join("testdata", name)))
		if len(out.Findings) != 1 || out.Findings[0].Rule != finding.FormatMalformed || !strings.Contains(out.Findings[0].Message, want) {
			t.Errorf("%s: %+v", name, out.Findings)
		}
	}
}

// TestMalformed: a damaged file is a finding that makes the scan
// incomplete, whatever part is damaged.
func TestMalformed(t *testing.T) {
	data := read(t, filepath.Join(formats, "malicious", "keras-h5", "lambda.h5"))
	for _, n := range []int{8, 100, 700, 2000} {
		out := analyze(t, "cut.h5", data[:n])
		if len(out.Findings) == 0 || out.Findings[0].Rule != finding.FormatMalformed {
			t.Errorf("cut at %d: %+v", n, out.Findings)
		}
	}
}

// TestSniff: the signature is found at 0 and after a userblock, as the
// HDF5 library looks for it; other files are not claimed.
func TestSniff(t *testing.T) {
	ub := read(t, filepath.Join("..", "..", "internal", "hdf5", "testdata", "userblock.h5"))
	if string(ub[:8]) == "\x89HDF\r\n\x1a\n" {
		t.Fatal("userblock.h5 has no userblock")
	}
	if out := analyze(t, "userblock.h5", ub); len(out.Formats) != 1 || len(out.Findings) != 0 {
		t.Errorf("userblock.h5: %v %+v", out.Formats, out.Findings)
	}
	far := make([]byte, 1<<16+8)
	copy(far[1<<16:], "\x89HDF\r\n\x1a\n")
	if !(kerash5.Analyzer{}).Sniff(analyzer.NewBytesInput("far.h5", far)) {
		t.Error("signature after a 64 KiB userblock not found")
	}
	far[1<<16]++
	for _, data := range [][]byte{far, []byte("\x89PNG\r\n\x1a\n"), []byte("HDF"), nil} {
		if (kerash5.Analyzer{}).Sniff(analyzer.NewBytesInput("x.h5", data)) {
			t.Errorf("sniffed %.20q", data)
		}
	}
}

// FuzzAnalyze runs the analyzer on arbitrary bytes: no panic, and a file
// it cannot read is a finding.
func FuzzAnalyze(f *testing.F) {
	for _, dir := range []string{filepath.Join(formats, "benign", "keras-h5"), filepath.Join(formats, "malicious", "keras-h5"), "testdata", filepath.Join("testdata", "advisories"), threats} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.h5"))
		for _, p := range files {
			if data := read(f, p); len(data) <= 16<<10 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := analyzer.NewBytesInput("fuzz.h5", data)
		a := kerash5.Analyzer{}
		if !a.Sniff(in) {
			return
		}
		out := &testutil.Output{}
		if err := a.Analyze(context.Background(), in, out); err != nil {
			t.Fatal(err)
		}
		if len(out.Formats) != 1 {
			t.Fatalf("formats %v", out.Formats)
		}
		for _, x := range out.Findings {
			if _, ok := finding.Lookup(x.Rule); !ok {
				t.Fatalf("rule %q", x.Rule)
			}
		}
	})
}
