package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/discover"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/store"
)

// TestScanChangesAPI: a newer scanner re-judging a version's files is a
// second scan run, and its change names what it added and dropped.
func TestScanChangesAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	dir, files := modelDir(t)
	e.putModel(e.admin, "m", files)
	vp := versionPath("m", files)
	old := scanJSON(t, dir)
	var first evidenceJSON
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", e.admin, old)).decode(t, &first)

	// The "newer scanner": the same files, one finding dropped and one
	// new, another tool version.
	var r report.Report
	if err := json.Unmarshal(old, &r); err != nil {
		t.Fatal(err)
	}
	var pkl *report.File
	for i := range r.Files {
		if strings.HasSuffix(r.Files[i].Path, "model.pkl") {
			pkl = &r.Files[i]
		}
	}
	if pkl == nil || len(pkl.Findings) == 0 {
		t.Fatalf("no finding in model.pkl: %s", old)
	}
	dropped := pkl.Findings[0]
	added := dropped
	added.Rule, added.Location.Offset = "PICKLE-NEWER-RULE", dropped.Location.Offset+1
	pkl.Findings = append(pkl.Findings[1:], added)
	r.Tool.Version = "test-2"
	var b bytes.Buffer
	if err := report.WriteJSON(&b, &r); err != nil {
		t.Fatal(err)
	}
	var second evidenceJSON
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", e.admin, b.Bytes())).decode(t, &second)

	var runs pageJSON[scanRunJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/scans", e.admin, nil)).decode(t, &runs)
	if len(runs.Items) != 2 || runs.Items[0].ScannerVersion != "test" || runs.Items[1].ScannerVersion != "test-2" {
		t.Fatalf("runs %+v", runs.Items)
	}
	var ch scanChangeJSON
	e.must(http.StatusOK, e.do("GET", fmt.Sprintf("%s/scans/%d/changes", vp, second.ID), e.admin, nil)).decode(t, &ch)
	if ch.Base == nil || ch.Base.Evidence != first.ID || len(ch.Added) != 1 || ch.Added[0].Rule != "PICKLE-NEWER-RULE" ||
		len(ch.Removed) != 1 || ch.Removed[0].Rule != dropped.Rule || ch.Kept != runs.Items[0].Findings-1 {
		t.Fatalf("change %+v", ch)
	}
	// Bad ids are 4xx, never 500.
	e.must(http.StatusBadRequest, e.do("GET", vp+"/scans/x/changes", e.admin, nil))
	e.must(http.StatusNotFound, e.do("GET", vp+"/scans/999999/changes", e.admin, nil))
}

