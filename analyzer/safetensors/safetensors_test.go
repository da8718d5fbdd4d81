package safetensors_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/analyzer/safetensors"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
)

// file builds a safetensors file the way the reference writer does: the
// length, the JSON header padded with spaces to a multiple of 8, the data.
func file(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func scanFile(t *testing.T, name string, data []byte) *report.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := scan.Scan(context.Background(), []string{path},
		scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rules(r *report.Report) []string {
	var out []string
	for _, f := range r.AllFindings() {
		out = append(out, f.Rule)
	}
	return out
}

const good = `{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"a.bias":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},"q":{"dtype":"F4","shape":[4],"data_offsets":[28,30]}}`

func TestValidFilePasses(t *testing.T) {
	r := scanFile(t, "model.safetensors", file(good, make([]byte, 30)))
	if got := rules(r); len(got) != 0 || r.Files[0].Formats[0] != "safetensors" {
		t.Errorf("valid file: findings %v, formats %v", got, r.Files[0].Formats)
	}
}

func TestLayoutProblems(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		data         int
		want         string
	}{
		{"gap", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, 6, "belong to no tensor"},
		{"overlap", `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4, "overlaps"},
		{"size mismatch", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4, "do not hold"},
		{"trailing bytes", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 10, "after the last tensor"},
		{"past the end", `{"a":{"dtype":"U8","shape":[20],"data_offsets":[0,20]}}`, 4, "ends at byte"},
		{"unknown dtype", `{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,2]}}`, 2, "unknown dtype"},
		{"duplicate name", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4, "appears twice"},
		{"metadata not strings", `{"__metadata__":{"n":1},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2, "not a string"},
		{"half a byte", `{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2, "whole number of bytes"},
	} {
		r := scanFile(t, "m.safetensors", file(tc.header, make([]byte, tc.data)))
		ok := false
		for _, f := range r.AllFindings() {
			ok = ok || f.Rule == finding.SafetensorsLayout && strings.Contains(f.Message, tc.want)
		}
		if !ok {
			t.Errorf("%s: want %q; got %v", tc.name, tc.want, r.AllFindings())
		}
	}
}

func TestMalformedHeaders(t *testing.T) {
	for name, data := range map[string][]byte{
		"not json":     file(`{"a":`, nil),
		"not utf-8":    file("{\"a\xff\":1}", nil),
		"tensor shape": file(`{"a":{"dtype":"U8","shape":"x","data_offsets":[0,2]}}`, make([]byte, 2)),
		"extra field":  file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}}`, make([]byte, 2)),
		"data after":   file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}} {}`, make([]byte, 2)),
	} {
		r := scanFile(t, "m.safetensors", data)
		if got := rules(r); len(got) != 1 || got[0] != finding.FormatMalformed {
			t.Errorf("%s: got %v", name, r.AllFindings())
		} else if r.ExitCode(finding.High) != report.ExitIncomplete {
			t.Errorf("%s: exit %d", name, r.ExitCode(finding.High))
		}
	}
}

// TestHiddenPayloads: a pickle in a gap or after the last tensor is scanned.
func TestHiddenPayloads(t *testing.T) {
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	n := len(payload)
	gap := `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[` +
		itoa(2+n) + `,` + itoa(4+n) + `]}}`
	for name, data := range map[string][]byte{
		"gap":      file(gap, append(append([]byte{1, 2}, payload...), 3, 4)),
		"trailing": file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, append([]byte{1, 2}, payload...)),
	} {
		r := scanFile(t, "m.safetensors", data)
		found := false
		for _, f := range r.AllFindings() {
			found = found || f.Rule == finding.PickleProcess && len(f.Location.Member) == 1
		}
		if !found || r.ExitCode(finding.High) != report.ExitFindings {
			t.Errorf("%s: %v", name, r.AllFindings())
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestSniff: only a plausible length followed by a JSON object.
func TestSniff(t *testing.T) {
	a := safetensors.Analyzer{}
	for name, tc := range map[string]struct {
		data []byte
		want bool
	}{
		"valid":         {file(good, make([]byte, 30)), true},
		"pickle":        {tu.NewPickle(4).EmptyDict().Stop().Bytes(), false},
		"huge length":   {append(binary.LittleEndian.AppendUint64(nil, 1<<40), "{}"...), false},
		"not an object": {file(`[1]`, nil), false},
	} {
		if got := a.Sniff(analyzer.NewBytesInput("x", tc.data)); got != tc.want {
			t.Errorf("%s: Sniff = %v", name, got)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(file(good, make([]byte, 30)))
	f.Add(file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,2]}}`, make([]byte, 2)))
	f.Add(file(`{"__metadata__":{"a":"b"}}`, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := safetensors.ParseHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if h.Size+8 > uint64(len(data)) {
			t.Fatalf("header of %d bytes in a %d-byte input", h.Size, len(data))
		}
		h.Check(uint64(len(data)) - 8 - h.Size)
	})
}
