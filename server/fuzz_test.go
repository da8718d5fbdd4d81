package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/store"
)

// FuzzBind: the report and BOM readers of the evidence upload never panic
// and never bind a report to a version whose files it does not name.
func FuzzBind(f *testing.F) {
	files := []store.File{{Path: "model.pkl", SHA256: strings.Repeat("a", 64)}}
	f.Add([]byte(`{"tool":{"name":"violet"},"targets":["m"],"files":[{"path":"m/model.pkl","findings":[]}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"type":"file","name":"model.pkl","hashes":[{"alg":"SHA-256","content":"00"}]}]}`))
	f.Add([]byte(`{"tool":{"name":"violet"},"targets":["m"],"files":[{"path":"m/x","findings":[{"rule":"R","severity":"critical","location":{"path":"m/x","offset":-1}}]}]}`))
	f.Add([]byte(`{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[{"type":"software_File","name":"model.pkl","verifiedUsing":[{"algorithm":"sha256","hashValue":"aa"}]}]}`))
	f.Add([]byte(`{"tool":{"name":"violet deps"},"targets":["m"],"files":[{"path":"m/model.pkl","packages":[{"ecosystem":"PyPI","name":"torch","line":1}],"findings":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if out, _, err := bindScan(data, files); err == nil {
			for _, x := range out {
				if x.FileSHA256 != files[0].SHA256 {
					t.Fatalf("a finding bound to %q", x.FileSHA256)
				}
			}
		}
		if got, err := readBOM(data); err == nil {
			if bindFiles("bom", got.Files, files) == nil && (len(got.Files) == 0 || got.Files[0].Path != "model.pkl") {
				t.Fatalf("bound %v", got.Files)
			}
		}
		if pkgs, err := bindDeps(data, files); err == nil {
			for _, p := range pkgs {
				if p.Manifest != "model.pkl" {
					t.Fatalf("a package of %q bound", p.Manifest)
				}
			}
		}
	})
}

// FuzzBindVerify: binding a verify report never panics, and a report it
// binds as verified names only files of the version.
func FuzzBindVerify(f *testing.F) {
	sum := strings.Repeat("ab", 32)
	f.Add([]byte(`{"verified":true,"signer":"k","manifest":{"resources":[{"name":"a.bin","algorithm":"sha256","digest":"` + sum + `"}]}}`))
	f.Add([]byte(`{"verified":true,"manifest":{"resources":[{"name":"a.bin:0:9","algorithm":"sha256-sharded-9","digest":"00"}]}}`))
	f.Add([]byte(`{"verified":true,"manifest":{"resources":[{"name":"::","algorithm":"-sharded-","digest":""}]}}`))
	f.Add([]byte(`{"verified":false,"manifest":null}`))
	files := []store.File{{Path: "a.bin", SHA256: sum, Size: 1}}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := BindVerify(data, files); err != nil {
			return
		}
		var r verifyReportJSON
		if json.Unmarshal(data, &r) != nil || !r.Verified || r.Manifest == nil {
			return
		}
		for _, res := range r.Manifest.Resources {
			if !strings.HasPrefix(res.Name, "a.bin") {
				t.Fatalf("%q: bound a report naming %q", data, res.Name)
			}
		}
	})
}
