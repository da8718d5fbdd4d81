package scan

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// TestNemoArchiveTarget checks a .nemo archive (a tar) whose
// model_config.yaml makes NeMo instantiate os.system: found through the
// archive, critical.
func TestNemoArchiveTarget(t *testing.T) {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for name, body := range map[string]string{
		"./model_config.yaml":  "target: nemo.collections.asr.models.EncDecCTCModel\npreprocessor:\n  _target_: os.system\n  command: id\n",
		"./model_weights.ckpt": "",
	} {
		if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	path := filepath.Join(t.TempDir(), "asr.nemo")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := scanOne(t, path)
	if !hasRule(r.AllFindings(), finding.ConfigTargetDangerous) || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("exit %d, findings %v", r.ExitCode(finding.High), r.AllFindings())
	}
}
