package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureRoots are the folders of labelled fixtures scanned together by
// TestScanEveryFormat: every non-pickle format (testdata/formats) and the
// ONNX models made by the onnx library (testdata/models).
var fixtureRoots = []struct{ dir, only string }{
	{filepath.Join("..", "..", "testdata", "formats"), ""},
	{filepath.Join("..", "..", "testdata", "models"), "onnx/"},
}

// maliciousRows returns the paths of the rows labelled malicious in the
// expected.tsv of each fixture root (a row may name a folder), and the
// paths to scan.
func maliciousRows(t *testing.T) (malicious, scanned []string) {
	t.Helper()
	for _, root := range fixtureRoots {
		f, err := os.Open(filepath.Join(root.dir, "expected.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) < 2 || !strings.Contains(cols[0], root.only) {
				continue
			}
			if cols[1] == "malicious" {
				malicious = append(malicious, filepath.ToSlash(filepath.Join(root.dir, cols[0])))
			}
		}
		f.Close()
		if root.only == "" {
			scanned = append(scanned, root.dir)
		} else {
			for _, label := range []string{"benign", "malicious"} {
				scanned = append(scanned, filepath.Join(root.dir, label, strings.TrimSuffix(root.only, "/")))
			}
		}
	}
	if len(malicious) < 10 {
		t.Fatalf("only %d malicious rows", len(malicious))
	}
	return malicious, scanned
}

// rowOf returns the malicious row that path is or is inside of, or "".
func rowOf(rows []string, path string) string {
	path = filepath.ToSlash(path)
	for _, r := range rows {
		if path == r || strings.HasPrefix(path, r+"/") {
			return r
		}
	}
	return ""
}

// checkFlagged checks that the files flagged at high or above are exactly
// the malicious rows: every flagged file is in a row, every row is flagged.
func checkFlagged(t *testing.T, format string, rows []string, flagged map[string]string) {
	t.Helper()
	hit := map[string]bool{}
	for path, evidence := range flagged {
		r := rowOf(rows, path)
		if r == "" {
			t.Errorf("%s: %s is flagged but not labelled malicious (%s)", format, path, evidence)
			continue
		}
		if evidence == "" {
			t.Errorf("%s: %s is flagged without evidence", format, path)
		}
		hit[r] = true
	}
	for _, r := range rows {
		if !hit[r] {
			t.Errorf("%s: %s is malicious but not flagged", format, r)
		}
	}
}

// TestScanEveryFormat scans one set of folders holding benign, malicious
// and suspicious files of every format Violet reads besides the pickle
// family, and checks in each output format that exactly the malicious
// ones are reported at high or above, with evidence.
func TestScanEveryFormat(t *testing.T) {
	rows, paths := maliciousRows(t)

	code, out, errOut := violet(t, append([]string{"scan", "--format", "json"}, paths...)...)
	if code != 1 {
		t.Fatalf("json: exit %d\n%s", code, errOut)
	}
	var r struct {
		Summary struct {
			Formats map[string]int `json:"formats"`
		} `json:"summary"`
		Files []struct {
			Path     string `json:"path"`
			Findings []struct {
				Severity string `json:"severity"`
				Evidence string `json:"evidence"`
				Location struct {
					Path string `json:"path"`
				} `json:"location"`
			} `json:"findings"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	flagged := map[string]string{}
	for _, f := range r.Files {
		for _, x := range f.Findings {
			if x.Severity == "critical" || x.Severity == "high" {
				flagged[x.Location.Path] += x.Evidence
			}
		}
	}
	checkFlagged(t, "json", rows, flagged)
	for _, format := range []string{"gguf", "safetensors", "keras", "keras-h5", "onnx", "tensorflow-savedmodel", "tensorflow-graphdef", "tflite", "msgpack", "hf-config", "jinja", "chat-template-json"} {
		if r.Summary.Formats[format] == 0 {
			t.Errorf("the summary lists no %s file: %v", format, r.Summary.Formats)
		}
	}

	code, out, _ = violet(t, append([]string{"scan", "--format", "sarif"}, paths...)...)
	var s struct {
		Runs []struct {
			Results []struct {
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Properties struct {
					Evidence string `json:"evidence"`
				} `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || code != 1 || len(s.Runs) != 1 {
		t.Fatalf("sarif: exit %d, %v", code, err)
	}
	flagged = map[string]string{}
	for _, res := range s.Runs[0].Results {
		if res.Level == "error" {
			for _, l := range res.Locations {
				flagged[l.PhysicalLocation.ArtifactLocation.URI] += res.Properties.Evidence
			}
		}
	}
	checkFlagged(t, "sarif", rows, flagged)

	// Text: a file's block starts with its path; its findings follow,
	// indented, each with its severity and its evidence.
	code, out, _ = violet(t, append([]string{"scan"}, paths...)...)
	if code != 1 {
		t.Fatalf("text: exit %d", code)
	}
	flagged = map[string]string{}
	file, high := "", false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "" || !strings.HasPrefix(line, " "):
			file, high = strings.Fields(line + " x")[0], false
		case strings.HasPrefix(line, "  CRITICAL") || strings.HasPrefix(line, "  HIGH"):
			high = true
			flagged[file] += ""
		case high && strings.HasPrefix(strings.TrimSpace(line), "evidence: "):
			flagged[file] += strings.TrimPrefix(strings.TrimSpace(line), "evidence: ")
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			high = false
		}
	}
	checkFlagged(t, "text", rows, flagged)
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, "FAIL: ") }) {
		t.Errorf("text: no FAIL line:\n%s", out)
	}
}
