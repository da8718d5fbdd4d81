package report

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

func TestAttestedName(t *testing.T) {
	dir := filepath.Join("models", "m")
	for _, tc := range []struct {
		target, path, want string
		ok                 bool
	}{
		{dir, filepath.Join(dir, "a.pkl"), "a.pkl", true},
		{dir, filepath.Join(dir, "sub", "b.bin"), "sub/b.bin", true},
		{dir + string(filepath.Separator), filepath.Join(dir, "c"), "c", true},
		{filepath.Join(dir, "model.pt"), filepath.Join(dir, "model.pt"), "model.pt", true},
		{dir, filepath.Join("models", "other"), "", false},
		{dir, dir, "m", true}, // a single file named like the target
	} {
		got, err := AttestedName(tc.target, tc.path)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("AttestedName(%q, %q) = %q, %v; want %q", tc.target, tc.path, got, err, tc.want)
		}
	}
}

func TestScanPredicate(t *testing.T) {
	target := filepath.Join("tmp", "model")
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	r := &Report{
		Tool: Tool{Name: "violet", Version: "1.2.3"}, StartedAt: start, Targets: []string{target}, FailOn: finding.High,
		Summary: Summary{Files: 3, Scanned: 2, Skipped: 1, Incomplete: 1, Findings: map[string]int{"critical": 1, "low": 1}},
		Files: []File{
			{Path: filepath.Join(target, "README.md"), Skipped: true},
			{Path: filepath.Join(target, "sub", "model.tar"), Findings: []finding.Finding{{Rule: "PICKLE-PROCESS", Severity: finding.Critical,
				Location: finding.Location{Path: filepath.Join(target, "sub", "model.tar"), Member: []string{"data.pkl"}, Offset: 12}, Evidence: "posix.system('id')"}}},
			{Path: filepath.Join(target, "w.bin"), Incomplete: true, Findings: []finding.Finding{{Rule: "SCAN-TIMEOUT", Severity: finding.Low,
				Location: finding.Location{Path: filepath.Join(target, "w.bin"), Offset: -1}}}},
		},
	}
	p, err := ScanPredicate(r, ExitFindings)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"scanner":    map[string]any{"name": "violet", "version": "1.2.3"},
		"started_at": "2025-03-01T11:00:00Z",
		"targets":    []any{target},
		"fail_on":    "high",
		"exit_code":  1.0,
		"summary": map[string]any{"files": 3.0, "scanned": 2.0, "skipped": 1.0, "incomplete": 1.0,
			"findings": map[string]any{"info": 0.0, "low": 1.0, "medium": 0.0, "high": 0.0, "critical": 1.0}},
		"findings": []any{
			map[string]any{"rule": "PICKLE-PROCESS", "severity": "critical", "path": "sub/model.tar", "member": []any{"data.pkl"}, "offset": 12.0, "evidence": "posix.system('id')"},
			map[string]any{"rule": "SCAN-TIMEOUT", "severity": "low", "path": "w.bin", "offset": -1.0},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("predicate:\n%s", raw)
	}

	// A clean scan lists no findings, as [] not null.
	clean := &Report{Tool: r.Tool, Targets: []string{filepath.Join(target, "model.pt")}, FailOn: finding.High,
		Files: []File{{Path: filepath.Join(target, "model.pt")}}}
	p, err = ScanPredicate(clean, ExitPass)
	if raw, _ := json.Marshal(p); err != nil || p.Findings == nil || p.Summary.Findings["critical"] != 0 {
		t.Errorf("clean: %v\n%s", err, raw)
	}

	r.Targets = append(r.Targets, "other")
	if _, err := ScanPredicate(r, 0); err == nil {
		t.Error("two targets: no error")
	}
}
