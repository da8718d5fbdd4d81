package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/report"
)

// TestJobCommandsRefuseBadUsage: violet rescan and violet worker say what
// is wrong and exit 2, before touching a job.
func TestJobCommandsRefuseBadUsage(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rescan", "--data", data}, "--model ID or --all"},
		{[]string{"rescan", "--data", data, "--all", "--model", "3"}, "--model ID or --all"},
		{[]string{"rescan", "--all"}, "--data DIR"},
		{[]string{"rescan", "--data", data, "--model", "999"}, "--model 999"},
		{[]string{"rescan", "--data", data, "--all", "-f", "sarif"}, "sarif"},
		{[]string{"worker", "--data", data, "--workers", "0"}, "--workers 0"},
		{[]string{"worker", "--data", data, "--workers", "-1"}, "--workers -1"},
		{[]string{"worker", "--data", data, "--queues", "other"}, `unknown queue "other"`},
		{[]string{"worker", "--database", "mysql://x"}, "postgres://"},
		{[]string{"worker", "--data", data, "--job-timeout", "2h", "--rescue-after", "1h"}, "rescue after"},
	} {
		var out, errOut syncBuffer
		code := run(c.args, &out, &errOut)
		if code != report.ExitIncomplete || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
	// With nothing stored, --all queues nothing and says so.
	var out, errOut syncBuffer
	if code := run([]string{"rescan", "--data", data, "--all", "--wait", "-f", "json"}, &out, &errOut); code != report.ExitPass ||
		!strings.Contains(out.String(), `"rescans": []`) {
		t.Fatalf("empty rescan: exit %d: %s %s", code, out.String(), errOut.String())
	}
}
