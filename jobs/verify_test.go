package jobs

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/source/sourcetest"
	"github.com/violet-mlsecops/violet/store"
)

// signedModel writes a model folder whose card names its base model, and
// signs it with key (model.sig inside, as violet sign writes it).
func signedModel(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"config.json": `{"model_type": "bert", "hidden_size": 8}`,
		"README.md":   "---\nbase_model: org/base-model\nlicense: apache-2.0\n---\n# m\n\nA test model.\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if key == nil {
		return dir
	}
	s := sign.DefaultSerialization()
	s.IgnorePaths = append(s.IgnorePaths, sign.DefaultSignaturePath(dir))
	m, err := sign.Hash(context.Background(), dir, s, sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := sign.SignManifest(m, signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sign.DefaultSignaturePath(dir), bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// verifyReportOf returns the verify report that request r stored.
func verifyReportOf(t *testing.T, st *store.Store, r store.ScanRequest) sign.Report {
	t.Helper()
	if r.Status != store.ScanDone || r.EvidenceID == 0 {
		t.Fatalf("verify request %+v", r)
	}
	data, err := st.EvidenceReport(context.Background(), r.EvidenceID)
	if err != nil {
		t.Fatal(err)
	}
	var rep sign.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestVerifyAndBOMJobs: verify jobs check a model's signature against the
// team's trusted signers (one that verifies is named in the report); a
// tampered or unsigned model is a report that did not verify, a team that
// trusts no signer an incomplete request; BOM jobs store the ML-BOM with
// its lineage; a job for a stored version refuses a location that holds
// another.
func TestVerifyAndBOMJobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		r := runner(t, Config{Store: st, Workers: 2})
		key, pub := testutil.SigningKey(t)
		_, otherPub := testutil.SigningKey(t)
		for name, material := range map[string]string{"old key": otherPub, "release key": pub} {
			if _, err := st.AddTrustedSigner(ctx, tester, store.TrustedSigner{TeamID: e.team.ID, Name: name, Kind: store.SignerKey,
				Material: material}); err != nil {
				t.Fatal(err)
			}
		}
		signed := signedModel(t, key)
		tampered := signedModel(t, key)
		if err := os.WriteFile(filepath.Join(tampered, "config.json"), []byte(`{"model_type": "evil"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		unsigned := signedModel(t, nil)
		var reqs []store.ScanRequest
		for _, dir := range []string{signed, tampered, unsigned} {
			req, err := r.Request(ctx, tester, e.model.ID, 0, store.ScanKindVerify, dir)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, req)
		}
		got := wait(t, r, reqs...)
		ok := verifyReportOf(t, st, got[0])
		if !ok.Verified || ok.TrustedSigner != "release key" || ok.Signer == "" || ok.Signature != "model.sig" {
			t.Fatalf("signed model: %+v", ok)
		}
		if signers, err := st.VersionSigners(ctx, got[0].VersionID); err != nil || len(signers) != 1 || signers[0] != ok.Signer {
			t.Fatalf("version signers %v %v", signers, err)
		}
		bad := verifyReportOf(t, st, got[1])
		if bad.Verified || len(bad.Modified) != 1 || bad.Modified[0] != "config.json" {
			t.Fatalf("tampered model: %+v", bad)
		}
		none := verifyReportOf(t, st, got[2])
		if none.Verified || !strings.Contains(none.SignatureError, "no signature") {
			t.Fatalf("unsigned model: %+v", none)
		}
		if signers, _ := st.VersionSigners(ctx, got[1].VersionID); len(signers) != 0 {
			t.Fatalf("a model that did not verify has signers %v", signers)
		}

		// A signature by a key the team does not trust.
		stranger, _ := testutil.SigningKey(t)
		req, err := r.Request(ctx, tester, e.model.ID, 0, store.ScanKindVerify, signedModel(t, stranger))
		if err != nil {
			t.Fatal(err)
		}
		strange := verifyReportOf(t, st, wait(t, r, req)[0])
		if strange.Verified || !strings.Contains(strange.SignatureError, "no signer the team trusts (old key, release key)") {
			t.Fatalf("stranger's signature: %+v", strange)
		}

		// A team that trusts no signer cannot verify: incomplete, no evidence.
		other, err := st.CreateTeam(ctx, tester, "no signers")
		if err != nil {
			t.Fatal(err)
		}
		om, err := st.CreateModel(ctx, tester, store.Model{TeamID: other.ID, Name: "o", SourceKind: store.SourcePath, SourceRef: "/o"})
		if err != nil {
			t.Fatal(err)
		}
		req, err = r.Request(ctx, tester, om.ID, 0, store.ScanKindVerify, signed)
		if err != nil {
			t.Fatal(err)
		}
		if got := wait(t, r, req)[0]; got.Status != store.ScanIncomplete || got.EvidenceID != 0 || !strings.Contains(got.Error, "trusts no signer") {
			t.Fatalf("no trusted signer: %+v", got)
		}

		// The BOM of the signed version, fetched again from its location.
		req, err = r.Request(ctx, tester, e.model.ID, got[0].VersionID, store.ScanKindBOM, signed)
		if err != nil {
			t.Fatal(err)
		}
		b := wait(t, r, req)[0]
		if b.Status != store.ScanDone || b.VersionID != got[0].VersionID {
			t.Fatalf("bom request %+v", b)
		}
		if ev, err := st.ListEvidence(ctx, b.VersionID, store.EvidenceBOM); err != nil || len(ev) != 1 || ev[0].ID != b.EvidenceID {
			t.Fatalf("bom evidence %+v %v", ev, err)
		}
		lineage, err := st.Lineage(ctx, b.VersionID)
		if err != nil || len(lineage) != 1 || lineage[0].Name != "org/base-model" {
			t.Fatalf("lineage %+v %v", lineage, err)
		}
		// The stored version's job at a location holding another model.
		req, err = r.Request(ctx, tester, e.model.ID, got[0].VersionID, store.ScanKindBOM, tampered)
		if err != nil {
			t.Fatal(err)
		}
		if got := wait(t, r, req)[0]; got.Status != store.ScanIncomplete || got.EvidenceID != 0 || !strings.Contains(got.Error, "not the version") {
			t.Fatalf("bom of another model: %+v", got)
		}
	})
}

// TestVerifyJobOCIReferrer: a verify job of an oci:// model artifact
// checks the Sigstore bundle attached to its manifest as a referrer.
func TestVerifyJobOCIReferrer(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		key, pub := testutil.SigningKey(t)
		if _, err := st.AddTrustedSigner(ctx, tester, store.TrustedSigner{TeamID: e.team.ID, Name: "ci", Kind: store.SignerKey,
			Material: pub}); err != nil {
			t.Fatal(err)
		}
		dir := signedModel(t, nil)
		m, err := sign.Hash(ctx, dir, sign.DefaultSerialization(), sign.HashOptions{})
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := sign.NewKeySigner(key)
		bundle, err := sign.SignManifest(m, signer)
		if err != nil {
			t.Fatal(err)
		}
		reg := sourcetest.NewRegistry(t)
		var layers []sourcetest.Layer
		for _, name := range []string{"README.md", "config.json"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			layers = append(layers, sourcetest.Layer{MediaType: sourcetest.ModelPackWeightRaw,
				Annotations: map[string]string{"org.cncf.model.filepath": name}, Data: data})
		}
		reg.AttachBundle(t, "m", reg.PushModel(t, "m", "v1", "", "", layers), bundle)
		reg.Requests()
		opts := source.Options{OCIPlainHTTP: true, Limits: source.Limits{Backoff: time.Millisecond, Retries: -1}}
		r := runner(t, Config{Store: st, Workers: 1, Sources: opts})
		req, err := r.Request(ctx, tester, e.model.ID, 0, store.ScanKindVerify, "oci://"+reg.Host+"/m:v1")
		if err != nil {
			t.Fatal(err)
		}
		got := wait(t, r, req)[0]
		rep := verifyReportOf(t, st, got)
		if !rep.Verified || rep.Signature != "referrer 1" || rep.TrustedSigner != "ci" || !strings.Contains(rep.Model, "@sha256:") ||
			strings.Join(rep.NotDownloaded, ",") != "README.md,config.json" {
			t.Fatalf("report %+v", rep)
		}
		// No layer was pulled, and the version is the one a scan job of
		// the fetched files stores.
		for _, q := range reg.Requests() {
			for _, l := range layers {
				if strings.Contains(q, "/blobs/sha256:"+sourcetest.SHA256(l.Data)) {
					t.Errorf("the layer of %s was pulled: %s", l.Annotations["org.cncf.model.filepath"], q)
				}
			}
		}
		want, _, err := HashVersion(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := r.version(ctx, e.model.ID, got.VersionID); err != nil || v.Digest != want {
			t.Errorf("version %+v %v, want %s", v, err, want)
		}
		// A tampered layer: the same bundle, another file; still no pull.
		layers[1].Data = []byte(`{"model_type": "evil"}`)
		reg.AttachBundle(t, "m", reg.PushModel(t, "m", "v2", "", "", layers), bundle)
		req, err = r.Request(ctx, tester, e.model.ID, 0, store.ScanKindVerify, "oci://"+reg.Host+"/m:v2")
		if err != nil {
			t.Fatal(err)
		}
		if bad := verifyReportOf(t, st, wait(t, r, req)[0]); bad.Verified || strings.Join(bad.Modified, ",") != "config.json" {
			t.Fatalf("tampered report %+v", bad)
		}
	})
}

// TestListedVersion: the version of a listing with every file's SHA-256
// is the one HashVersion gives the same files fetched.
func TestListedVersion(t *testing.T) {
	dir := signedModel(t, nil)
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "w.bin"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	want, wantFiles, err := HashVersion(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(context.Background(), dir, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(entries[i].Path)))
		if err != nil {
			t.Fatal(err)
		}
		entries[i].SHA256 = sha256Hex(data)
	}
	entries = append(entries, source.Entry{Path: "model.sig", SHA256: sha256Hex(nil), Size: 0},
		source.Entry{Path: ".git/config", SHA256: sha256Hex(nil), Size: 0})
	got, files, err := ListedVersion(entries)
	if err != nil || got != want || len(files) != len(wantFiles) {
		t.Fatalf("listed %s %+v %v, hashed %s %+v", got, files, err, want, wantFiles)
	}
	if _, _, err := ListedVersion([]source.Entry{{Path: "x.tar", Size: -1}}); err == nil {
		t.Error("a file of unknown digest gave a version")
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
