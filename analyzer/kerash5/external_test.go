package kerash5_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/kerash5"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/scan"
)

// threats holds the CVE-2026-1669 fixtures written by h5py
// (testdata/gen/gen_threats.py).
var threats = filepath.Join("..", "..", "testdata", "threats", "hdf5")

// TestExternalData: each way of reading another file is one
// HDF5-EXTERNAL-DATA finding that names the files and the advisory.
func TestExternalData(t *testing.T) {
	for _, tc := range []struct {
		file     string
		evidence string
		message  string // a part of the message
	}{
		{"external-storage.weights.h5", "/etc/passwd", `Dataset "/layers/dense/vars/0" keeps its data in external storage: "/etc/passwd" (from offset 0, 128 bytes)`},
		{"external-storage-latest.weights.h5", "../../.ssh/id_rsa, /etc/shadow", `"/etc/shadow" (from offset 16, 64 bytes)`},
		{"external-link.weights.h5", "/srv/models/private.weights.h5", `Link "/layers/dense_1" is an external link to object "/layers/dense/vars" of the file "/srv/models/private.weights.h5"`},
		{"external-link-latest.weights.h5", "/srv/models/private.weights.h5", `Link "/layers/dense_1" is an external link`},
		{"virtual-dataset.weights.h5", "/srv/models/private.weights.h5", `Dataset "/layers/dense/vars/0" is a virtual dataset that reads dataset "/layers/dense/vars/0" of "/srv/models/private.weights.h5"`},
		// The mapping from the file itself (".") is left out.
		{"virtual-dataset-latest.weights.h5", "/srv/models/private.weights.h5, ../../.keras/models/cached.h5", `dataset "/w" of "../../.keras/models/cached.h5".`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out := analyze(t, tc.file, read(t, filepath.Join(threats, tc.file)))
			if len(out.Findings) != 1 || out.Formats[0] != "hdf5" {
				t.Fatalf("formats %v, findings %+v", out.Formats, out.Findings)
			}
			f := out.Findings[0]
			if f.Rule != finding.HDF5ExternalData || f.Severity != finding.High || f.Evidence != tc.evidence {
				t.Errorf("finding %+v", f)
			}
			for _, want := range []string{tc.message, "CVE-2026-1669 (GHSA-3m4q-jmj6-r34q)", "https://github.com/keras-team/keras/security/advisories/GHSA-3m4q-jmj6-r34q"} {
				if !strings.Contains(f.Message, want) {
					t.Errorf("message %q lacks %q", f.Message, want)
				}
			}
		})
	}
}

// TestExternalDataInKerasArchive: the weights of a .keras archive are
// checked when the engine scans the archive, and the finding fails it.
func TestExternalDataInKerasArchive(t *testing.T) {
	path := filepath.Join(threats, "external-storage.keras")
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var weights []byte
	for _, m := range z.File {
		if m.Name == "model.weights.h5" {
			r, err := m.Open()
			if err != nil {
				t.Fatal(err)
			}
			weights, _ = io.ReadAll(r)
			r.Close()
		}
	}
	if !bytes.Equal(weights, read(t, filepath.Join(threats, "external-storage.weights.h5"))) {
		t.Fatal("the archive's model.weights.h5 is not external-storage.weights.h5")
	}
	opts := scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()}
	r, err := scan.Scan(context.Background(), []string{path}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range r.AllFindings() {
		rules = append(rules, f.Rule)
	}
	if len(rules) != 1 || rules[0] != finding.HDF5ExternalData || r.ExitCode(finding.High) != 1 {
		t.Errorf("findings %+v, exit %d", r.AllFindings(), r.ExitCode(finding.High))
	}
}

// TestExternalDataBenign: a virtual dataset whose only source is the file
// itself reads nothing outside it, and Keras weights files name nothing.
func TestExternalDataBenign(t *testing.T) {
	for _, p := range []string{
		filepath.Join("testdata", "same-file-virtual.weights.h5"),
		filepath.Join(formats, "benign", "keras-h5", "dense.weights.h5"),
		filepath.Join(formats, "benign", "keras-h5", "dense_str_latest.h5"),
	} {
		if out := analyze(t, p, read(t, p)); len(out.Findings) != 0 {
			t.Errorf("%s: %+v", p, out.Findings)
		}
	}
}

// TestExternalDataLimit: past MaxExternal objects, one more finding counts
// the rest.
func TestExternalDataLimit(t *testing.T) {
	out := analyze(t, "many.h5", read(t, filepath.Join(threats, "many-external-links.h5")))
	if len(out.Findings) != kerash5.MaxExternal+1 {
		t.Fatalf("%d findings", len(out.Findings))
	}
	for _, f := range out.Findings {
		if f.Rule != finding.HDF5ExternalData {
			t.Fatalf("finding %+v", f)
		}
	}
	if last := out.Findings[kerash5.MaxExternal]; last.Message != "20 more objects that read other files." {
		t.Errorf("last finding %+v", last)
	}
}

// TestExternalDataUnreadable: a file cut short never passes: a cut in its
// metadata is FORMAT-MALFORMED, with the external storage finding when the
// cut comes after the dataset's header; a cut in the raw data after all
// the metadata keeps the finding.
func TestExternalDataUnreadable(t *testing.T) {
	data := read(t, filepath.Join(threats, "external-storage-latest.weights.h5"))
	both := false
	for n := 8; n < len(data); n += 16 { // 8: the signature, for the sniffer
		out := analyze(t, "cut.h5", data[:n])
		got := map[string]bool{}
		for _, f := range out.Findings {
			got[f.Rule] = true
		}
		if !got[finding.FormatMalformed] && !got[finding.HDF5ExternalData] {
			t.Fatalf("cut at %d: %+v", n, out.Findings)
		}
		both = both || got[finding.FormatMalformed] && got[finding.HDF5ExternalData]
	}
	if !both {
		t.Error("no cut reported both the external storage and the damage")
	}
}

// TestAdvisoryTable: every class has its advisory.
func TestAdvisoryTable(t *testing.T) {
	for _, c := range []kerash5.Class{kerash5.ClassExternalStorage, kerash5.ClassExternalLink, kerash5.ClassVirtualDataset} {
		n := 0
		for _, a := range kerash5.Advisories {
			if a.Class == c {
				n++
				if !strings.Contains(a.ID, "CVE-2026-1669") || !strings.HasPrefix(a.URL, "https://") || a.Summary == "" {
					t.Errorf("%s: %+v", c, a)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d advisories", c, n)
		}
	}
}