// copyDir copies a folder of regular files (one level) to a new temporary
// folder named name, and returns it with its files as a version lists them.
func copyDir(t *testing.T, from, name string) (string, []store.File) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	var files []store.File
	for _, ent := range entries {
		data, err := os.ReadFile(filepath.Join(from, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ent.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		files = append(files, store.File{Path: ent.Name(), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
	}
	return dir, files
}

// TestLineageAPI: the lineage of violet bom's CycloneDX and SPDX 3
// documents becomes the version's, and where-used finds the versions
// that derive from a base model, within the team only.
func TestLineageAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	alpha, beta := e.team("alpha"), e.team("beta")
	tok, other := e.token(alpha, "alpha-admin", store.RoleAdmin), e.token(beta, "beta-admin", store.RoleAdmin)
	dir, files := copyDir(t, filepath.Join("..", "testdata", "bom", "lora-adapter"), "lora-adapter")
	m, err := bom.Read(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []lineageJSON{
		{Kind: "model", Relation: "adapter", Name: "violet-test/tiny-llama", Ref: "pkg:huggingface/violet-test/tiny-llama"},
		{Kind: "dataset", Relation: "training", Name: "violet-test/support-chats", Ref: "https://huggingface.co/datasets/violet-test/support-chats"},
	}
	for _, format := range []string{"cyclonedx", "spdx3"} {
		var doc bytes.Buffer
		if format == "cyclonedx" {
			err = bom.WriteCycloneDX(&doc, m, bom.CycloneDXOptions{})
		} else {
			err = bom.WriteSPDX(&doc, m, bom.SPDXOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "lora-" + format
		e.putModel(tok, name, files)
		vp := versionPath(name, files)
		e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=bom", tok, doc.Bytes()))
		var got pageJSON[lineageJSON]
		e.must(http.StatusOK, e.do("GET", vp+"/lineage", tok, nil)).decode(t, &got)
		if fmt.Sprint(got.Items) != fmt.Sprint(want) {
			t.Errorf("%s: lineage %+v, want %+v", format, got.Items, want)
		}
		// A BOM of other files is refused, and gives no lineage.
		doc2 := bytes.Replace(doc.Bytes(), []byte(files[0].SHA256), []byte(strings.Repeat("0", 64)), -1)
		e.must(http.StatusUnprocessableEntity, e.do("POST", vp+"/evidence?kind=bom", tok, doc2))
	}
	// PUT /api/v1/bom takes SPDX 3 too.
	var spdx bytes.Buffer
	if err := bom.WriteSPDX(&spdx, m, bom.SPDXOptions{}); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusCreated, e.do("PUT", "/api/v1/bom", tok, map[string]any{"projectName": "via-put", "bom": json.RawMessage(spdx.Bytes())}))

	var uses pageJSON[usageJSON]
	e.must(http.StatusOK, e.do("GET", "/api/v1/where-used?model=violet-test/tiny-llama", tok, nil)).decode(t, &uses)
	if len(uses.Items) != 3 || uses.Items[0].How != "adapter" {
		t.Fatalf("where used %+v", uses.Items)
	}
	e.must(http.StatusOK, e.do("GET", "/api/v1/where-used?dataset=violet-test/support-chats", tok, nil)).decode(t, &uses)
	if len(uses.Items) != 3 {
		t.Fatalf("dataset used by %+v", uses.Items)
	}
	// Another team sees none of it.
	e.must(http.StatusOK, e.do("GET", "/api/v1/where-used?model=violet-test/tiny-llama", other, nil)).decode(t, &uses)
	if len(uses.Items) != 0 {
		t.Fatalf("another team sees %+v", uses.Items)
	}
	for _, q := range []string{"", "?model=a&package=b", "?model="} {
		e.must(http.StatusBadRequest, e.do("GET", "/api/v1/where-used"+q, tok, nil))
	}
}

// TestPackagesAPI: the packages of a violet deps report become the
// version's dependencies, each with its worst finding; a report reading a
// file that is not the version's is refused.
func TestPackagesAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	dir, files := copyDir(t, filepath.Join("..", "testdata", "bom", "lora-adapter"), "lora-adapter")
	db, err := deps.OpenDB(filepath.Join("..", "deps", "testdata", "osv"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := deps.CheckPath(context.Background(), dir, db)
	if err != nil {
		t.Fatal(err)
	}
	var rep bytes.Buffer
	if err := report.WriteJSON(&rep, res.Report("test", time.Now(), finding.High)); err != nil {
		t.Fatal(err)
	}
	e.putModel(e.admin, "lora", files)
	vp := versionPath("lora", files)
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=deps", e.admin, rep.Bytes()))
	var pkgs pageJSON[packageJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/packages", e.admin, nil)).decode(t, &pkgs)
	byName := map[string]packageJSON{}
	for _, p := range pkgs.Items {
		byName[p.Name] = p
	}
	if len(pkgs.Items) != 11 || byName["torch"].Version != "2.8.0" || byName["torch"].Line != 2 ||
		byName["accelerate"].Specifier != ">=1.10.0" || byName["unsloth-zoo"].Manifest != "requirements.txt" {
		t.Fatalf("packages %+v", pkgs.Items)
	}
	// Every pinned package without --hash has a low finding at its line.
	if byName["peft"].Severity != "low" {
		t.Errorf("peft severity %q, want low (DEPS-NO-HASH)", byName["peft"].Severity)
	}
	var uses pageJSON[usageJSON]
	e.must(http.StatusOK, e.do("GET", "/api/v1/where-used?package=Unsloth_Zoo", e.admin, nil)).decode(t, &uses)
	if len(uses.Items) != 1 || uses.Items[0].How != "2025.11.2" || uses.Items[0].Model != "lora" {
		t.Fatalf("where used %+v", uses.Items)
	}
	// A report of a dependency file the version does not hold.
	bad := bytes.Replace(rep.Bytes(), []byte("requirements.txt"), []byte("requirements-dev.txt"), -1)
	r := e.must(http.StatusUnprocessableEntity, e.do("POST", vp+"/evidence?kind=deps", e.admin, bad))
	if r.code() != "evidence_mismatch" {
		t.Errorf("code %q", r.code())
	}
	// A scan report is no deps report.
	e.must(http.StatusUnprocessableEntity, e.do("POST", vp+"/evidence?kind=deps", e.admin, scanJSON(t, dir)))
}

// TestDiscoveryAPI: a discover report of a code base gives the team's
// models whose source it holds their owners; other model assets are
// listed as not in the inventory.
func TestDiscoveryAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	alpha := e.team("alpha")
	tok := e.token(alpha, "alpha-ml", store.RoleMLEngineer)
	repo := t.TempDir()
	model, files := copyDir(t, filepath.Join("..", "testdata", "bom", "lora-adapter"), "x")
	if err := os.MkdirAll(filepath.Join(repo, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(model, filepath.Join(repo, "models", "support-lora")); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"CODEOWNERS":        "/models/support-lora/ @org/ml-platform\n",
		"models/stray.gguf": "GGUF\x03\x00\x00\x00" + strings.Repeat("\x00", 16),
		"train.py":          "from transformers import AutoModel\nAutoModel.from_pretrained(\"org/base-model\")\n",
	} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := discover.Discover(context.Background(), repo, discover.Options{NoGit: true})
	if err != nil {
		t.Fatal(err)
	}
	var rep bytes.Buffer
	if err := discover.WriteJSON(&rep, res); err != nil {
		t.Fatal(err)
	}
	// The team's models: the folder, by the path CI scanned it at, and a
	// hub model named in the code.
	e.must(http.StatusCreated, e.do("POST", "/api/v1/models", tok, map[string]string{
		"name": "support-lora", "source_kind": "path", "source_ref": "/builds/ci/checkout/models/support-lora"}))
	e.must(http.StatusCreated, e.do("PUT", versionPath("support-lora", files), tok, map[string]any{"files": files}))
	e.must(http.StatusCreated, e.do("POST", "/api/v1/models", tok, map[string]string{
		"name": "base", "source_kind": "huggingface", "source_ref": "org/base-model"}))

	var out discoveryResultJSON
	e.must(http.StatusCreated, e.do("POST", "/api/v1/discoveries?source=git.example/platform", tok, rep.Bytes())).decode(t, &out)
	matched := map[string]int{}
	for _, m := range out.Matched {
		matched[m.Model] = m.Owners
	}
	if matched["support-lora"] != 1 || len(out.Unmatched) == 0 {
		t.Fatalf("result %s", mustJSON(t, out))
	}
	if _, ok := matched["base"]; !ok {
		t.Errorf("the hub model named in train.py is not matched: %s", mustJSON(t, out))
	}
	var stray bool
	for _, u := range out.Unmatched {
		stray = stray || u.Asset == "models/stray.gguf"
	}
	if !stray {
		t.Errorf("models/stray.gguf not listed as outside the inventory: %s", mustJSON(t, out))
	}
	var owners pageJSON[ownerJSON]
	e.must(http.StatusOK, e.do("GET", "/api/v1/models/support-lora/owners", tok, nil)).decode(t, &owners)
	if len(owners.Items) != 1 || owners.Items[0].Owner != "@org/ml-platform" || owners.Items[0].Via != "codeowners" ||
		owners.Items[0].Source != "git.example/platform" || owners.Items[0].Asset != "models/support-lora" {
		t.Fatalf("owners %+v", owners.Items)
	}
	// The same report again is the same discovery.
	e.must(http.StatusOK, e.do("POST", "/api/v1/discoveries?source=git.example/platform", tok, rep.Bytes()))
	var list pageJSON[discoveryJSON]
	e.must(http.StatusOK, e.do("GET", "/api/v1/discoveries", tok, nil)).decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("discoveries %+v", list.Items)
	}
	// Hostile input: no source, not a report, a report of another shape.
	e.must(http.StatusBadRequest, e.do("POST", "/api/v1/discoveries", tok, rep.Bytes()))
	e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/discoveries?source=x", tok, []byte(`{"assets":"x"}`)))
	e.must(http.StatusBadRequest, e.do("POST", "/api/v1/discoveries?source=x", tok, []byte(`not json`)))
	// A viewer may read, not upload.
	viewer := e.token(alpha, "alpha-viewer", store.RoleViewer)
	e.must(http.StatusForbidden, e.do("POST", "/api/v1/discoveries?source=y", viewer, rep.Bytes()))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUnderPath(t *testing.T) {
	for _, c := range []struct {
		ref, rel string
		want     bool
	}{
		{"/ci/repo/models/a", "models/a", true},
		{"/ci/repo/models/a", "models/a/weights.pkl", true},
		{"/ci/repo/models/a/", "models/a/sub/x.bin", true},
		{"models/a", "models/a", true},
		{"/ci/repo/models/ab", "models/a", false},
		{"/ci/repo/models/a", "models/b/x.pkl", false},
		{"/ci/repo/models/a", "x.pkl", false},
		{"/ci/repo/models/a", "../models/a", false},
		{"/ci/repo/models/a", ".", false},
		{"/", "x", false},
	} {
		if got := underPath(c.ref, c.rel); got != c.want {
			t.Errorf("underPath(%q, %q) = %v, want %v", c.ref, c.rel, got, c.want)
		}
	}
}

// TestUploadWithGitFiles: a Hugging Face folder holds .gitattributes (and
// a signed one model.sig), which violet hash leaves out of the version and
// the scan reads: its report still binds, and a finding in such a file is
// kept; a file outside the version that is none of these still does not.
func TestUploadWithGitFiles(t *testing.T) {
	e := newEnv(t, "", Options{})
	dir, files := modelDir(t)
	if err := os.WriteFile(filepath.Join(dir, ".gitattributes"), []byte("*.pkl filter=lfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile(filepath.Join(dir, "model.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".github"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".github", "hook.pkl"), evil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.putModel(e.admin, "m", files)
	vp := versionPath("m", files)
	var ev evidenceJSON
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", e.admin, scanJSON(t, dir))).decode(t, &ev)
	var fs pageJSON[findingJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/findings", e.admin, nil)).decode(t, &fs)
	var inGit bool
	for _, f := range fs.Items {
		inGit = inGit || strings.HasPrefix(f.Location, ".github/hook.pkl")
	}
	if !inGit {
		t.Errorf("the finding in .github/hook.pkl was not kept: %+v", fs.Items)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusUnprocessableEntity, e.do("POST", vp+"/evidence?kind=scan", e.admin, scanJSON(t, dir)))
}
